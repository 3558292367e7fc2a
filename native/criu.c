/*
 * criu.c - `tsrun-init --criu SYNCFD`: the runtime's go-between with CRIU's
 * RPC (`criu swrk FD`). The runtime encodes the requests and decodes the
 * answers; this process does what Bun cannot:
 *   - a SOCK_SEQPACKET socket to CRIU (one message per criu_req/criu_resp);
 *   - the pty master CRIU sends with its orphan-pts-master notification
 *     (SCM_RIGHTS), passed on to --console-socket or kept for a foreground
 *     restore to proxy;
 *   - being the parent of the restored process (rst_sibling makes it CRIU's
 *     sibling), so that a foreground restore can wait for it.
 * CRIU starts only once the runtime has put its pid in the container's
 * cgroups (the first MSG_CRIU_REQ opens the gate), so that what it restores
 * is born there. Fds 0-2 are CRIU's stdio (the restored pipes inherit
 * them); the runtime's fds for the image and work dirs stay open here,
 * because CRIU opens them as /proc/<our pid>/fd/N.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

#define CRIU_MSG_MAX (1u << 20)

struct criu_start {
	const char *criu, *console_socket;
	bool keep_master;
};

static void parse_start(uint8_t *buf, uint32_t len, struct criu_start *s)
{
	const char *f[3] = { 0 };
	uint32_t off = 0;
	for (int i = 0; i < 3; i++) {
		const uint8_t *nul = off < len ? memchr(buf + off, 0, len - off) : NULL;
		if (!nul)
			die(0, "criu: malformed start message (%u bytes)", len);
		f[i] = (const char *)buf + off;
		off = (uint32_t)(nul - buf) + 1;
	}
	if (!*f[0])
		die(0, "criu: no criu path in the start message");
	s->criu = f[0];
	s->console_socket = *f[1] ? f[1] : NULL;
	s->keep_master = f[2][0] == '1';
}

/* The child: waits at the gate, then becomes `criu swrk FD`. */
static _Noreturn void exec_criu(const struct criu_start *s, int gate, int sk)
{
	char c;
	ssize_t r;
	do
		r = read(gate, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		_exit(1); /* the runtime gave up before the first request */
	int fd = fcntl(sk, F_DUPFD, 3); /* without FD_CLOEXEC: criu keeps it */
	if (fd < 0)
		die(errno, "criu: pass its socket");
	char num[16];
	snprintf(num, sizeof num, "%d", fd);
	char *argv[] = { (char *)s->criu, "swrk", num, NULL };
	execvp(s->criu, argv); /* "criu" is looked up on PATH, as runc does */
	if (errno == ENOENT)
		die(0, "criu not found at \"%s\": install criu, or name it with --criu PATH", s->criu);
	die(errno, "run %s swrk", s->criu);
}

/* A failure here is told, not died of: the runtime then fails CRIU's
 * notification, and CRIU undoes what it made (its cgroup yard mounts) and
 * ends, where a killed criu would leave them. */
static void send_master(const char *path, int master)
{
	char msg[512];
	int cs = try_connect_unix(path);
	if (cs < 0)
		snprintf(msg, sizeof msg, "connect to the console socket \"%s\": %s", path, errstr(errno));
	else if (send_fd(cs, master, "/dev/ptmx", strlen("/dev/ptmx")) < 0)
		snprintf(msg, sizeof msg, "send the pty master to the console socket \"%s\": %s", path, errstr(errno));
	else
		msg[0] = '\0';
	if (cs >= 0)
		close(cs);
	if (msg[0])
		send_str(g_syncfd, MSG_ERROR, msg);
}

/* One message from CRIU, to the runtime; a pty master with it goes on. */
static bool relay_answer(int sk, const struct criu_start *s, int *master, uint8_t *buf)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = CRIU_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	ssize_t n;
	do
		n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != ECONNRESET)
		die(errno, "criu: read from its socket");
	if (n <= 0)
		return false;
	if (mh.msg_flags & MSG_TRUNC)
		die(0, "criu: a message of more than %u bytes", CRIU_MSG_MAX);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int fd;
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
		if (s->console_socket) {
			send_master(s->console_socket, fd);
			close(fd);
		} else if (s->keep_master && *master < 0) {
			*master = fd;
		} else {
			close(fd);
		}
	}
	if (send_msg(g_syncfd, MSG_CRIU_RESP, buf, (uint32_t)n) < 0)
		die(errno, "criu: pass an answer on");
	return true;
}

int criu_main(int syncfd)
{
	g_syncfd = syncfd;
	signal(SIGPIPE, SIG_IGN);
	uint32_t len;
	uint8_t *start = recv_expected(MSG_CRIU_START, &len);
	struct criu_start s;
	parse_start(start, len, &s);

	int sv[2], gate[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die(errno, "criu: socketpair");
	if (pipe2(gate, O_CLOEXEC) < 0)
		die(errno, "criu: pipe");
	pid_t criu = fork();
	if (criu < 0)
		die(errno, "criu: fork");
	if (criu == 0) {
		close(sv[0]);
		close(gate[1]);
		exec_criu(&s, gate[0], sv[1]);
	}
	g_kill_on_error = criu;
	close(sv[1]);
	close(gate[0]);
	if (send_u64(g_syncfd, MSG_PID, (uint64_t)criu) < 0)
		die(errno, "criu: report its pid");

	uint8_t *buf = xmalloc(CRIU_MSG_MAX);
	int master = -1;
	bool criu_open = true;
	for (;;) {
		struct pollfd pf[2] = { { .fd = g_syncfd, .events = POLLIN }, { .fd = criu_open ? sv[0] : -1, .events = POLLIN } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "criu: poll");
		}
		if (pf[1].revents) {
			if (!relay_answer(sv[0], &s, &master, buf)) {
				criu_open = false;
				close(sv[0]);
				int status = wait_or_die(criu, "criu");
				g_kill_on_error = 0;
				if (send_u64(g_syncfd, MSG_CRIU_EXIT, (uint64_t)(uint32_t)status) < 0)
					die(errno, "criu: report its exit");
			}
			continue;
		}
		if (!pf[0].revents)
			continue;
		uint32_t tag;
		uint8_t *m;
		if (recv_msg(g_syncfd, &tag, &m, &len, CRIU_MSG_MAX) < 0) {
			/* the runtime is done (a detached restore), or gone: criu must not go on alone */
			if (criu_open) {
				kill(criu, SIGKILL);
				wait_or_die(criu, "criu");
			}
			_exit(0);
		}
		if (tag == MSG_CRIU_REQ && criu_open) {
			if (gate[1] >= 0) {
				if (write(gate[1], "g", 1) != 1)
					die(errno, "criu: start it");
				close(gate[1]);
				gate[1] = -1;
			}
			/* EPIPE: criu is gone (its exec failed, say); the poll sees the
			 * hangup and reports its exit, after the child's own error */
			if (send(sv[0], m, len, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
				die(errno, "criu: send a request");
		} else if (tag == MSG_CRIU_CLOSE) {
			/* criu may have closed its side first: its MSG_CRIU_EXIT is on its way */
			if (criu_open)
				shutdown(sv[0], SHUT_WR);
		} else if (tag == MSG_CRIU_WAIT && !criu_open && len == 8) {
			uint64_t v;
			memcpy(&v, m, 8);
			pid_t pid = (pid_t)le64toh(v);
			static struct plan noplan; /* no console size of its own: the caller's terminal's */
			wait_and_report(&noplan, master, pid);
		} else {
			die(0, "criu: unexpected message %u (%u bytes)", tag, len);
		}
		free(m);
	}
}
