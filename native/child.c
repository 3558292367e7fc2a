/*
 * child.c - the container process before its execve, in the fixed order of
 * plan.h: become root of a new user namespace, new session, cgroup
 * namespace, rootfs, hooks, root switch, console, hostname and sysctls,
 * read-only/masked paths, process attributes, credentials, READY, fifo,
 * startContainer hooks, execve.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

static bool joins(const struct plan *p, uint64_t type)
{
	for (size_t i = 0; i < p->nns; i++)
		if (p->ns[i].type == type)
			return true;
	return false;
}

static bool has_ns(const struct plan *p, uint64_t type)
{
	return (p->clone_flags & type) || joins(p, type);
}

/* CVE-2024-21626: a cwd such as "/proc/self/fd/N" follows an fd of ours
 * to wherever it points. None may be a directory at the chdir (the rootfd
 * is closed; preserved fds are the caller's own). Read as root: after the
 * user switch /proc/self/fd may be closed to us. */
static void check_no_dir_fds(struct plan *p)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		struct stat st;
		if (fd < 3 || fd == dirfd(d) || (uint64_t)fd < 3 + p->preserve_fds)
			continue;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			die(0, "fd %d of tsrun-init is a directory at chdir to cwd \"%s\"", fd, p->cwd);
	}
	if (d)
		closedir(d);
}

/* And the cwd we got must be reachable from our root: the kernel's getcwd
 * says "(unreachable)..." for one outside it. */
static void check_cwd(struct plan *p, bool filtered)
{
	char buf[PATH_MAX];
	long n = syscall(SYS_getcwd, buf, sizeof buf);
	/* after a seccomp filter that refuses getcwd there is nothing to check
	 * with; only a chdir refused to root comes this late */
	if (n < 0 && filtered && (errno == EPERM || errno == ENOSYS))
		return;
	if (n < 0)
		die(errno, "cwd \"%s\": get the working directory", p->cwd);
	if (buf[0] != '/')
		die(0, "cwd \"%s\" is outside the container's root", p->cwd);
}

/* Attributes, credentials and the executable; shared by create and exec.
 * Returns the path to execve. */
static char *setup_process(struct plan *p, int lsock, const char *state)
{
	set_rlimits(p);
	set_process_attrs(p);
	set_memory_policy(p);
	set_exec_labels(p);
	/* before the user switch, as root; again after it if root may not */
	check_no_dir_fds(p);
	bool cwd_done = chdir(p->cwd) == 0;
	if (!cwd_done && errno != EACCES && errno != EPERM)
		die(errno, "chdir to cwd \"%s\"", p->cwd);
	/* before any seccomp filter, which may refuse getcwd */
	if (cwd_done)
		check_cwd(p, false);
	fix_stdio_owner(p);
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	/* without no_new_privs, loading a filter needs CAP_SYS_ADMIN: now */
	if (!p->no_new_privs)
		load_seccomp(p, lsock, state);
	apply_credentials(p);
	if (!cwd_done) {
		if (chdir(p->cwd) < 0)
			die(errno, "chdir to cwd \"%s\"", p->cwd);
		check_cwd(p, true);
	}
	return lookup_executable(p);
}

static char *wait_hooks_done(struct plan *p)
{
	if (send_msg(g_syncfd, MSG_HOOKS, NULL, 0) < 0)
		_exit(1); /* the runtime is gone: nobody to report to */
	uint32_t len;
	uint8_t *buf = recv_expected(MSG_HOOKS_DONE, &len);
	if (memchr(buf, 0, len))
		die(0, "MSG_HOOKS_DONE: a NUL byte in the state");
	if (len == 0 && p->state_json) {
		free(buf);
		return p->state_json;
	}
	return (char *)buf;
}

static void create_container(struct plan *p, int consock, int lsock)
{
	if (p->clone_flags & CLONE_NEWNET)
		loopback_up();
	int rootfd = -1;
	if (p->rootfs) {
		/* never touch the host's mount table, except under the runtime's
		 * own directory when the plan says so (no mount namespace) */
		if (!has_ns(p, CLONE_NEWNS) && !p->host_mounts)
			die(0, "a rootfs needs a mount namespace (CLONE_NEWNS) or P_HOST_MOUNTS");
		rootfd = setup_rootfs(p);
	} else if (p->nmounts || p->ndevices || p->nsymlinks || p->masked.n || p->readonly.n ||
		   p->root_readonly) {
		die(0, "mounts, devices, symlinks and masked or read-only paths need P_ROOTFS");
	}

	char *state = wait_hooks_done(p);
	run_hooks(p, HOOK_KIND_CREATE_CONTAINER, state);

	if (rootfd >= 0)
		switch_root(p, rootfd);
	if (p->terminal)
		setup_console(p, consock, true);
	if ((p->hostname || p->domainname) && !has_ns(p, CLONE_NEWUTS))
		die(0, "a hostname or domainname needs a UTS namespace");
	/* sysctls before the read-only paths: /proc/sys goes read-only */
	set_hostname_sysctl(p);
	if (rootfd >= 0) {
		readonly_and_masked_paths(p);
		if (has_ns(p, CLONE_NEWNS))
			reopen_dev_null();
	}

	char *path = p->args.n ? setup_process(p, lsock, state) : NULL;
	if (g_ready_fd >= 0) { /* stage 0 keeps the moved network devices here */
		write_all(g_ready_fd, "k", 1);
		close(g_ready_fd);
	}
	if (send_msg(g_syncfd, MSG_READY, NULL, 0) < 0)
		_exit(1);
	g_post_ready = true;
	if (g_fifo_pathfd >= 0)
		wait_exec_fifo();
	if (!path) /* `tsrun start` refuses this; anything else opening the fifo learns why */
		die(0, "the container's config has no process to start");
	send_msg(g_syncfd, MSG_STARTED, NULL, 0); /* the creating runtime may be gone */
	run_hooks(p, HOOK_KIND_START_CONTAINER, state);
	final_exec(p, path, lsock, state);
}

static void exec_process(struct plan *p, int consock, int lsock)
{
	/* a container without a mount namespace: its root is its init's */
	if (p->chroot_dir && (chroot(p->chroot_dir) < 0 || chdir("/") < 0))
		die(errno, "chroot into the container's root \"%s\"", p->chroot_dir);
	if (p->terminal)
		setup_console(p, consock, false);
	const char *state = p->state_json ? p->state_json : "{}";
	char *path = setup_process(p, lsock, state);
	if (send_msg(g_syncfd, MSG_READY, NULL, 0) < 0)
		_exit(1);
	g_post_ready = true;
	final_exec(p, path, lsock, state);
}

static void exit_on_signal(int sig)
{
	_exit(128 + sig);
}

void child_main(struct plan *p, struct cg_joins *cg, int relfd, int consock, int lsock)
{
	g_kill_on_error = 0;
	/* As pid 1 of a new pid namespace we would ignore every signal without
	 * a handler, SIGTERM from `tsrun kill` included: until the execve
	 * (which resets handlers) such a signal ends us, as it would anyone. */
	struct sigaction sa = { .sa_handler = exit_on_signal };
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	/* released by stage 0 once cgroups and id maps are in place; it sends
	 * our pid as the runtime sees it */
	recv_bind_sources(p, relfd);
	int32_t hostpid;
	ssize_t r;
	do
		r = read(relfd, &hostpid, sizeof hostpid);
	while (r < 0 && errno == EINTR);
	if (r != sizeof hostpid)
		_exit(1); /* stage 0 failed and has reported it */
	close(relfd);
	g_host_pid = hostpid;
	/* still single-threaded: the cheap way in (cgjoin.c) */
	cgroups_join_self(cg);

	if (has_ns(p, CLONE_NEWUSER)) {
		/* root of the namespace: files we create get a mapped owner */
		if (setresgid(0, 0, 0) < 0)
			die(errno, "setresgid to 0 in the user namespace (is gid 0 mapped?)");
		if (setresuid(0, 0, 0) < 0)
			die(errno, "setresuid to 0 in the user namespace (is uid 0 mapped?)");
	}
	if (setsid() < 0)
		die(errno, "setsid");
	set_sched(p);
	/* after stage 0 put us in our cgroups, so they become our root */
	if ((p->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		die(errno, "unshare the cgroup namespace");

	if (p->mode == PLAN_MODE_CREATE)
		create_container(p, consock, lsock);
	else
		exec_process(p, consock, lsock);
	_exit(1); /* not reached: both end in execve or die */
}
