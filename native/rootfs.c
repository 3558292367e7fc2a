/*
 * rootfs.c - the container's mounts: propagation, the rootfs bind, each
 * P_MOUNT, the root switch (pivot_root or MS_MOVE + chroot), read-only and
 * masked paths, and a read-only root.
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

static void unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* pivot_root refuses a new root whose parent mount is shared (possible with
 * rootfsPropagation "shared"): make that one mount private. */
static void make_parent_private(const char *rootfs)
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
	if (shared && mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		die(errno, "make the parent mount \"%s\" of the rootfs private", best);
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

static void mount_one(int rootfd, const struct mount_ent *m)
{
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

int setup_rootfs(struct plan *p)
{
	int fd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open rootfs \"%s\"", p->rootfs);
	close(fd);

	unsigned long prop = p->has_rootfs_prop ? p->rootfs_prop : (MS_REC | MS_SLAVE);
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		die(errno, "set propagation %#lx on \"/\"", prop);
	make_parent_private(p->rootfs);
	/* a mount point of its own: pivot_root needs one, and the rootfd below
	 * must see the mounts made under it */
	if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(errno, "bind rootfs \"%s\" onto itself", p->rootfs);
	int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die(errno, "open rootfs \"%s\"", p->rootfs);

	for (size_t i = 0; i < p->nmounts; i++)
		mount_one(rootfd, &p->mounts[i]);
	create_devices(p, rootfd);
	create_symlinks(p, rootfd);
	return rootfd;
}

void switch_root(struct plan *p, int rootfd)
{
	if (fchdir(rootfd) < 0)
		die(errno, "chdir to rootfs \"%s\"", p->rootfs);
	if (!p->no_pivot) {
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			die(errno, "pivot_root into \"%s\"", p->rootfs);
		/* the old root now sits on "."; rslave first so that detaching
		 * it can never propagate an unmount to the host */
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			die(errno, "make the old root rslave");
		if (umount2(".", MNT_DETACH) < 0)
			die(errno, "detach the old root");
	} else {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			die(errno, "move rootfs \"%s\" onto \"/\"", p->rootfs);
		if (chroot(".") < 0)
			die(errno, "chroot into \"%s\"", p->rootfs);
	}
	if (chdir("/") < 0)
		die(errno, "chdir to \"/\" in the container");
	close(rootfd);
	/* the new root is a fresh bind: give it the asked propagation too
	 * (runc does this after the pivot as well) */
	if (p->has_rootfs_prop && mount(NULL, "/", NULL, p->rootfs_prop, NULL) < 0)
		die(errno, "set propagation %#llx on the new \"/\"", (unsigned long long)p->rootfs_prop);
}

/* After the root switch: the paths are container paths, "/" is the rootfs. */
void readonly_and_masked_paths(struct plan *p)
{
	struct stat st;
	for (size_t i = 0; i < p->readonly.n; i++) {
		const char *path = p->readonly.v[i];
		if (stat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			die(errno, "stat read-only path \"%s\"", path);
		}
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
			die(errno, "bind read-only path \"%s\"", path);
		if (remount_ro(path) < 0)
			die(errno, "remount \"%s\" read-only", path);
	}
	for (size_t i = 0; i < p->masked.n; i++) {
		const char *path = p->masked.v[i];
		if (stat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			die(errno, "stat masked path \"%s\"", path);
		}
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
				die(errno, "mask \"%s\" with a read-only tmpfs", path);
		} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
			die(errno, "mask \"%s\" with /dev/null", path);
		}
	}
	if (p->root_readonly && remount_ro("/") < 0)
		die(errno, "remount \"/\" read-only");
}
