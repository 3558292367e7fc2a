/*
 * hooks.c - createContainer and startContainer hooks, run by the init in
 * the container's namespaces. The state JSON arrives on stdin; stdout and
 * stderr are collected and quoted in the error when the hook fails.
 * memfds on both ends: no pipe can fill up and deadlock us.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

static const char *kind_name(uint64_t kind)
{
	return kind == HOOK_KIND_CREATE_CONTAINER ? "createContainer" : "startContainer";
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits for pid, at most timeout seconds (0: no limit). -1 on timeout. */
static int wait_hook(pid_t pid, uint64_t timeout, int *status)
{
	if (timeout) {
		int64_t deadline = now_ms() + (int64_t)timeout * 1000;
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		for (;;) {
			if (pfd < 0) {
				/* no pidfd: look every 10 ms */
				pid_t r = waitpid(pid, status, WNOHANG);
				if (r == pid)
					return 0;
				if (r < 0 && errno != EINTR)
					die(errno, "wait for a hook");
			}
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				if (pfd >= 0)
					close(pfd);
				return -1;
			}
			if (pfd >= 0) {
				struct pollfd pl = { .fd = pfd, .events = POLLIN };
				int r = poll(&pl, 1, left > 1000 ? 1000 : (int)left);
				if (r > 0)
					break;
				if (r < 0 && errno != EINTR)
					die(errno, "wait for a hook");
			} else {
				struct timespec ts = { 0, 10 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
		close(pfd);
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			die(errno, "wait for a hook");
	return 0;
}

static void run_hook(const struct hook *h, const char *state)
{
	const char *kn = kind_name(h->kind);
	int in = memfd_create("hook-state", MFD_CLOEXEC);
	int out = memfd_create("hook-output", MFD_CLOEXEC);
	if (in < 0 || out < 0)
		die(errno, "%s hook \"%s\": memfd_create", kn, h->path);
	if (write_all(in, state, strlen(state)) < 0 || lseek(in, 0, SEEK_SET) < 0)
		die(errno, "%s hook \"%s\": write the state", kn, h->path);

	pid_t pid = fork();
	if (pid < 0)
		die(errno, "%s hook \"%s\": fork", kn, h->path);
	if (pid == 0) {
		setpgid(0, 0); /* its own group: a timeout kills what it started too */
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		reset_signals();
		char *argv0[] = { h->path, NULL };
		char *envp0[] = { NULL };
		execve(h->path, h->args.n ? h->args.v : argv0, h->env.n ? h->env.v : envp0);
		dprintf(2, "exec: %s", errstr(errno));
		_exit(127);
	}

	int status = 0;
	if (wait_hook(pid, h->timeout, &status) < 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		die(0, "%s hook \"%s\" timed out after %llu s", kn, h->path, (unsigned long long)h->timeout);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		close(in);
		close(out);
		return;
	}

	char output[1024] = "";
	ssize_t n = pread(out, output, sizeof output - 1, 0);
	if (n < 0)
		n = 0;
	output[n] = '\0';
	while (n > 0 && (output[n - 1] == '\n' || output[n - 1] == ' ' || output[n - 1] == '\r'))
		output[--n] = '\0';
	char how[64];
	if (WIFEXITED(status))
		snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
	die(0, "%s hook \"%s\" failed: %s%s%s", kn, h->path, how, n ? ": " : "", output);
}

void run_hooks(struct plan *p, uint64_t kind, const char *state_json)
{
	for (size_t i = 0; i < p->nhooks; i++)
		if (p->hooks[i].kind == kind)
			run_hook(&p->hooks[i], state_json ? state_json : "{}");
}
