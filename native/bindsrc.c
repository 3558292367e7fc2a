/*
 * bindsrc.c - the sources of bind mounts in a new user namespace, opened by
 * stage 0. The container process resolves paths as the root of its user
 * namespace, which may not search the host's directories on the way (an
 * engine's 0700 state directories, say: EACCES). Stage 0, when it is the
 * host's root, enters the child's new mount namespace (a copy of the host's, before
 * anything is mounted), opens each source there as O_PATH and passes the fds
 * over the release socket; the child binds from /proc/self/fd/N, a mount of
 * its own namespace, so the kernel's locks on the host's mounts still hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "init.h"

static bool joins_user(const struct plan *p)
{
	for (size_t i = 0; i < p->nns; i++)
		if (p->ns[i].type == CLONE_NEWUSER)
			return true;
	return false;
}

/* A runtime that is not root on the host (a rootless caller: its maps need setgroups denied or the
 * newuidmap/newgidmap helpers) cannot enter the child's mount namespace (no CAP_SYS_CHROOT of its own),
 * and has no more access to the sources than the container's root: the child opens them, as runc's does. */
static bool unprivileged_runtime(const struct plan *p)
{
	return p->setgroups_deny || p->uidmap_helper || p->gidmap_helper;
}

/* The same answer in stage 0 and in the child, from the plan alone. */
bool bind_source_from_host(const struct plan *p, const struct mount_ent *m)
{
	return (p->clone_flags & CLONE_NEWUSER) && (p->clone_flags & CLONE_NEWNS) && !joins_user(p) &&
	       !unprivileged_runtime(p) && (m->flags & MS_BIND) && !m->idmap_userns && !m->idmap_uid_map;
}

/* Stage 0, after the clone: opens and sends the sources, in plan order. */
void send_bind_sources(struct plan *p, int procfd, pid_t pid, int sock)
{
	int self = -1, child = -1;
	for (size_t i = 0; i < p->nmounts; i++) {
		struct mount_ent *m = &p->mounts[i];
		if (!bind_source_from_host(p, m))
			continue;
		if (child < 0) {
			char path[64];
			snprintf(path, sizeof path, "%d/ns/mnt", (int)pid);
			self = openat(procfd, "self/ns/mnt", O_RDONLY | O_CLOEXEC);
			child = openat(procfd, path, O_RDONLY | O_CLOEXEC);
			if (self < 0 || child < 0 || setns(child, CLONE_NEWNS) < 0)
				die(errno, "enter the container's mount namespace to open the bind sources");
		}
		int fd = open(m->source, O_PATH | O_CLOEXEC);
		if (fd < 0)
			die(errno, "open bind source \"%s\"", m->source);
		if (send_fd(sock, fd, "m", 1) < 0)
			die(errno, "pass bind source \"%s\" to the container process", m->source);
		close(fd);
	}
	if (child >= 0) {
		if (setns(self, CLONE_NEWNS) < 0)
			die(errno, "return to the runtime's mount namespace");
		close(self);
		close(child);
	}
}

/* The child, before it mounts anything. */
void recv_bind_sources(struct plan *p, int sock)
{
	for (size_t i = 0; i < p->nmounts; i++) {
		struct mount_ent *m = &p->mounts[i];
		m->source_fd = -1;
		if (!bind_source_from_host(p, m))
			continue;
		m->source_fd = recv_fd(sock);
		if (m->source_fd < 0)
			_exit(1); /* stage 0 failed and has reported it */
	}
}
