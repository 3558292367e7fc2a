/*
 * copyup.c - the tmpcopyup mount option: what the rootfs had at a tmpfs
 * mount's destination is copied into the new tmpfs (files, directories,
 * symlinks, fifos and device nodes, with their modes, owners and times).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

/* Owner and times as the source had them. An owner the container's user
 * namespace cannot map (EINVAL) stays the container's root. */
static void copy_attrs(int dirfd, const char *name, const struct stat *st, const char *dest)
{
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
		die(errno, "tmpcopyup \"%s\": chown \"%s\"", dest, name);
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		die(errno, "tmpcopyup \"%s\": chmod \"%s\"", dest, name);
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	if (utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
		die(errno, "tmpcopyup \"%s\": set the times of \"%s\"", dest, name);
}

static void copy_file(int from, int to, const char *name, const struct stat *st, const char *dest)
{
	int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		die(errno, "tmpcopyup \"%s\": open \"%s\"", dest, name);
	int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		die(errno, "tmpcopyup \"%s\": create \"%s\"", dest, name);
	for (off_t left = st->st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(n < 0 ? errno : 0, "tmpcopyup \"%s\": copy \"%s\"", dest, name);
		left -= n;
	}
	close(in);
	close(out);
}

/* Copies the entries of directory from into directory to. */
static void copy_tree(int from, int to, const char *dest, int depth)
{
	if (depth > 64)
		die(0, "tmpcopyup \"%s\": directories nested deeper than 64", dest);
	int dfd = dup(from);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d)
		die(errno, "tmpcopyup \"%s\": read a directory", dest);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die(errno, "tmpcopyup \"%s\": stat \"%s\"", dest, e->d_name);
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, e->d_name, 0700) < 0)
				die(errno, "tmpcopyup \"%s\": mkdir \"%s\"", dest, e->d_name);
			int sub_from = openat(from, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int sub_to = openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_from < 0 || sub_to < 0)
				die(errno, "tmpcopyup \"%s\": open directory \"%s\"", dest, e->d_name);
			copy_tree(sub_from, sub_to, dest, depth + 1);
			close(sub_from);
			close(sub_to);
		} else if (S_ISREG(st.st_mode)) {
			copy_file(from, to, e->d_name, &st, dest);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(from, e->d_name, target, sizeof target - 1);
			if (n < 0)
				die(errno, "tmpcopyup \"%s\": readlink \"%s\"", dest, e->d_name);
			target[n] = '\0';
			if (symlinkat(target, to, e->d_name) < 0)
				die(errno, "tmpcopyup \"%s\": symlink \"%s\"", dest, e->d_name);
		} else if (mknodat(to, e->d_name, st.st_mode, st.st_rdev) < 0) {
			die(errno, "tmpcopyup \"%s\": mknod \"%s\"", dest, e->d_name);
		}
		copy_attrs(to, e->d_name, &st, dest);
	}
	closedir(d);
}

/* below: the destination before the mount; mounted: the new tmpfs. Its root
 * keeps the mode and owner its mount options gave it. */
void copy_up(int below, int mounted, const char *dest)
{
	copy_tree(below, mounted, dest, 0);
}
