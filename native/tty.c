/*
 * tty.c - a foreground run with a terminal and no console socket, as
 * `runc run` does it: the child sends the pty master to stage 0 over a
 * socketpair, and stage 0 proxies its own stdio to it (stdin in raw mode
 * when it is a terminal, window size changes forwarded) until the
 * container process exits. Then it drains the master and reports MSG_EXIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

static struct termios g_saved;
static volatile sig_atomic_t g_raw;

/* Also called by die() and before a death by SIGTERM: the user's terminal
 * must never stay raw. tcsetattr is async-signal-safe. */
void tty_restore(void)
{
	if (g_raw) {
		g_raw = 0;
		tcsetattr(0, TCSANOW, &g_saved);
	}
}

/* The fd sent with SCM_RIGHTS, or -1 when the child closed its end first
 * (it failed, and reports that itself). */
int recv_fd(int sock)
{
	char data[64], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
			return fd;
		}
	}
	return -1;
}

/* Our terminal's size onto the pty (stdin's, or stdout's when stdin is
 * redirected); nothing when neither is a terminal. */
static void copy_size(int master)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

struct buf {
	char d[16384];
	size_t off, len;
};

/* One read into an empty buffer; false at EOF or on an error. */
static bool fill(int fd, struct buf *b)
{
	ssize_t n = read(fd, b->d, sizeof b->d);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false; /* EIO on the master: every slave fd is closed */
	b->off = 0;
	b->len = (size_t)n;
	return true;
}

/* Writes what it can; on an error the rest is dropped (a closed stdout
 * must not stop the container). */
static void flush(int fd, struct buf *b)
{
	while (b->len) {
		ssize_t n = write(fd, b->d + b->off, b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			b->len = 0;
			return;
		}
		b->off += (size_t)n;
		b->len -= (size_t)n;
	}
}

/* Handles the queued signals; true once the container process is reaped. */
static bool on_signals(int sfd, int master, pid_t pid, int *status)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGWINCH) {
			copy_size(master);
		} else if (si.ssi_signo == SIGTERM) {
			/* die of it, as without a terminal, but leave the terminal sane */
			tty_restore();
			signal(SIGTERM, SIG_DFL);
			sigset_t t;
			sigemptyset(&t);
			sigaddset(&t, SIGTERM);
			sigprocmask(SIG_UNBLOCK, &t, NULL);
			raise(SIGTERM);
			_exit(128 + SIGTERM);
		}
	}
	pid_t r = waitpid(pid, status, WNOHANG);
	if (r < 0 && errno != EINTR)
		die(errno, "wait for the container process %d", (int)pid);
	return r == pid;
}

int proxy_terminal(struct plan *p, int master, pid_t pid)
{
	int fl = fcntl(master, F_GETFL);
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
		die(errno, "make the pty master non-blocking");
	/* blocked before the first reap, so no exit can slip between */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die(errno, "block signals");
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die(errno, "signalfd");
	if (!p->console_height && !p->console_width)
		copy_size(master);
	/* raw only when the terminal is ours: a background job must not change
	 * the mode under the shell in the foreground */
	if (isatty(0) && tcgetpgrp(0) == getpgrp() && tcgetattr(0, &g_saved) == 0) {
		struct termios raw = g_saved;
		cfmakeraw(&raw);
		g_raw = 1;
		if (tcsetattr(0, TCSANOW, &raw) < 0)
			g_raw = 0;
	}

	struct buf in = { .len = 0 }, out = { .len = 0 };
	bool in_open = true, m_open = true;
	int status = 0;
	bool exited = on_signals(sfd, master, pid, &status);
	while (!exited) {
		struct pollfd f[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = in_open && !in.len ? 0 : -1, .events = POLLIN },
			{ .fd = m_open ? master : -1, .events = (short)((out.len ? 0 : POLLIN) | (in.len ? POLLOUT : 0)) },
			{ .fd = out.len ? 1 : -1, .events = POLLOUT },
		};
		if (poll(f, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "poll the terminal");
		}
		if (f[0].revents)
			exited = on_signals(sfd, master, pid, &status);
		if (f[1].revents && !fill(0, &in))
			in_open = false; /* EOF: the container keeps its terminal */
		if (f[2].revents & POLLOUT)
			flush(master, &in);
		if ((f[2].revents & (POLLIN | POLLHUP | POLLERR)) && !out.len && !fill(master, &out))
			m_open = false;
		if (f[3].revents)
			flush(1, &out);
	}
	/* what the process wrote just before it ended is still in the pty;
	 * bounded, in case something else in the container keeps writing */
	for (int i = 0; i < 1024; i++) {
		struct pollfd o = { .fd = 1, .events = POLLOUT };
		while (out.len && poll(&o, 1, 1000) > 0)
			flush(1, &out);
		out.len = 0;
		if (!m_open || !fill(master, &out) || !out.len)
			break;
	}
	tty_restore();
	close(master);
	close(sfd);
	return status;
}

/* A foreground run, exec or restore: wait for pid (through the pty master
 * when there is one), report MSG_EXIT, exit. The runtime forwards signals to
 * the process; we only must not die of those a terminal sends to its whole
 * process group (the container has its own session). */
_Noreturn void wait_and_report(struct plan *p, int master, pid_t pid)
{
	int ignore[] = { SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU };
	for (size_t i = 0; i < sizeof ignore / sizeof ignore[0]; i++)
		signal(ignore[i], SIG_IGN);
	int status = master >= 0 ? proxy_terminal(p, master, pid) : wait_or_die(pid, "the container process");
	send_u64(g_syncfd, MSG_EXIT, (uint64_t)(uint32_t)status);
	_exit(0);
}
