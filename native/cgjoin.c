/*
 * cgjoin.c - how the container process gets into its cgroups without the
 * kernel's global cgroup lock.
 *
 * Moving another process into a cgroup write-locks cgroup_threadgroup_rwsem,
 * which first waits for an RCU grace period (10-20 ms on this kind of host),
 * and it waits holding the cgroup mutex, so every mkdir and limit write on
 * the host waits too. Two moves take no such lock:
 *   - on a v1 hierarchy, a single-threaded process writing "0" (itself) to
 *     the cgroup's "tasks" file: the child does that, first thing;
 *   - on the v2 hierarchy, a child born in its cgroup by
 *     clone3(CLONE_INTO_CGROUP): stage 0 clones it so.
 * Only where neither applies (a path not named cgroup.procs, a second v2
 * entry, a kernel without CLONE_INTO_CGROUP, an existing cgroup namespace
 * joined by stage 0) does stage 0 write the pid, as runc does. Every fd is
 * opened before any setns: the kernel checks a write against the credentials
 * and cgroup namespace of the open, and a clone against the caller's, which
 * the joined namespace would make refuse (ENOENT: our cgroup is outside it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "init.h"

#define CGROUP_V1_MAGIC 0x27e0eb
#define CGROUP_V2_MAGIC 0x63677270

/* dir/name, or name alone with dir NULL; the message names the whole path */
static int open_or_die(int dirfd, const char *dir, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open \"%s%s%s\"", dir ? dir : "", dir ? "/" : "", name);
	return fd;
}

void cgroups_open(const struct strv *procs, struct cg_joins *j, bool may_clone_into)
{
	j->n = procs->n;
	j->v = xmalloc((procs->n + 1) * sizeof *j->v);
	bool have_clone_into = !may_clone_into;
	for (size_t i = 0; i < procs->n; i++) {
		struct cg_join *c = &j->v[i];
		const char *path = procs->v[i], *slash = strrchr(path, '/');
		c->path = path;
		c->how = CG_PID;
		c->procs_fd = -1;
		if (!slash || slash == path || strcmp(slash + 1, "cgroup.procs") != 0) {
			c->fd = open_or_die(AT_FDCWD, NULL, path, O_WRONLY);
			continue;
		}
		char *dir = xstrndup(path, (size_t)(slash - path));
		int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct statfs st;
		if (dfd < 0 || fstatfs(dfd, &st) < 0)
			die(errno, "open \"%s\"", path);
		if (st.f_type == CGROUP_V1_MAGIC) {
			c->how = CG_SELF;
			c->fd = open_or_die(dfd, dir, "tasks", O_WRONLY);
		} else if (st.f_type == CGROUP_V2_MAGIC && !have_clone_into) {
			/* an O_PATH fd of the directory is what clone3 wants; the
			 * procs file, opened now, in case it refuses */
			c->how = CG_CLONE_INTO;
			c->fd = dfd;
			c->procs_fd = open_or_die(dfd, dir, "cgroup.procs", O_WRONLY);
			dfd = -1;
			have_clone_into = true;
		} else {
			c->fd = open_or_die(dfd, dir, "cgroup.procs", O_WRONLY);
		}
		if (dfd >= 0)
			close(dfd);
		free(dir);
	}
}

int cgroups_clone_into_fd(const struct cg_joins *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].how == CG_CLONE_INTO)
			return j->v[i].fd;
	return -1;
}

void cgroups_clone_into_refused(struct cg_joins *j)
{
	for (size_t i = 0; i < j->n; i++) {
		struct cg_join *c = &j->v[i];
		if (c->how != CG_CLONE_INTO)
			continue;
		close(c->fd);
		c->fd = c->procs_fd;
		c->procs_fd = -1;
		c->how = CG_PID;
	}
}

static void close_join(struct cg_join *c)
{
	close(c->fd);
	if (c->procs_fd >= 0)
		close(c->procs_fd);
}

void cgroups_join_self(struct cg_joins *j)
{
	for (size_t i = 0; i < j->n; i++) {
		struct cg_join *c = &j->v[i];
		if (c->how == CG_SELF && write_all(c->fd, "0", 1) < 0)
			die(errno, "join the cgroup of \"%s\"", c->path);
		close_join(c);
	}
}

void cgroups_join_pid(struct cg_joins *j, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%d", (int)pid);
	for (size_t i = 0; i < j->n; i++) {
		struct cg_join *c = &j->v[i];
		if (c->how == CG_PID && write_all(c->fd, buf, (size_t)n) < 0)
			die(errno, "add pid %d to \"%s\"", (int)pid, c->path);
		close_join(c);
	}
}
