/*
 * umount.c - `tsrun-init --umount-tree PATH`: lazily unmount (MNT_DETACH)
 * every mount at or under PATH, deepest first, until /proc/self/mountinfo
 * lists none. The runtime runs it at delete, and after a failed create, for
 * a container without a mount namespace: its mounts were made in the
 * runtime's own namespace, all on or under the bind at P_HOST_MOUNTS.
 *
 * Nothing outside PATH is touched. PATH must be absolute, canonical (no
 * symlink, "." or ".." in it) and is never "/".
 * Each mount point is reached from PATH with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS): a directory the container replaced with a symlink
 * leads nowhere, and the unmount acts on "/proc/self/fd/N" of what was
 * found. Exit 0 once nothing is mounted at or under PATH (also when PATH
 * does not exist), 1 with a message otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

struct mnt {
	char *rel;      /* "" for PATH itself, else "a/b" below it */
	size_t depth;   /* components of rel */
	size_t order;   /* line in mountinfo: later ones sit on top */
};

/* The mounts at or under root (a resolved absolute path), in *out. */
static size_t mounts_under(const char *root, struct mnt **out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		die(errno, "open \"/proc/self/mountinfo\"");
	size_t rootlen = strlen(root), n = 0, cap = 0, line_no = 0;
	struct mnt *v = NULL;
	char *line = NULL;
	size_t linecap = 0;
	while (getline(&line, &linecap, f) > 0) {
		line_no++;
		char mp[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape_mountinfo(mp);
		if (strncmp(mp, root, rootlen) != 0 || (mp[rootlen] != '/' && mp[rootlen] != '\0'))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		const char *rel = mp + rootlen + (mp[rootlen] == '/');
		size_t depth = *rel ? 1 : 0;
		for (const char *c = rel; *c; c++)
			depth += *c == '/';
		v[n++] = (struct mnt){ .rel = xstrndup(rel, strlen(rel)), .depth = depth, .order = line_no };
	}
	free(line);
	fclose(f);
	*out = v;
	return n;
}

static int deepest_first(const void *a, const void *b)
{
	const struct mnt *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth < y->depth ? 1 : -1;
	return x->order < y->order ? 1 : -1;
}

static int open_beneath(int base, const char *rel)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, base, rel, &how, sizeof how);
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	return fd;
}

static void free_mounts(struct mnt *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].rel);
	free(v);
}

int umount_tree_main(const char *path)
{
	char root[PATH_MAX];
	if (path[0] != '/')
		die(0, "--umount-tree \"%s\": not an absolute path", path);
	if (!realpath(path, root)) {
		if (errno == ENOENT)
			return 0; /* nothing can be mounted on what does not exist */
		die(errno, "--umount-tree \"%s\"", path);
	}
	if (strcmp(root, "/") == 0)
		die(0, "--umount-tree \"%s\": refusing to unmount \"/\"", path);
	/* no "..", no symlink, no "//": the path the runtime recorded, as is */
	if (strcmp(root, path) != 0)
		die(0, "--umount-tree \"%s\": not a canonical path (it resolves to \"%s\")", path, root);

	size_t before = (size_t)-1;
	for (;;) {
		struct mnt *v;
		size_t n = mounts_under(root, &v);
		if (n == 0)
			return 0;
		qsort(v, n, sizeof *v, deepest_first);
		if (n >= before) {
			/* the last pass freed nothing: say what stays */
			die(0, "--umount-tree \"%s\": %zu mounts remain, the deepest \"%s/%s\"", root, n, root,
			    v[0].rel);
		}
		before = n;
		int base = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (base < 0)
			die(errno, "open \"%s\"", root);
		for (size_t i = 0; i < n; i++) {
			/* PATH itself: a fresh fd, the mount now on top there */
			int fd = *v[i].rel ? open_beneath(base, v[i].rel)
					   : open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue; /* gone with its parent, or not reachable without a symlink */
			/* EINVAL: not the root of a mount any more (detached with a parent) */
			if (umount2(fd_path(fd), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
				die(errno, "unmount \"%s/%s\"", root, v[i].rel);
			close(fd);
		}
		close(base);
		free_mounts(v, n);
	}
}
