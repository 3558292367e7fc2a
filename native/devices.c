/*
 * devices.c - device nodes and symlinks inside the rootfs, before the root
 * switch. Parents are resolved with paths.c, so nothing lands outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

/* A user namespace cannot mknod: bind the host's node of the same path over
 * an empty file instead. */
static void bind_device(const struct device_ent *d, int dir, const char *base)
{
	int fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* a regular file by mknod: no open of whatever might be there */
		if (mknodat(dir, base, S_IFREG | 0000, 0) < 0 && errno != EEXIST)
			die(errno, "create mount point for device \"%s\"", d->path);
		fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		die(errno, "open mount point for device \"%s\"", d->path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die(errno, "stat mount point for device \"%s\"", d->path);
	if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
		die(0, "bind device \"%s\": the path in the rootfs is a %s", d->path,
		    S_ISLNK(st.st_mode) ? "symlink" : "directory");
	if (mount(d->path, fd_path(fd), NULL, MS_BIND, NULL) < 0)
		die(errno, "bind device \"%s\" from the host", d->path);
	close(fd);
}

static void create_device(int rootfd, const struct device_ent *d)
{
	const char *base;
	int dir = open_parent_in_root(rootfd, d->path, &base);
	if (dir < 0)
		die(errno, "create parent directory of device \"%s\"", d->path);
	if (d->bind) {
		bind_device(d, dir, base);
		close(dir);
		return;
	}
	mode_t mode = (mode_t)(d->type | d->mode);
	dev_t dev = d->type == S_IFIFO ? 0 : makedev(d->major, d->minor);
	if (mknodat(dir, base, mode, dev) < 0) {
		if (errno == EEXIST) {
			/* the image's own node is kept if it is this device;
			 * anything else there is an error (config-linux.md#devices) */
			struct stat st;
			if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
				die(errno, "stat device \"%s\"", d->path);
			if ((st.st_mode & S_IFMT) != d->type || (d->type != S_IFIFO && st.st_rdev != dev))
				die(0, "device \"%s\": the rootfs already has a different file there", d->path);
			close(dir);
			return;
		}
		if (errno == EPERM) {
			bind_device(d, dir, base);
			close(dir);
			return;
		}
		die(errno, "mknod device \"%s\"", d->path);
	}
	if (fchownat(dir, base, (uid_t)d->uid, (gid_t)d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		die(errno, "chown device \"%s\" to %llu:%llu", d->path, (unsigned long long)d->uid,
		    (unsigned long long)d->gid);
	/* the exact mode: mknod applied the umask */
	if (fchmodat(dir, base, (mode_t)d->mode, 0) < 0)
		die(errno, "chmod device \"%s\" to %#llo", d->path, (unsigned long long)d->mode);
	close(dir);
}

void create_devices(struct plan *p, int rootfd)
{
	for (size_t i = 0; i < p->ndevices; i++)
		create_device(rootfd, &p->devices[i]);
}

void create_symlinks(struct plan *p, int rootfd)
{
	for (size_t i = 0; i < p->nsymlinks; i++) {
		const struct symlink_ent *l = &p->symlinks[i];
		const char *base;
		int dir = open_parent_in_root(rootfd, l->path, &base);
		if (dir < 0)
			die(errno, "create parent directory of symlink \"%s\"", l->path);
		if (symlinkat(l->target, dir, base) < 0) {
			int err = errno;
			char cur[PATH_MAX];
			ssize_t n = err == EEXIST ? readlinkat(dir, base, cur, sizeof cur - 1) : -1;
			if (n >= 0) {
				cur[n] = '\0';
				if (strcmp(cur, l->target) == 0)
					err = 0; /* already the same symlink */
			}
			if (err)
				die(err, "create symlink \"%s\" -> \"%s\"", l->path, l->target);
		}
		close(dir);
	}
}
