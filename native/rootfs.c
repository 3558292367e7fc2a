/*
 * rootfs.c - the container's mounts: propagation, the rootfs bind, each
 * P_MOUNT, the root switch (pivot_root, MS_MOVE + chroot, or without a mount
 * namespace chroot alone), read-only and masked paths, and a read-only root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

/* The mount flags of a mount as MS_*, from statvfs. */
static unsigned long current_flags(const char *path, bool with_atime)
{
	struct statvfs s;
	if (statvfs(path, &s) < 0)
		return 0;
	unsigned long f = 0;
	if (s.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (s.f_flag & ST_NODEV) f |= MS_NODEV;
	if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (with_atime) {
		if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
		if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
		if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
	}
	return f;
}

/* A bind remount. In a user namespace the kernel refuses (EPERM) to clear
 * flags it locked when the mount came from a more privileged namespace;
 * then keep those flags and try again. */
int remount_keep_locked(const char *path, unsigned long flags)
{
	if (mount(NULL, path, NULL, flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	bool has_atime = flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
	unsigned long locked = current_flags(path, !has_atime);
	if ((flags | locked) == flags) {
		errno = EPERM;
		return -1;
	}
	return mount(NULL, path, NULL, flags | locked, NULL);
}

/* Remount read-only, keeping nosuid/nodev/noexec (a remount would clear them). */
static int remount_ro(const char *path)
{
	unsigned long keep = current_flags(path, false) & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
	return remount_keep_locked(path, MS_BIND | MS_REMOUNT | MS_RDONLY | keep);
}

/* pivot_root refuses a new root whose parent mount is shared (possible
 * unless "/" was made rslave or rprivate): make that one mount a slave when
 * the rootfs is to be one (the bind below then stays a slave of the host's
 * mount), private otherwise. */
static void make_parent_unshared(const char *rootfs, unsigned long how)
{
	char real[PATH_MAX];
	if (!realpath(rootfs, real))
		die(errno, "resolve rootfs \"%s\"", rootfs);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		die(errno, "open \"/proc/self/mountinfo\"");
	char *line = NULL, best[PATH_MAX] = "";
	size_t cap = 0, bestlen = 0;
	bool shared = false;
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX];
		int off = 0;
		if (sscanf(line, "%*s %*s %*s %*s %4095s %*s%n", mp, &off) != 1)
			continue;
		unescape_mountinfo(mp);
		size_t l = strlen(mp);
		bool prefix = strcmp(mp, "/") == 0 ||
			      (strncmp(real, mp, l) == 0 && (real[l] == '/' || real[l] == '\0'));
		if (!prefix || l < bestlen)
			continue; /* ties: the later entry is stacked on top */
		bestlen = l;
		snprintf(best, sizeof best, "%s", mp);
		char *sep = strstr(line + off, " - ");
		char *opt = line + off;
		if (sep)
			*sep = '\0';
		shared = strstr(opt, "shared:") != NULL;
	}
	free(line);
	fclose(f);
	if (shared && mount(NULL, best, NULL, how, NULL) < 0)
		die(errno, "make the parent mount \"%s\" of the rootfs %s", best, how == MS_SLAVE ? "a slave" : "private");
}

/* Stage 0, before it joins any namespace: setting MOUNT_ATTR_IDMAP needs
 * CAP_SYS_ADMIN over the source's filesystem, which a child in a new user
 * namespace lacks. The detached tree fds pass to the child with the clone;
 * it moves them into place (mount_one). */
void prepare_idmapped_mounts(struct plan *p)
{
	for (size_t i = 0; i < p->nmounts; i++) {
		struct mount_ent *m = &p->mounts[i];
		if (!m->idmap_userns)
			continue;
		unsigned int rec = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
		int tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
		if (tree < 0)
			die(errno, "open_tree \"%s\" for an idmapped mount", m->source);
		int ns = open(m->idmap_userns, O_RDONLY | O_CLOEXEC);
		if (ns < 0)
			die(errno, "open user namespace \"%s\" for an idmapped mount", m->idmap_userns);
		struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0)
			die(errno, "idmap mount \"%s\" with \"%s\"", m->source, m->idmap_userns);
		close(ns);
		m->idmap_fd = tree;
	}
}

/* CVE-2019-19921 class: procfs and sysfs only on a real directory, never
 * through a symlink the image put at their destination. */
static void check_kernfs_dest(int rootfd, const struct mount_ent *m, const char *type)
{
	if (!type || (strcmp(type, "proc") != 0 && strcmp(type, "sysfs") != 0))
		return;
	struct stat st;
	int fd = open_in_root_nofollow(rootfd, m->dest);
	if (fd < 0 && errno == ENOENT)
		return; /* made as a directory next */
	if (fd < 0 || fstat(fd, &st) < 0)
		die(errno, "open mount destination \"%s\"", m->dest);
	if (S_ISLNK(st.st_mode))
		die(0, "mount destination \"%s\" of %s is a symlink", m->dest, type);
	if (!S_ISDIR(st.st_mode))
		die(0, "mount destination \"%s\" of %s is not a directory", m->dest, type);
	close(fd);
}

static void mount_one(int rootfd, const struct mount_ent *m)
{
	check_kernfs_dest(rootfd, m, m->type);
	int fd = prepare_dest(rootfd, m->dest, m->dest_is_file);
	if (fd < 0)
		die(errno, "create mount point \"%s\" in the rootfs", m->dest);
	const char *type = m->type && *m->type ? m->type : NULL;
	if (m->idmap_userns) {
		if (syscall(SYS_move_mount, m->idmap_fd, "", fd, "",
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			die(errno, "mount \"%s\" on \"%s\"", m->source, m->dest);
		close(m->idmap_fd);
	} else if (mount(m->source, fd_path(fd), type, m->flags, m->data) < 0)
		die(errno, "mount \"%s\" on \"%s\"", m->source, m->dest);
	close(fd);
	if (!m->has_remount && !m->nprop && !m->has_attr_set && !m->has_attr_clr)
		return;

	/* open again: the old fd is the directory under the new mount */
	int rfd = open_in_root(rootfd, m->dest);
	if (rfd < 0)
		die(errno, "open mount point \"%s\" in the rootfs", m->dest);
	if (m->has_remount &&
	    remount_keep_locked(fd_path(rfd), MS_BIND | MS_REMOUNT | m->remount_flags) < 0)
		die(errno, "remount \"%s\" with flags %#llx", m->dest, (unsigned long long)m->remount_flags);
	for (size_t i = 0; i < m->nprop; i++)
		if (mount(NULL, fd_path(rfd), NULL, m->prop[i], NULL) < 0)
			die(errno, "set propagation %#llx on \"%s\"", (unsigned long long)m->prop[i], m->dest);
	if (m->has_attr_set || m->has_attr_clr) {
		struct mount_attr a = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
		if (syscall(SYS_mount_setattr, rfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0) {
			if (errno == ENOSYS)
				die(0, "mount_setattr on \"%s\": not supported by this kernel (needs Linux 5.12)", m->dest);
			die(errno, "mount_setattr on \"%s\" (set %#llx, clear %#llx)", m->dest,
			    (unsigned long long)m->attr_set, (unsigned long long)m->attr_clr);
		}
	}
	close(rfd);
}

/* No mount namespace: the rootfs is bound onto the runtime's directory
 * P_HOST_MOUNTS, in the runtime's (the host's) mount namespace. Neither "/"
 * nor the rootfs's own mount is touched; the propagation asked (rslave by
 * default) goes to the bind, before anything is mounted under it, so that
 * the container's mounts reach no peer of the host. */
static void bind_host_mounts(struct plan *p, unsigned long prop)
{
	int fd = open(p->host_mounts, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open the mount point \"%s\" of the rootfs", p->host_mounts);
	if (mount(p->rootfs, fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0)
		die(errno, "bind rootfs \"%s\" onto \"%s\"", p->rootfs, p->host_mounts);
	close(fd);
	/* the fd is the directory under the bind: open the bind itself */
	if ((fd = open(p->host_mounts, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		die(errno, "open the rootfs bind \"%s\"", p->host_mounts);
	if (mount(NULL, fd_path(fd), NULL, prop, NULL) < 0)
		die(errno, "set propagation %#lx on the rootfs bind \"%s\"", prop, p->host_mounts);
	close(fd);
}

int setup_rootfs(struct plan *p)
{
	int fd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open rootfs \"%s\"", p->rootfs);
	close(fd);

	unsigned long prop = p->has_rootfs_prop ? p->rootfs_prop : (MS_REC | MS_SLAVE);
	/* an unbindable tree refuses the bind below: private for now, the
	 * propagation asked is applied to the new root after the pivot */
	if (prop & MS_UNBINDABLE)
		prop = (prop & ~(unsigned long)MS_UNBINDABLE) | MS_PRIVATE;
	const char *root = p->rootfs;
	if (p->host_mounts) {
		bind_host_mounts(p, prop);
		root = p->host_mounts;
	} else {
		if (mount(NULL, "/", NULL, prop, NULL) < 0)
			die(errno, "set propagation %#lx on \"/\"", prop);
		make_parent_unshared(p->rootfs, (prop & MS_SLAVE) ? MS_SLAVE : MS_PRIVATE);
		/* a mount point of its own: pivot_root needs one, and the rootfd
		 * below must see the mounts made under it */
		if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			die(errno, "bind rootfs \"%s\" onto itself", p->rootfs);
	}
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die(errno, "open rootfs \"%s\"", root);

	for (size_t i = 0; i < p->nmounts; i++)
		mount_one(rootfd, &p->mounts[i]);
	create_devices(p, rootfd);
	create_symlinks(p, rootfd);
	return rootfd;
}

void switch_root(struct plan *p, int rootfd)
{
	if (p->host_mounts) {
		/* in the runtime's mount namespace: neither pivot_root nor a
		 * move onto its "/"; the bind is the container's root */
		if (fchdir(rootfd) < 0)
			die(errno, "chdir to rootfs \"%s\"", p->host_mounts);
		if (chroot(".") < 0)
			die(errno, "chroot into \"%s\"", p->host_mounts);
	} else if (!p->no_pivot) {
		int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (oldroot < 0)
			die(errno, "open the old root");
		if (fchdir(rootfd) < 0)
			die(errno, "chdir to rootfs \"%s\"", p->rootfs);
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			die(errno, "pivot_root into \"%s\"", p->rootfs);
		/* the old root is stacked on the new one: reach it through its fd,
		 * make it rslave so that detaching it cannot propagate an unmount
		 * to the host, and detach it */
		if (fchdir(oldroot) < 0)
			die(errno, "chdir to the old root");
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			die(errno, "make the old root rslave");
		if (umount2(".", MNT_DETACH) < 0)
			die(errno, "detach the old root");
		close(oldroot);
	} else {
		if (fchdir(rootfd) < 0)
			die(errno, "chdir to rootfs \"%s\"", p->rootfs);
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			die(errno, "move rootfs \"%s\" onto \"/\"", p->rootfs);
		if (chroot(".") < 0)
			die(errno, "chroot into \"%s\"", p->rootfs);
	}
	if (chdir("/") < 0)
		die(errno, "chdir to \"/\" in the container");
	close(rootfd);
	/* shared and unbindable are given to the new root itself (runc does
	 * this too); slave and private were set before, and re-applying them
	 * recursively would undo a mount's own rshared */
	if (p->has_rootfs_prop && (p->rootfs_prop & (MS_SHARED | MS_UNBINDABLE)) &&
	    mount(NULL, "/", NULL, p->rootfs_prop, NULL) < 0)
		die(errno, "set propagation %#llx on the new \"/\"", (unsigned long long)p->rootfs_prop);
}

static int move_onto(int tree, int fd)
{
	return (int)syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* A masked or read-only path, after the root switch: resolved in the
 * container's root, never through a magic link, and refused if it ends in
 * a symlink (the mount must land on the path named, not where the image
 * points). -1 if it does not exist. */
static int open_target(int root, const char *what, const char *path, struct stat *st)
{
	int fd = open_in_root_nofollow(root, path);
	if (fd < 0 && errno == ENOENT)
		return -1;
	if (fd < 0 || fstat(fd, st) < 0)
		die(errno, "open %s \"%s\"", what, path);
	if (S_ISLNK(st->st_mode))
		die(0, "%s \"%s\" is a symlink", what, path);
	return fd;
}

/* CVE-2025-31133: the container's /dev/null is trusted only once seen to
 * be the null device; a symlink or another file there would turn a mask
 * into a bind of whatever it is. */
static int open_null(int root)
{
	struct stat st;
	int fd = open_in_root_nofollow(root, "/dev/null");
	if (fd < 0 || fstat(fd, &st) < 0)
		die(errno, "open \"/dev/null\" in the container to mask paths with");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
		die(0, "\"/dev/null\" in the container is not the null device (char 1:3): refusing to mask with it");
	return fd;
}

/* Recursively read-only: a submount must not stay writable under it. */
static void make_readonly(int root, const char *path)
{
	struct stat st;
	int fd = open_target(root, "read-only path", path, &st);
	if (fd < 0)
		return;
	int tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		die(errno, "bind read-only path \"%s\"", path);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	bool set = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) == 0;
	if (!set && errno != ENOSYS)
		die(errno, "make \"%s\" read-only", path);
	if (move_onto(tree, fd) < 0)
		die(errno, "bind read-only path \"%s\"", path);
	close(tree);
	close(fd);
	if (set)
		return;
	/* before Linux 5.12: remount the new top mount through its fd */
	if ((fd = open_in_root_nofollow(root, path)) < 0 || remount_ro(fd_path(fd)) < 0)
		die(errno, "remount \"%s\" read-only", path);
	close(fd);
}

/* Directories get an empty read-only tmpfs, anything else /dev/null. */
static void mask(int root, const char *path, int *nullfd)
{
	struct stat st;
	int fd = open_target(root, "masked path", path, &st);
	if (fd < 0)
		return;
	int tree;
	if (S_ISDIR(st.st_mode)) {
		int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
		if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			die(errno, "make a tmpfs to mask \"%s\"", path);
		tree = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		close(fs);
	} else {
		if (*nullfd < 0)
			*nullfd = open_null(root);
		tree = (int)syscall(SYS_open_tree, *nullfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	}
	if (tree < 0 || move_onto(tree, fd) < 0)
		die(errno, "mask \"%s\" with %s", path, S_ISDIR(st.st_mode) ? "a read-only tmpfs" : "/dev/null");
	close(tree);
	close(fd);
}

/* After the root switch: the paths are container paths, "/" is the rootfs.
 * Mounted by fd (open_tree/move_mount), so neither a symlink in the image
 * nor the container's /proc can redirect them. */
void readonly_and_masked_paths(struct plan *p)
{
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), nullfd = -1;
	if (root < 0)
		die(errno, "open the container's \"/\"");
	for (size_t i = 0; i < p->readonly.n; i++)
		make_readonly(root, p->readonly.v[i]);
	for (size_t i = 0; i < p->masked.n; i++)
		mask(root, p->masked.v[i], &nullfd);
	if (nullfd >= 0)
		close(nullfd);
	close(root);
	if (p->root_readonly && remount_ro("/") < 0)
		die(errno, "remount \"/\" read-only");
}

/* stdio on the runtime's /dev/null is reopened on the container's, as runc
 * does: a file of the host's mount table is a handle on the host, and CRIU
 * cannot checkpoint a container holding one ("Can't lookup mount"). The
 * container's must be the null device too; without one nothing changes. */
void reopen_dev_null(void)
{
	struct stat null_st, st;
	int fd = open("/dev/null", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &null_st) == 0 && S_ISCHR(null_st.st_mode) && major(null_st.st_rdev) == 1 &&
	    minor(null_st.st_rdev) == 3) {
		for (int i = 0; i <= 2; i++) {
			if (fstat(i, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev &&
			    (st.st_dev != null_st.st_dev || st.st_ino != null_st.st_ino) && dup3(fd, i, 0) < 0)
				die(errno, "reopen fd %d on the container's /dev/null", i);
		}
	}
	close(fd);
}
