/*
 * usermaps.c - stage 0 writes the container's user namespace maps.
 *
 * As root: straight into /proc/PID/uid_map and gid_map. As a user who is not
 * root the kernel takes one line mapping the writer's own id, and for the gid
 * map only after "deny" went to /proc/PID/setgroups (P_SETGROUPS_DENY); any
 * other map is written by the setuid helpers newuidmap/newgidmap (Debian's
 * uidmap package), which check it against /etc/subuid and /etc/subgid and
 * take it as arguments: PID, then inside outside count for each line. The
 * runtime decides which way (runtime/rootless-idmap.ts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

extern char **environ;

/* helper PID n1 n2 n3 ...: the numbers of the map text, in order */
static void run_helper(const char *helper, pid_t pid, const char *map)
{
	size_t n = 0, cap = 8;
	char **argv = xmalloc(cap * sizeof *argv);
	char pidbuf[32];
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
	argv[n++] = (char *)helper;
	argv[n++] = pidbuf;
	char *copy = xstrndup(map, strlen(map)), *save = NULL;
	for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (n + 2 > cap)
			argv = realloc(argv, (cap *= 2) * sizeof *argv);
		if (!argv)
			die(ENOMEM, "arguments for \"%s\"", helper);
		argv[n++] = tok;
	}
	argv[n] = NULL;
	pid_t h = fork();
	if (h < 0)
		die(errno, "fork to run \"%s\"", helper);
	if (h == 0) {
		execve(helper, argv, environ);
		fprintf(stderr, "tsrun-init: execute \"%s\": %s\n", helper, strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(h, &status, 0) < 0)
		if (errno != EINTR)
			die(errno, "wait for \"%s\"", helper);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		free(copy);
		free(argv);
		return;
	}
	if (WIFEXITED(status))
		die(0, "\"%s\" refused the map of pid %d (exit status %d; its message is above)", helper, (int)pid,
		    WEXITSTATUS(status));
	die(0, "\"%s\" was killed by signal %d", helper, WTERMSIG(status));
}

static void write_map(int procfd, pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof path, "%d/%s", (int)pid, file);
	if (write_file_at(procfd, path, map, strlen(map)) < 0)
		die(errno, "write %s \"%s\" to \"/proc/%s\"%s", file, map, path,
		    errno == EPERM && geteuid() != 0 ? " (as a user who is not root, only a map of the own id)" : "");
}

void write_id_maps(struct plan *p, int procfd, pid_t pid)
{
	if (p->uid_map) {
		if (p->uidmap_helper)
			run_helper(p->uidmap_helper, pid, p->uid_map);
		else
			write_map(procfd, pid, "uid_map", p->uid_map);
	}
	if (p->setgroups_deny)
		write_map(procfd, pid, "setgroups", "deny");
	if (p->gid_map) {
		if (p->gidmap_helper)
			run_helper(p->gidmap_helper, pid, p->gid_map);
		else
			write_map(procfd, pid, "gid_map", p->gid_map);
	}
}
