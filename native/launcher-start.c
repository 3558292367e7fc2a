/*
 * launcher-start.c - `tsrun start ID` without Bun, when the answers file
 * says the container may be started here (a process to run, no poststart
 * hook), in the steps of src/runtime/start.ts: the container's lock (the
 * symlink of src/state/lock.ts), the exec fifo opened without blocking and
 * read to its end (the init writes "0" right before execve, or "E" and a
 * message), the fifo removed. Before the fifo gives anything (a dead init,
 * a fifo already gone) nothing is done and Bun starts the container, with
 * its own words for what is wrong. After it, an error goes to Bun in the
 * environment (TSRUN_START_ERROR), which cli/start.ts tells as its own.
 */
#include "launcher-sys.h"

#define EAGAIN_ 11
#define EINTR_ 4
#define O_NONBLOCK_ 04000
#define O_CLOEXEC_ 02000000

static char g_lock[PATH_MAX_], g_stamp[64];
static char g_error[4096 + 32] = "TSRUN_START_ERROR=";

/* "PID STARTTIME", as lock.ts's stamp() */
static int make_stamp(void)
{
	char stat[1024], num[24];
	if (read_file("/proc/self/stat", stat, sizeof stat) < 0)
		return 0;
	char *f = stat_field(stat, 22);
	if (!f)
		return 0;
	char *e = f;
	while (*e >= '0' && *e <= '9')
		e++;
	*e = '\0';
	return join3(g_stamp, sizeof g_stamp, decimal(sys3(NR_getpid, 0, 0, 0), num + sizeof num), " ", f);
}

int take_lock(const char *root, const char *id)
{
	if (!make_stamp() || !join3(g_lock, sizeof g_lock, root, "/.lock-", id))
		return 0;
	if (sys3(NR_symlinkat, (long)g_stamp, AT_FDCWD_, (long)g_lock) != 0) {
		g_lock[0] = '\0'; /* held by another (or no root yet): Bun waits, or breaks a stale lock */
		return 0;
	}
	return 1;
}

void release_lock(void)
{
	char held[64];
	if (!g_lock[0])
		return;
	long n = sys4(NR_readlinkat, AT_FDCWD_, (long)g_lock, (long)held, sizeof held - 1);
	if (n > 0) {
		held[n] = '\0';
		if (seq(held, g_stamp))
			sys3(NR_unlinkat, AT_FDCWD_, (long)g_lock, 0);
	}
	g_lock[0] = '\0';
}

/* start.ts's pauses: from 50 µs, doubling, at most 0.2 ms for the first 50 ms (the init is about to exec), then 10 ms */
static void pause_for(long *ns, long *slept)
{
	long ts[2] = { 0, *ns };
	sys3(NR_nanosleep, (long)ts, 0, 0);
	*slept += *ns;
	long cap = *slept < 50000000L ? 200000L : 10000000L;
	*ns = *ns * 2 > cap ? cap : *ns * 2;
}

const char *start_container(const struct answers *a, const char *id)
{
	long fd = sys4(NR_openat, AT_FDCWD_, (long)a->fifo, 0 | O_NONBLOCK_ | O_CLOEXEC_, 0);
	if (fd < 0)
		return NULL; /* gone: started already, or deleted */
	char text[2048];
	long n = 0, ns = 50000, slept = 0;
	int saw_writer = 0;
	for (;;) {
		char scratch[256];
		long room = (long)sizeof text - 1 - n;
		long r = room > 0 ? sys3(NR_read, fd, (long)(text + n), room) : sys3(NR_read, fd, (long)scratch, sizeof scratch);
		if (r > 0) {
			saw_writer = 1;
			if (room > 0)
				n += r;
			continue;
		}
		if (r == -EINTR_)
			continue;
		if (r == -EAGAIN_) {
			saw_writer = 1; /* the init holds its end open: it is on its way */
			pause_for(&ns, &slept);
			continue;
		}
		if (r < 0 || saw_writer || n > 0)
			break;
		/* EOF before any writer: the init has not opened its end yet, or never will */
		if (!alive(a)) {
			sys3(NR_close, fd, 0, 0);
			return NULL;
		}
		pause_for(&ns, &slept);
	}
	sys3(NR_close, fd, 0, 0);
	text[n] = '\0';
	sys3(NR_unlinkat, AT_FDCWD_, (long)a->fifo, 0);
	const char *msg = NULL;
	for (long i = 0; i < n; i++)
		if (text[i] == 'E') {
			msg = text + i + 1;
			break;
		}
	if (!msg && text[0] == '0') {
		release_lock();
		leave(0);
	}
	/* start.ts's words: its message trimmed, or what it says when there is none */
	char *out = g_error + sizeof "TSRUN_START_ERROR=" - 1;
	long room = (long)sizeof g_error - (long)(out - g_error);
	if (msg) {
		while (*msg == ' ' || *msg == '\n' || *msg == '\t' || *msg == '\r')
			msg++;
		long len = 0;
		while (msg[len])
			len++;
		while (len > 0 && (msg[len - 1] == ' ' || msg[len - 1] == '\n' || msg[len - 1] == '\t' || msg[len - 1] == '\r'))
			len--;
		if (len == 0)
			join3(out, room, "container init failed to start the process", "", "");
		for (long i = 0; i < len && i < room - 1; i++)
			out[i] = msg[i], out[i + 1] = '\0';
	} else {
		join3(out, room, "cannot start container ", id, ": its init process exited before running the process");
	}
	return g_error;
}
