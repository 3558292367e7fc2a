/*
 * exec.c - the last steps: argv[0] looked up in PATH (before READY, so a
 * missing program fails `create`), the exec fifo, fd hygiene, execve.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pid_t g_host_pid;
uint8_t *g_reserved_fds;

__attribute__((noreturn, format(printf, 3, 4)))
static void die_code(int code, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	die_exit(code, err, fmt, ap);
}

/* A regular file we may execute, with the final credentials. */
static int check_exec(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		errno = EACCES;
		return -1;
	}
	/* the plain faccessat syscall: glibc turns AT_EACCESS into faccessat2,
	 * which seccomp profiles written before Linux 5.8 refuse (EPERM); our
	 * real and effective ids are the same by now anyway */
	return (int)syscall(SYS_faccessat, AT_FDCWD, path, X_OK);
}

/* The messages follow Go's os/exec, which podman matches to pick 126/127. */
char *lookup_executable(struct plan *p)
{
	const char *name = p->args.v[0];
	if (strchr(name, '/')) {
		struct stat st;
		if (stat(name, &st) < 0)
			die(errno, "exec: \"%s\": stat %s", name, name);
		if (check_exec(name) < 0)
			die(errno, "exec: \"%s\"", name);
		return xstrndup(name, strlen(name));
	}
	const char *path = strv_get_env(&p->env, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	if (*name) {
		const char *s = path;
		for (;;) {
			const char *e = strchrnul(s, ':');
			char *cand = e == s ? xasprintf("./%s", name) : xasprintf("%.*s/%s", (int)(e - s), s, name);
			if (check_exec(cand) == 0)
				return cand;
			free(cand);
			if (!*e)
				break;
			s = e + 1;
		}
	}
	die(0, "exec: \"%s\": executable file not found in $PATH", name);
}

int g_fifo_wfd = -1;
int g_fifo_pathfd = -1;

/* The exec fifo `tsrun start` opens: writable by the container user (0622,
 * as runc), whatever our umask. Stage 0 opens it while it still has the
 * host's credentials: in a user namespace the container process could not
 * search a --root of mode 0700 (what runc makes), so it never looks the
 * path up; the clone inherits the fd. */
void make_exec_fifo(const char *path)
{
	if (mkfifo(path, 0622) < 0)
		die(errno, "make the exec fifo \"%s\"", path);
	if (chmod(path, 0622) < 0)
		die(errno, "chmod the exec fifo \"%s\"", path);
	g_fifo_pathfd = open(path, O_PATH | O_CLOEXEC);
	if (g_fifo_pathfd < 0)
		die(errno, "open the exec fifo \"%s\"", path);
}

/* Blocks until `tsrun start` opens the fifo for reading. Reopening the
 * O_PATH fd through /proc checks only the fifo's own mode, with no path
 * lookup in the container. The write end stays open (close-on-exec): `start`
 * reads until EOF, so it learns that execve happened, or reads "E<message>"
 * from die(). */
void wait_exec_fifo(void)
{
	int fd;
	do
		fd = open(fd_path(g_fifo_pathfd), O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die(errno, "open the exec fifo");
	close(g_fifo_pathfd);
	g_fifo_pathfd = -1;
	g_fifo_wfd = fd;
}

/* "0": everything is in place, execve comes next. */
static void fifo_report_exec(void)
{
	if (g_fifo_wfd < 0)
		return;
	ssize_t w;
	do
		w = write(g_fifo_wfd, "0", 1);
	while (w < 0 && errno == EINTR);
	if (w != 1)
		die(errno, "write to the exec fifo");
}

void close_range_cloexec(unsigned int from)
{
	if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	/* kernels before 5.11 */
	struct rlimit rl;
	unsigned int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20) ? (unsigned)rl.rlim_cur : 1u << 20;
	for (unsigned int fd = from; fd < max; fd++)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

/* The container starts with default signal handling and an empty mask
 * (ignored signals would survive execve). */
void reset_signals(void)
{
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void final_exec(struct plan *p, const char *path, int listenersock, const char *state_json)
{
	/* CLOEXEC rather than close: the sync socket stays usable for errors */
	unsigned int keep = 3 + (unsigned int)p->preserve_fds;
	close_range_cloexec(keep);
	for (unsigned int fd = 3; fd < keep; fd++) {
		if (g_reserved_fds && g_reserved_fds[fd - 3])
			continue; /* was closed when we started: a placeholder of ours */
		int fl = fcntl((int)fd, F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC))
			fcntl((int)fd, F_SETFD, fl & ~FD_CLOEXEC);
	}
	/* before a no_new_privs filter, which could forbid write(2) */
	fifo_report_exec();
	if (p->no_new_privs)
		load_seccomp(p, listenersock, state_json);
	if (p->cpu_affinity_final)
		set_cpu_affinity(p->cpu_affinity_final, "final");
	reset_signals();
	execve(path, p->args.v, p->env.v ? p->env.v : (char *[]){ NULL });
	int e = errno;
	die_code(e == ENOENT ? 127 : 126, e, "exec \"%s\"", path);
}
