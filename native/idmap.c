/*
 * idmap.c - idmapped mounts, made by stage 0 before it joins any namespace:
 * setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the source's filesystem,
 * which a child in a new user namespace lacks. The mapping comes from a user
 * namespace: one the config joins (M_IDMAP_USERNS), or one made here with the
 * mount's maps (M_IDMAP_UID_MAP, M_IDMAP_GID_MAP). The detached trees pass to
 * the child with the clone; it moves them into place (rootfs.c mount_one).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

/* A user namespace with these maps, as an fd: a child is cloned into a new
 * one and waits while we write its maps and open it; the fd keeps the
 * namespace once the child is gone. Should we die, the child reads EOF and
 * exits as well. */
static int userns_with_maps(const char *uid_map, const char *gid_map)
{
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		die(errno, "pipe");
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0);
	if (pid < 0)
		die(errno, "clone a user namespace for an idmapped mount");
	if (pid == 0) {
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	if (write_file_at(AT_FDCWD, path, uid_map, strlen(uid_map)) < 0)
		die(errno, "write the uid map of an idmapped mount's user namespace");
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	if (write_file_at(AT_FDCWD, path, gid_map, strlen(gid_map)) < 0)
		die(errno, "write the gid map of an idmapped mount's user namespace");
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open the user namespace of an idmapped mount");
	close(hold[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return fd;
}

void prepare_idmapped_mounts(struct plan *p)
{
	for (size_t i = 0; i < p->nmounts; i++) {
		struct mount_ent *m = &p->mounts[i];
		if (!m->idmap_userns && !m->idmap_uid_map)
			continue;
		/* the same maps as an earlier mount: its namespace again */
		int ns = -1;
		for (size_t j = 0; j < i && ns < 0 && m->idmap_uid_map; j++) {
			const struct mount_ent *o = &p->mounts[j];
			if (o->idmap_uid_map && strcmp(o->idmap_uid_map, m->idmap_uid_map) == 0 &&
			    strcmp(o->idmap_gid_map, m->idmap_gid_map) == 0)
				ns = fcntl(o->idmap_userns_fd, F_DUPFD_CLOEXEC, 0);
		}
		if (ns < 0 && m->idmap_uid_map)
			ns = userns_with_maps(m->idmap_uid_map, m->idmap_gid_map);
		else if (ns < 0 && (ns = open(m->idmap_userns, O_RDONLY | O_CLOEXEC)) < 0)
			die(errno, "open user namespace \"%s\" for an idmapped mount", m->idmap_userns);
		unsigned int tree_rec = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
		int tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | tree_rec);
		if (tree < 0)
			die(errno, "open_tree \"%s\" for an idmapped mount", m->source);
		struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
		unsigned int rec = m->idmap_recursive ? AT_RECURSIVE : 0;
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0) {
			if (errno == EINVAL)
				die(errno, "idmap mount \"%s\" (does its filesystem support idmapped mounts?)", m->source);
			die(errno, "idmap mount \"%s\"", m->source);
		}
		m->idmap_fd = tree;
		m->idmap_userns_fd = ns; /* kept for a later mount with the same maps */
	}
	for (size_t i = 0; i < p->nmounts; i++)
		if (p->mounts[i].idmap_userns || p->mounts[i].idmap_uid_map)
			close(p->mounts[i].idmap_userns_fd);
}
