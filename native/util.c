/*
 * util.c - error reporting and small helpers.
 *
 * Every failure ends in die(): the message goes to the runtime as MSG_ERROR
 * ("what: where: why"), and also to fd 2 once the runtime may be gone (after
 * MSG_READY) or when there is no runtime at all (--dump-plan).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

int g_syncfd = -1;
bool g_post_ready;
pid_t g_kill_on_error;

/* Go-style lower-case errno text: podman matches "permission denied" and
 * "no such file or directory" in our messages. */
const char *errstr(int err)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

void die_exit(int code, int err, const char *fmt, va_list ap)
{
	char msg[4096];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	if (err)
		snprintf(msg + n, sizeof msg - (size_t)n, ": %s", errstr(err));

	tty_restore();
	if (g_kill_on_error > 0) {
		/* stage 0 failed after the clone: the half-made child must not stay */
		kill(g_kill_on_error, SIGKILL);
		waitpid(g_kill_on_error, NULL, 0);
		g_kill_on_error = 0;
	}
	if (g_syncfd >= 0)
		send_str(g_syncfd, MSG_ERROR, msg);
	if (g_fifo_wfd >= 0) {
		/* `tsrun start` is reading the fifo: tell it why */
		write_all(g_fifo_wfd, "E", 1);
		write_all(g_fifo_wfd, msg, strlen(msg));
	}
	/* after READY the runtime may be gone: fd 2 is then the only witness,
	 * unless `tsrun start` is reading the fifo and will say it */
	if (g_syncfd < 0 || (g_post_ready && g_fifo_wfd < 0)) {
		char line[4200];
		int len = snprintf(line, sizeof line, "tsrun-init: %s\n", msg);
		if (len > 0)
			write_all(2, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
	}
	_exit(code);
}

void die(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	die_exit(1, err, fmt, ap);
}

void warnmsg(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (g_syncfd >= 0 && !g_post_ready)
		send_str(g_syncfd, MSG_WARN, msg);
}

void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		die(ENOMEM, "allocate %zu bytes", n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die(ENOMEM, "allocate %zu bytes", n);
	return q;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		die(ENOMEM, "format a string");
	return s;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One write(2) of the whole content: proc and cgroup files parse per write. */
int write_file_at(int dirfd, const char *path, const char *data, size_t len)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	ssize_t w;
	do
		w = write(fd, data, len);
	while (w < 0 && errno == EINTR);
	int saved = errno;
	close(fd);
	if (w < 0) {
		errno = saved;
		return -1;
	}
	if ((size_t)w != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Reads at most max-1 bytes and NUL-terminates. */
ssize_t read_file(const char *path, char *buf, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < max) {
		ssize_t r = read(fd, buf + n, max - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	return (ssize_t)n;
}

void strv_push(struct strv *sv, char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 2) * sizeof(char *));
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

const char *strv_get_env(const struct strv *env, const char *name)
{
	size_t nl = strlen(name);
	/* the last definition wins, as with execve's consumers */
	const char *found = NULL;
	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], name, nl) == 0 && env->v[i][nl] == '=')
			found = env->v[i] + nl + 1;
	return found;
}

char *fd_path(int fd)
{
	static char buf[2][40];
	static int which;
	which ^= 1;
	snprintf(buf[which], sizeof buf[which], "/proc/self/fd/%d", fd);
	return buf[which];
}

void unescape_mountinfo(char *s)
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

/* The wait status of our child pid; EINTR is waited through. */
int wait_or_die(pid_t pid, const char *what)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die(errno, "wait for %s %d", what, (int)pid);
	return status;
}
