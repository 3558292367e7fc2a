/*
 * launcher-fast.c - `tsrun state ID`, `tsrun kill ID [SIGNAL]`, `tsrun
 * start ID` (launcher-start.c) and `tsrun delete ID` (launcher-delete.c)
 * answered without starting Bun, whose start-up is most of what these
 * commands cost.
 * The policy stays in TypeScript: whenever it writes a container's
 * state.json it also writes <root>/<id>/answers (src/state/answers.ts): the
 * state documents for each status, pre-rendered, the facts that choose
 * between them (the init's pid and start time, the exec fifo, the freezer
 * file), and whether start and delete may be done here. This file only reads
 * and checks them. Anything unexpected (an unknown flag, a missing or stale
 * answers file, whose record checksum must match state.json as it is now, a
 * container being created, a FREEZING cgroup, a stopped container's kill, a
 * signal name not in the table) returns, and Bun answers as always, with its
 * own words for any error.
 */
#include "launcher-sys.h"

#define ANSWERS_MAX 65536
#define RECORD_MAX (1 << 20)




/* the next line of the answers file, NUL in place of its newline */
static char *line(char **cur, char *end)
{
	char *s = *cur, *p = s;
	while (p < end && *p != '\n')
		p++;
	if (p >= end)
		return NULL;
	*p = '\0';
	*cur = p + 1;
	return s;
}


static const char *const STATUS[4] = { "running", "created", "paused", "stopped" };

static int parse_answers(char *buf, long n, const char *record, long record_len, struct answers *a)
{
	char *cur = buf, *end = buf + n, *l;
	const char *v;
	if (!(l = line(&cur, end)) || !seq(l, "tsrun-answers 1"))
		return 0;
	/* record <crc32 hex> <length>: the state.json these answers were made from */
	if (!(l = line(&cur, end)) || !(v = after(l, "record ")))
		return 0;
	unsigned crc = 0;
	for (int i = 0; i < 8; i++, v++) {
		int d = *v >= '0' && *v <= '9' ? *v - '0' : *v >= 'a' && *v <= 'f' ? *v - 'a' + 10 : -1;
		if (d < 0)
			return 0;
		crc = crc << 4 | (unsigned)d;
	}
	if (*v++ != ' ' || number(&v) != record_len || *v || crc32(record, record_len) != crc)
		return 0;
	if (!(l = line(&cur, end)) || !(v = after(l, "pid ")) || (a->pid = number(&v)) <= 0 || *v)
		return 0;
	if (!(l = line(&cur, end)) || !(a->start = after(l, "start ")))
		return 0;
	if (!(l = line(&cur, end)) || !(a->fifo = after(l, "fifo /")))
		return 0;
	a->fifo--;
	if (!(l = line(&cur, end)) || !(v = after(l, "freezer ")))
		return 0;
	a->freezer = seq(v, "none") ? 'n' : after(v, "v1 /") ? '1' : after(v, "v2 /") ? '2' : 0;
	if (!a->freezer)
		return 0;
	a->freezer_dir = v + 3;
	if (!(l = line(&cur, end)) || !(v = after(l, "startable ")) || (*v != '0' && *v != '1') || v[1])
		return 0;
	a->startable = *v == '1';
	if (!(l = line(&cur, end)) || !(v = after(l, "deletable ")) || (*v != '0' && *v != '1') || v[1])
		return 0;
	a->deletable = *v == '1';
	if (!(l = line(&cur, end)) || !(a->procs = after(l, "procs ")))
		return 0;
	long nd;
	if (!(l = line(&cur, end)) || !(v = after(l, "rmdirs ")) || (nd = number(&v)) < 0 || nd > 16 || *v)
		return 0;
	for (a->nrmdir = 0; a->nrmdir < nd; a->nrmdir++)
		if (!(a->rmdir[a->nrmdir] = line(&cur, end)) || a->rmdir[a->nrmdir][0] != '/')
			return 0;
	for (int i = 0; i < 4; i++) {
		if (!(l = line(&cur, end)) || !(v = after(l, "doc ")) || !(v = after(v, STATUS[i])) || *v++ != ' ')
			return 0;
		long len = number(&v);
		if (len < 0 || *v || len > end - cur)
			return 0;
		a->doc[i] = cur;
		a->doc_len[i] = len;
		cur += len;
	}
	return 1;
}


/* 1 if pid is the same live process (not a zombie) that started at `start`, 0 if not */
int alive(const struct answers *a)
{
	char path[40], num[24], stat[1024];
	char *p = num + sizeof num - 1;
	*p = '\0';
	long v = a->pid;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	join3(path, sizeof path, "/proc/", p, "/stat");
	if (read_file(path, stat, sizeof stat) < 0)
		return 0;
	const char *state = stat_field(stat, 3);
	if (!state || *state == 'Z' || *state == 'X')
		return 0;
	if (seq(a->start, "-"))
		return 1;
	char *f = stat_field(stat, 22); /* the start time */
	if (!f)
		return 0;
	const char *want = a->start;
	while (*want && *f == *want)
		f++, want++;
	return !*want && (*f == ' ' || *f == '\n' || !*f);
}

/* 1 frozen, 0 not, -1 for Bun to tell (a v1 cgroup still FREEZING, a file that cannot be read) */
static int frozen(const struct answers *a)
{
	char path[PATH_MAX_], text[256];
	if (a->freezer == 'n')
		return 0;
	if (a->freezer == '1') {
		if (!join3(path, sizeof path, a->freezer_dir, "/", "freezer.state"))
			return -1;
		long n = read_file(path, text, sizeof text);
		if (n == -2 || (n >= 0 && seq(text, "THAWED\n")))
			return 0;
		if (n < 0 || !seq(text, "FROZEN\n"))
			return -1;
		join3(path, sizeof path, a->freezer_dir, "/", "freezer.self_freezing");
		n = read_file(path, text, sizeof text);
		if (n == -2)
			return 1;
		return n < 0 ? -1 : seq(text, "1\n");
	}
	if (!join3(path, sizeof path, a->freezer_dir, "/", "cgroup.freeze"))
		return -1;
	long n = read_file(path, text, sizeof text);
	if (n == -2 || (n >= 0 && !seq(text, "1\n")))
		return 0;
	if (n < 0)
		return -1;
	join3(path, sizeof path, a->freezer_dir, "/", "cgroup.events");
	n = read_file(path, text, sizeof text);
	if (n == -2)
		return 0;
	if (n < 0)
		return -1;
	for (const char *s = text; *s; s++)
		if ((s == text || s[-1] == '\n') && after(s, "frozen "))
			return s[7] == '1';
	return 0;
}

/* Linux's signal numbers (src/runtime/signal-numbers.ts; a unit test holds the two equal) */
static const struct { const char *name; int n; } SIGNALS[] = {
	{ "HUP", 1 }, { "INT", 2 }, { "QUIT", 3 }, { "ILL", 4 }, { "TRAP", 5 }, { "ABRT", 6 }, { "IOT", 6 },
	{ "BUS", 7 }, { "FPE", 8 }, { "KILL", 9 }, { "USR1", 10 }, { "SEGV", 11 }, { "USR2", 12 }, { "PIPE", 13 },
	{ "ALRM", 14 }, { "TERM", 15 }, { "STKFLT", 16 }, { "CHLD", 17 }, { "CONT", 18 }, { "STOP", 19 },
	{ "TSTP", 20 }, { "TTIN", 21 }, { "TTOU", 22 }, { "URG", 23 }, { "XCPU", 24 }, { "XFSZ", 25 },
	{ "VTALRM", 26 }, { "PROF", 27 }, { "WINCH", 28 }, { "IO", 29 }, { "POLL", 29 }, { "PWR", 30 }, { "SYS", 31 },
};

/* "9", "KILL", "SIGKILL", "sigkill" -> 9; -1 for Bun to tell (out of range, real-time names, unknown) */
static int signal_number(const char *s)
{
	const char *p = s;
	long v = number(&p);
	if (v >= 0)
		return *p || v > 64 ? -1 : (int)v;
	char up[16];
	size_t n = 0;
	for (; s[n]; n++) {
		if (n >= sizeof up - 1)
			return -1;
		up[n] = s[n] >= 'a' && s[n] <= 'z' ? (char)(s[n] - 32) : s[n];
	}
	up[n] = '\0';
	const char *name = after(up, "SIG") ? up + 3 : up;
	for (size_t i = 0; i < sizeof SIGNALS / sizeof SIGNALS[0]; i++)
		if (seq(name, SIGNALS[i].name))
			return SIGNALS[i].n;
	return -1;
}

/* the id rules of src/state/store.ts; anything else is Bun's to refuse */
static int valid_id(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++) {
		char c = id[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return n > 0 && n <= 200 && !seq(id, ".") && !seq(id, "..");
}


static char g_answers[ANSWERS_MAX], g_record[RECORD_MAX];

/* state, kill or start once the arguments are known; NULL to hand over to Bun */
static const char *answer(const char *root, const char *cmd, const char *id, const char *sig)
{
	char dir[PATH_MAX_], path[PATH_MAX_];
	if (!join3(dir, sizeof dir, root, "/", id) || !join3(path, sizeof path, dir, "/", "answers"))
		return NULL;
	long an = read_file(path, g_answers, sizeof g_answers);
	if (an < 0 || !join3(path, sizeof path, dir, "/", "state.json"))
		return NULL;
	long rn = read_file(path, g_record, sizeof g_record);
	struct answers a;
	if (rn < 0 || !parse_answers(g_answers, an, g_record, rn, &a))
		return NULL;

	int status = 3; /* stopped */
	if (alive(&a)) {
		int fz = frozen(&a);
		if (fz < 0)
			return NULL;
		status = fz ? 2 : sys4(NR_faccessat, AT_FDCWD_, (long)a.fifo, 0 /* F_OK */, 0) == 0 ? 1 : 0;
	}
	if (seq(cmd, "start"))
		return status == 1 && a.startable ? start_container(&a, id) : NULL;
	if (seq(cmd, "delete")) {
		/* a frozen cgroup of a dead init still holds processes to kill: Bun's */
		if (status == 3 && a.deletable && frozen(&a) == 0)
			delete_container(&a, dir);
		return NULL;
	}
	if (seq(cmd, "kill")) {
		int n = signal_number(sig ? sig : "TERM");
		if (status == 3 || n < 0 || sys3(NR_kill, a.pid, n, 0) != 0)
			return NULL;
		leave(0);
	}
	for (long off = 0, w; off < a.doc_len[status]; off += w)
		if ((w = sys3(NR_write, 1, (long)(a.doc[status] + off), a.doc_len[status] - off)) <= 0)
			leave(1);
	leave(0);
}

const char *fast_path(long argc, char **argv, char **envp)
{
	for (char **e = envp; *e; e++)
		if (after(*e, "TSRUN_TIMING=") || after(*e, "TSRUN_NO_FAST_PATH=") || after(*e, "TSRUN_START_ERROR=") || after(*e, "TSRUN_FAULT="))
			return NULL;
	replay_create(argc, argv, envp); /* returns unless a recipe for this create is there */
	const char *root = NULL;
	long i = 1;
	/* the global flags that change nothing for these commands, and --root */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *f = argv[i], *v;
		if ((v = after(f, "--root=")))
			root = v;
		else if (seq(f, "--root") && i + 1 < argc)
			root = argv[++i];
		else if (after(f, "--log=") || after(f, "--log-format=") || after(f, "--rootless=") || after(f, "--criu="))
			continue;
		else if ((seq(f, "--log") || seq(f, "--log-format") || seq(f, "--rootless") || seq(f, "--criu")) && i + 1 < argc)
			i++;
		else if (!seq(f, "--systemd-cgroup") && !seq(f, "--systemd-cgroup=true") && !seq(f, "--systemd-cgroup=false"))
			return NULL;
	}
	if (i + 1 >= argc)
		return NULL;
	const char *cmd = argv[i], *id = argv[i + 1], *sig = i + 2 < argc ? argv[i + 2] : NULL;
	/* delete [--force|-f] ID: of a stopped container the two are one */
	if (seq(cmd, "delete") && (seq(id, "--force") || seq(id, "-f") || seq(id, "--force=true")) && i + 2 < argc)
		id = argv[++i + 1];
	int one_arg = i + 2 == argc;
	int ok = ((seq(cmd, "state") || seq(cmd, "start") || seq(cmd, "delete")) && one_arg) ||
		 (seq(cmd, "kill") && i + 3 >= argc && (!sig || sig[0] != '-'));
	if (!ok || !valid_id(id))
		return NULL;
	/* a caller who is not root acts only on state it made (ContainerDir.checkOwner): Bun checks that */
	if (sys3(NR_geteuid, 0, 0, 0) != 0)
		return NULL;
	if (!root)
		root = "/run/tsrun";
	if (!root[0])
		return NULL;
	/* start and delete read the answers under the container's lock, as start.ts and delete.ts read the state */
	if ((seq(cmd, "start") || seq(cmd, "delete")) && !take_lock(root, id))
		return NULL;
	const char *handed = answer(root, cmd, id, sig);
	release_lock();
	return handed;
}
