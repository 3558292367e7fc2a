/*
 * main.c - tsrun-init's entry and stage 0.
 *
 * Stage 0 is the process the runtime spawned. It reads the plan, opens what
 * must be reached through host paths (the cgroups, the console and seccomp
 * sockets, /proc) while it still can, joins the namespaces, makes a time
 * namespace, clones the container process into the new ones and its cgroups
 * (cgjoin.c), writes its id maps (usermaps.c), reports MSG_PID and releases it. Then it
 * exits, or with P_WAIT waits and reports MSG_EXIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "replay.h"

int g_ready_fd = -1;

/* struct clone_args of <linux/sched.h>, CLONE_ARGS_SIZE_VER2 */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};
#define CLONE_ARGS_SIZE_VER0 64
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL

/* Fork-like: the child returns 0 on a copy of our stack. Safe here because
 * the process is single-threaded. With cgfd >= 0 the child is born in that
 * v2 cgroup; the plain clone(2) fallback cannot do that. */
static pid_t do_clone(uint64_t flags, int cgfd)
{
	struct clone_args_v2 a = { .flags = flags, .exit_signal = SIGCHLD };
	size_t size = CLONE_ARGS_SIZE_VER0;
	if (cgfd >= 0) {
		a.flags |= CLONE_INTO_CGROUP_FLAG;
		a.cgroup = (uint64_t)cgfd;
		size = sizeof a;
	}
	long r = syscall(SYS_clone3, &a, size);
	if (r < 0 && errno == ENOSYS && cgfd < 0)
		r = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, 0);
	return (pid_t)r;
}

static const char *ns_name(uint64_t t)
{
	switch (t) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

/* A closed stdio fd would be taken by our first open() and so reach the
 * container: hold its place with /dev/null. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n < 0)
			die(errno, "open \"/dev/null\" for closed fd %d", fd);
		if (n != fd) {
			if (dup2(n, fd) < 0)
				die(errno, "dup onto fd %d", fd);
			close(n);
		}
	}
}

/* Same for the preserved fds 3..3+N-1: one that is closed now gets a
 * CLOEXEC placeholder, so none of our own fds can land there. */
static void reserve_preserved_fds(struct plan *p)
{
	if (!p->preserve_fds)
		return;
	if (g_syncfd >= 3 && (uint64_t)g_syncfd < 3 + p->preserve_fds)
		die(0, "the sync fd %d is among the %llu preserved fds", g_syncfd,
		    (unsigned long long)p->preserve_fds);
	g_reserved_fds = xmalloc(p->preserve_fds);
	for (uint64_t i = 0; i < p->preserve_fds; i++) {
		int fd = (int)(3 + i);
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (n < 0 || (n != fd && dup3(n, fd, O_CLOEXEC) < 0))
			die(errno, "reserve preserved fd %d", fd);
		if (n != fd)
			close(n);
		g_reserved_fds[i] = 1;
	}
}

/* The child's new network namespace: the devices go there, and we follow
 * them to set them up (stage 0 needs no network of its own after this). */
static void netdevs_into_child(struct plan *p, int procfd, pid_t pid)
{
	if (!(p->clone_flags & CLONE_NEWNET))
		die(0, "P_NETDEV needs a network namespace, new or joined");
	char path[64];
	snprintf(path, sizeof path, "%d/ns/net", (int)pid);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open the container's network namespace \"/proc/%s\"", path);
	netdev_move(p, fd);
	if (setns(fd, CLONE_NEWNET) < 0)
		die(errno, "join the container's network namespace");
	close(fd);
	netdev_configure(p);
}

static void stage0(struct plan *p)
{
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		die(errno, "open \"/proc\"");

	/* host paths first: after setns into a mount namespace they are gone */
	/* in a cgroup namespace we join, clone3 would refuse the cgroup (cgjoin.c) */
	bool joins_cgroupns = false;
	for (size_t i = 0; i < p->nns; i++)
		joins_cgroupns |= p->ns[i].type == CLONE_NEWCGROUP;
	struct cg_joins cg;
	cgroups_open(&p->cgroup_procs, &cg, !joins_cgroupns);
	if (p->fifo_path)
		make_exec_fifo(p->fifo_path);
	int consock = -1, lsock = -1, ttysock = -1;
	if (p->terminal && p->console_socket) {
		consock = connect_unix(p->console_socket, "the console socket");
	} else if (p->terminal) {
		/* a foreground run: the master comes to us, and we proxy our own
		 * stdio to it (tty.c) */
		if (!p->wait)
			die(0, "a terminal needs a console socket (P_CONSOLE_SOCKET) unless stage 0 waits (P_WAIT)");
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			die(errno, "make a socket pair for the terminal");
		ttysock = sp[0];
		consock = sp[1];
	}
	if (p->seccomp_listener)
		lsock = connect_unix(p->seccomp_listener, "the seccomp listener");
	prepare_idmapped_mounts(p);
	netdev_prepare(p);
	int *nsfd = xmalloc((p->nns + 1) * sizeof *nsfd);
	bool joins_user = false, joins_net = false;
	for (size_t i = 0; i < p->nns; i++) {
		nsfd[i] = open(p->ns[i].path, O_RDONLY | O_CLOEXEC);
		if (nsfd[i] < 0)
			die(errno, "open %s namespace \"%s\"", ns_name(p->ns[i].type), p->ns[i].path);
		joins_user |= p->ns[i].type == CLONE_NEWUSER;
		/* moved while we still have the host's privileges (before a user
		 * namespace is joined), set up once we are in it (below) */
		if (p->ns[i].type == CLONE_NEWNET && p->nnetdevs) {
			netdev_check_names(p, nsfd[i]);
			netdev_move(p, nsfd[i]);
			joins_net = true;
		}
	}

	/* inherited by the child; set here, where we hold the host's
	 * CAP_SYS_RESOURCE (a user namespace would not give it) */
	if (p->has_oom) {
		char v[32];
		int n = snprintf(v, sizeof v, "%lld", (long long)p->oom_score_adj);
		if (write_file_at(procfd, "self/oom_score_adj", v, (size_t)n) < 0)
			die(errno, "write oom_score_adj %s", v);
	}
	if (p->has_ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)p->ioprio) < 0)
		die(errno, "set I/O priority %llu", (unsigned long long)p->ioprio);
	if (p->cpu_affinity_initial)
		set_cpu_affinity(p->cpu_affinity_initial, "initial");
	if (joins_user)
		apply_rlimits(p, 0); /* after setns we could no longer raise them */

	for (size_t i = 0; i < p->nns; i++) {
		if (setns(nsfd[i], (int)p->ns[i].type) < 0)
			die(errno, "join %s namespace \"%s\"", ns_name(p->ns[i].type), p->ns[i].path);
		close(nsfd[i]);
	}
	if (joins_net)
		netdev_configure(p);
	if (p->clone_flags & CLONE_NEWTIME) {
		/* applies to our children only; offsets must be in before one enters */
		if (unshare(CLONE_NEWTIME) < 0)
			die(errno, "unshare the time namespace");
		if (p->timens_offsets &&
		    write_file_at(procfd, "self/timens_offsets", p->timens_offsets, strlen(p->timens_offsets)) < 0)
			die(errno, "write \"/proc/self/timens_offsets\"");
	}

	/* the release: a message boundary per bind source fd, then our pid */
	int rel[2], ready[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rel) < 0)
		die(errno, "make the release socket pair");
	/* moved devices: the child tells us it is ready; should it die before,
	 * we move them back (we keep its network namespace alive meanwhile) */
	if (p->nnetdevs && !joins_user && pipe2(ready, O_CLOEXEC) < 0)
		die(errno, "pipe");
	g_ready_fd = ready[1];
	uint64_t flags = p->clone_flags & ~(uint64_t)(CLONE_NEWCGROUP | CLONE_NEWTIME);
	int intofd = cgroups_clone_into_fd(&cg);
	pid_t pid = do_clone(flags, intofd);
	if (pid < 0 && intofd >= 0) {
		/* an older kernel, or a cgroup that refuses a birth: write the pid
		 * instead, whose error (if any) says more */
		cgroups_clone_into_refused(&cg);
		pid = do_clone(flags, -1);
	}
	if (pid < 0)
		die(errno, "clone with flags %#llx", (unsigned long long)flags);
	if (pid == 0) {
		close(rel[1]);
		if (ready[0] >= 0)
			close(ready[0]);
		close(procfd);
		if (ttysock >= 0)
			close(ttysock);
		child_main(p, &cg, rel[0], consock, lsock);
	}
	g_kill_on_error = pid;
	close(rel[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (g_fifo_pathfd >= 0) /* the child's now */
		close(g_fifo_pathfd);
	if (consock >= 0)
		close(consock);
	if (lsock >= 0)
		close(lsock);

	cgroups_join_pid(&cg, pid);
	if (!joins_user)
		apply_rlimits(p, pid);
	write_id_maps(p, procfd, pid); /* usermaps.c */
	if (p->nnetdevs && !joins_net)
		netdevs_into_child(p, procfd, pid);
	send_bind_sources(p, procfd, pid, rel[1]);
	if (send_u64(g_syncfd, MSG_PID, (uint64_t)pid) < 0)
		die(errno, "send MSG_PID");
	if (p->pid_ack) { /* the runtime puts the process in its cgroup (a systemd unit) first */
		uint32_t len;
		free(recv_expected(MSG_PID_ACK, &len));
	}
	int32_t hostpid = pid;
	if (write_all(rel[1], &hostpid, sizeof hostpid) < 0)
		die(errno, "release the container process");
	close(rel[1]);
	g_kill_on_error = 0; /* from here the child reports its own errors */
	if (ready[0] >= 0) {
		char c;
		ssize_t r;
		while ((r = read(ready[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (r != 1)
			netdev_rollback(p);
		close(ready[0]);
	}

	if (!p->wait)
		_exit(0);

	int master = -1;
	if (ttysock >= 0) {
		/* sent before READY; none if the child failed before (it says why) */
		master = recv_fd(ttysock);
		close(ttysock);
	}
	wait_and_report(p, master, pid);
}

int main(int argc, char **argv, char **envp)
{
	if (argc == 2 && strcmp(argv[1], "--dump-plan") == 0)
		return dump_plan_main();
	if (argc == 3 && strcmp(argv[1], "--umount-tree") == 0)
		return umount_tree_main(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "--replay") == 0)
		return replay_main(argc, argv, envp);
	bool criu = argc == 3 && strcmp(argv[1], "--criu") == 0;
	if (criu) {
		argc--;
		argv++;
	}
	char *end = NULL;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || !*argv[1] || *end || fd < 3 || fd > 1 << 20) {
		fprintf(stderr, "usage: tsrun-init <syncfd (3 or above)>\n"
				"       tsrun-init --dump-plan < plan-body\n"
				"       tsrun-init --umount-tree PATH\n"
				"       tsrun-init --criu <syncfd>\n");
		return 2;
	}
	/* our end of the socket: blocking, whatever the spawner left */
	int fl = fcntl((int)fd, F_GETFL);
	if (fl < 0) {
		fprintf(stderr, "tsrun-init: sync fd %ld: %s\n", fd, errstr(errno));
		return 1;
	}
	if (fl & O_NONBLOCK)
		fcntl((int)fd, F_SETFL, fl & ~O_NONBLOCK);
	g_syncfd = (int)fd;
	if (criu) {
		/* no container is entered from here: no sealed copy of us is needed */
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
			die(errno, "set close-on-exec on the sync fd %ld", fd);
		ensure_std_fds();
		return criu_main((int)fd);
	}
	/* first of all, before the plan: the sync fd must still survive execve */
	reexec_sealed(argv, envp);
	if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		die(errno, "set close-on-exec on the sync fd %ld", fd);
	signal(SIGPIPE, SIG_IGN);
	ensure_std_fds();

	uint32_t tag, len;
	uint8_t *buf;
	if (recv_msg(g_syncfd, &tag, &buf, &len, PLAN_MAX_BYTES) < 0) {
		if (errno == 0)
			die(0, "read the plan: the runtime closed the sync socket");
		die(errno, "read the plan from the sync socket");
	}
	if (tag != MSG_PLAN)
		die(0, "expected MSG_PLAN first, got %s (%u)", tag_name(tag), tag);
	struct plan *p = decode_plan(buf, len);
	reserve_preserved_fds(p);
	stage0(p);
	return 0;
}
