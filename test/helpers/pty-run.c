/*
 * pty-run ROWS COLS STEP... -- COMMAND [ARG...]: runs COMMAND on a new pty,
 * as if a user typed in a terminal of ROWS x COLS. Steps, in order:
 *     expect:TEXT   wait until the output (after the last match) has TEXT
 *     send:TEXT     type TEXT ("\n", "\r", "\\" are unescaped)
 *     resize:RxC    change the terminal size (the kernel sends SIGWINCH)
 * Then reads until COMMAND and everything holding the pty are gone, prints
 * the whole output, and exits with COMMAND's status (128+N after signal N).
 * After 60 s (or 20 s at an expect) it prints what it has and exits 124.
 * Compiled by the tests (test/helpers/native-helpers.ts).
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *out;
static size_t outlen, outcap, matched;
static int master = -1;

static void give_up(const char *why)
{
	fwrite(out, 1, outlen, stdout);
	fprintf(stdout, "\n[pty-run: %s]\n", why);
	fflush(stdout);
	_exit(124);
}

static void on_alarm(int sig)
{
	(void)sig;
	give_up("timed out");
}

/* Reads what is there within ms; false once the pty is closed everywhere. */
static int pump(int ms)
{
	struct pollfd p = { .fd = master, .events = POLLIN };
	if (poll(&p, 1, ms) <= 0)
		return 1;
	char buf[4096];
	ssize_t r = read(master, buf, sizeof buf);
	if (r <= 0)
		return r < 0 && errno == EINTR;
	if (outlen + (size_t)r + 1 > outcap) {
		outcap = (outlen + (size_t)r + 1) * 2;
		out = realloc(out, outcap);
	}
	memcpy(out + outlen, buf, (size_t)r);
	outlen += (size_t)r;
	out[outlen] = '\0';
	return 1;
}

static void unescape(const char *in, char *o)
{
	for (; *in; in++) {
		if (*in == '\\' && in[1]) {
			in++;
			*o++ = *in == 'n' ? '\n' : *in == 'r' ? '\r' : *in;
		} else {
			*o++ = *in;
		}
	}
	*o = '\0';
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: pty-run ROWS COLS STEP... -- COMMAND [ARG...]\n");
		return 2;
	}
	struct winsize ws = { .ws_row = (unsigned short)atoi(argv[1]), .ws_col = (unsigned short)atoi(argv[2]) };
	int cmd = 3;
	while (cmd < argc && strcmp(argv[cmd], "--") != 0)
		cmd++;
	if (cmd + 1 >= argc) {
		fprintf(stderr, "pty-run: no command\n");
		return 2;
	}
	out = calloc(1, outcap = 4096);
	pid_t pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		perror("pty-run: forkpty");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[cmd + 1], argv + cmd + 1);
		perror("pty-run: exec");
		_exit(127);
	}
	signal(SIGALRM, on_alarm);
	alarm(60);
	for (int i = 3; i < cmd; i++) {
		char *step = argv[i], text[4096];
		unescape(strchr(step, ':') ? strchr(step, ':') + 1 : "", text);
		if (strncmp(step, "expect:", 7) == 0) {
			time_t until = time(NULL) + 20;
			char *at;
			while (!(at = strstr(out + matched, text))) {
				if (time(NULL) > until || !pump(200))
					give_up(step);
			}
			matched = (size_t)(at - out) + strlen(text);
		} else if (strncmp(step, "send:", 5) == 0) {
			if (write(master, text, strlen(text)) < 0)
				give_up("write failed");
		} else if (strncmp(step, "resize:", 7) == 0) {
			unsigned r = 0, c = 0;
			sscanf(text, "%ux%u", &r, &c);
			struct winsize nw = { .ws_row = (unsigned short)r, .ws_col = (unsigned short)c };
			ioctl(master, TIOCSWINSZ, &nw);
		} else {
			fprintf(stderr, "pty-run: unknown step %s\n", step);
			return 2;
		}
	}
	while (pump(-1))
		;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fwrite(out, 1, outlen, stdout);
	fflush(stdout);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
