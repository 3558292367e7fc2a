/*
 * replay-run.c - the rest of a foreground `tsrun run` replayed from its recipe (replay.c did the create, whose
 * plan has stage 0 stay and report the exit status), in the steps of src/runtime/run.ts: start through the exec
 * fifo, the caller's signals forwarded to the container process until stage 0 reports its exit, then delete,
 * and the process's exit status as ours. Until the fifo says "0" nothing of the user's has run, so any other
 * answer undoes the create and gives way to Bun; after it, what goes wrong is told as Bun's run tells it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "replay.h"

static volatile sig_atomic_t g_target;

/* signals.ts's FORWARDED: the user's Ctrl-C or an engine's SIGTERM reach the container */
static const int FORWARDED[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };

static void forward(int sig)
{
	if (g_target > 0)
		kill((pid_t)g_target, sig);
}

static bool alive(pid_t pid)
{
	char st[512];
	const char *state = proc_stat(pid, st, sizeof st);
	return state && *state != 'Z' && *state != 'X';
}

/* start.ts releaseInit: the fifo opened without blocking and read to its end; true only for "0" */
static bool release(const char *fifo, pid_t container)
{
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	char text[4096];
	size_t got = 0;
	bool writer = false;
	for (int spins = 0; spins < 200000; spins++) {
		ssize_t n = read(fd, text + got, sizeof text - 1 - got);
		if (n < 0 && errno == EAGAIN) {
			writer = true;
		} else if (n > 0) {
			writer = true;
			got += (size_t)n;
			if (got == sizeof text - 1)
				break;
			continue;
		} else if (n == 0) {
			if (writer || got > 0)
				break;
			if (!alive(container))
				break;
		} else if (errno != EINTR) {
			break;
		}
		usleep(spins < 250 ? 200 : 10000);
	}
	close(fd);
	unlink(fifo);
	return got > 0 && text[0] == '0' && memchr(text, 'E', got) == NULL;
}

/* the "rmdirs" and "procs" lines of the answers this create wrote (src/state/answers.ts deleteFacts) */
struct delete_facts {
	char procs[4096];
	char *rmdir[16];
	int nrmdir;
	bool deletable;
};

static bool parse_delete_facts(const struct out *answers, struct delete_facts *d)
{
	memset(d, 0, sizeof *d);
	char *text = strndup(answers->p, answers->n), *save = NULL;
	int want = -1; /* the directory lines still to come after "rmdirs N" */
	for (char *line = strtok_r(text, "\n", &save); line && want != 0; line = strtok_r(NULL, "\n", &save)) {
		if (want > 0) {
			d->rmdir[d->nrmdir++] = strdup(line);
			want--;
		} else if (!strcmp(line, "deletable 1")) {
			d->deletable = true;
		} else if (!strncmp(line, "procs ", 6)) {
			snprintf(d->procs, sizeof d->procs, "%s", line + 6);
		} else if (!strncmp(line, "rmdirs ", 7)) {
			want = atoi(line + 7);
			if (want < 0 || want > 16)
				break;
		} else if (!strncmp(line, "doc ", 4)) {
			break;
		}
	}
	free(text);
	return d->deletable && want == 0;
}

static bool cgroup_empty(const char *procs)
{
	if (!strcmp(procs, "-"))
		return true;
	int fd = open(procs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	char c;
	ssize_t n = read(fd, &c, 1);
	close(fd);
	return n == 0;
}

/* delete.ts of the stopped container, when it is only removing (as launcher-delete.c): false leaves it to Bun */
static bool remove_container(const struct replayed *r)
{
	struct delete_facts d;
	if (!parse_delete_facts(r->answers, &d))
		return false;
	/* the process has exited; with its pid namespace gone the rest leave the cgroup a moment later */
	int waited = 0;
	while (!cgroup_empty(d.procs) && waited++ < 500)
		usleep(1000);
	bool ok = cgroup_empty(d.procs);
	for (int i = 0; ok && i < d.nrmdir; i++) {
		int tries = 0;
		while (rmdir(d.rmdir[i]) < 0 && errno != ENOENT) {
			if (errno != EBUSY || ++tries > 500) {
				ok = false;
				break;
			}
			usleep(1000);
		}
	}
	for (int i = 0; i < d.nrmdir; i++)
		free(d.rmdir[i]);
	if (!ok)
		return false;
	static const char *const files[] = { "exec.fifo", "config.json", "answers", "state.json" };
	char p[4200];
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(p, sizeof p, "%s/%s", r->dir, files[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			return false;
	}
	return rmdir(r->dir) == 0;
}

/* what is left, by Bun's delete --force (it finds the state and removes the rest); its status is not ours */
static void delete_by_bun(const struct replayed *r, char **envp)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
	if (n <= 0)
		return;
	self[n] = '\0';
	strcpy(strrchr(self, '/') + 1, "tsrun-bun");
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { "tsrun", "--root", (char *)r->root, "delete", "--force", (char *)r->id, NULL };
		execve(self, argv, envp);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int replay_run(const struct replayed *r, char **argv, char **envp)
{
	/* as run.ts: forwarding starts before the release, so a signal right after the exec reaches the process */
	g_target = r->container;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof FORWARDED / sizeof *FORWARDED; i++)
		sigaction(FORWARDED[i], &sa, NULL);
	if (!release(r->fifo, r->container))
		replay_give_way(argv, envp); /* nothing of the user's ran: undone, and Bun's run words what is wrong */
	unlink(r->lock); /* held since the create, as run.ts holds it for the start */
	int status = -1;
	for (;;) {
		uint32_t tag, len;
		uint8_t *m;
		if (recv_msg(r->sock, &tag, &m, &len, 1 << 20) < 0)
			break;
		if (tag == MSG_EXIT && len == 8) {
			uint64_t v;
			memcpy(&v, m, 8);
			status = (int)(uint32_t)v;
		} else if (tag == MSG_ERROR || tag == MSG_WARN) {
			/* after start an error of the process is followed by its exit status: told, then waited for */
			fprintf(stderr, "tsrun: %s%.*s\n", tag == MSG_WARN ? "warning: " : "", (int)len, (const char *)m);
		}
		free(m);
		if (status >= 0)
			break;
	}
	g_target = 0;
	while (waitpid(r->stage0, NULL, 0) < 0 && errno == EINTR)
		;
	bool locked = symlink(r->stamp, r->lock) == 0; /* delete.ts takes the lock: held, Bun waits for it */
	if (!locked || !remove_container(r)) {
		if (locked)
			unlink(r->lock);
		locked = false;
		delete_by_bun(r, envp);
	}
	if (locked)
		unlink(r->lock);
	if (status < 0) {
		fprintf(stderr, "tsrun: lost track of the process of container %s\n", r->id);
		return 1;
	}
	/* run.ts exitCodeOf */
	return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
}
