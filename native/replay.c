/*
 * replay.c - `tsrun-init --replay RECIPE ROOT ID BUNDLE PIDFILE -- ARGV...` (PIDFILE "" for none): the launcher found a recipe for this
 * config (src/recipe/, made by a create Bun did), and this does that create again for ID without Bun, in the
 * order Bun's create does it: the lock, the state directory and its records, the cgroups as the driver made
 * them, tsrun-init spawned as Bun spawns it, the plan with the id swapped, the init's messages answered, the
 * created record and its answers; a foreground run's recipe then goes on in replay-run.c. The policy is all in the recipe. Anything unexpected, before or during,
 * undoes what was done and runs Bun's create with ARGV, which plans afresh and words any error itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "plantab.h"
#include "replay.h"

#define MAX_MADE 64

static struct {
	const char *root, *id, *pid_file;
	char dir[4096], lock[4096];
	bool locked, dir_made;
	char *made[MAX_MADE]; /* cgroup directories, in the order made */
	int nmade;
	pid_t stage0, container;
	bool run;          /* a foreground run: the lock is kept for the start (replay-run.c) */
	int sock;          /* stage 0's end of the socket */
	char stamp[64];    /* the lock's target */
	struct out answers;
} g;

static void undo(void)
{
	if (g.container > 0)
		kill(g.container, SIGKILL);
	if (g.stage0 > 0) {
		kill(g.stage0, SIGKILL);
		while (waitpid(g.stage0, NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = g.nmade - 1; i >= 0; i--)
		for (int tries = 0; rmdir(g.made[i]) < 0 && errno == EBUSY && tries < 200; tries++)
			usleep(1000); /* the killed processes leave the cgroup a moment later */
	if (g.dir_made) {
		static const char *const files[] = { "state.json", "config.json", "exec.fifo", "answers" };
		char p[4200];
		for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
			snprintf(p, sizeof p, "%s/%s", g.dir, files[i]);
			unlink(p);
		}
		rmdir(g.dir);
	}
	if (g.locked)
		unlink(g.lock);
}

/* Bun's create, from the start, with the command line as it came (the launcher's environment) */
__attribute__((noreturn)) void replay_give_way(char **argv, char **envp)
{
	undo();
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		strcpy(slash + 1, "tsrun-bun");
		size_t ne = 0;
		bool jit = false;
		while (envp[ne])
			jit |= strncmp(envp[ne++], "BUN_JSC_useJIT=", 15) == 0;
		char **env = calloc(ne + 3, sizeof *env);
		size_t k = 0;
		if (!jit)
			env[k++] = "BUN_JSC_useJIT=0";
		/* Bun's create then leaves the recipe anew (src/runtime/create.ts recipeWay) */
		env[k++] = "TSRUN_REPLAY_GAVE_WAY=1";
		for (size_t i = 0; i < ne; i++)
			env[k++] = envp[i];
		execve(self, argv, env);
	}
	fprintf(stderr, "tsrun: cannot run tsrun-bun after a replay gave way: %s\n", strerror(errno));
	_exit(1);
}

static bool write_atomic(const char *file, const void *p, size_t n)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.%d.tmp", file, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = write_all(fd, p, n) == 0;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, file) == 0)
		return true;
	unlink(tmp);
	return false;
}

static bool write_template(const struct recipe *r, const char *name, const struct holes *h, const char *file, struct out *keep)
{
	struct bytes t;
	struct out o = { 0 };
	bool ok = template_named(r, name, &t) && fill_template(t, h, &o) && write_atomic(file, o.p ? o.p : "", o.n);
	if (ok && keep)
		*keep = o;
	else
		free(o.p);
	return ok;
}

/* /proc/PID/stat from its state field on (after "comm) "), NUL-terminated in st; NULL when gone */
const char *proc_stat(pid_t pid, char *st, size_t n)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd < 0 ? -1 : read(fd, st, n - 1);
	if (fd >= 0)
		close(fd);
	if (len <= 0)
		return NULL;
	st[len] = '\0';
	char *r = strrchr(st, ')');
	return r && r[1] == ' ' ? r + 2 : NULL;
}

/* field 22 of /proc/PID/stat, as src/state/proc.ts reads it */
static bool start_time(pid_t pid, char *buf, size_t n)
{
	char st[4096];
	const char *f = proc_stat(pid, st, sizeof st);
	for (int i = 3; f && i < 22; i++)
		if ((f = strchr(f, ' ')))
			f++;
	if (!f)
		return false;
	size_t l = strcspn(f, " ");
	if (l == 0 || l >= n)
		return false;
	memcpy(buf, f, l);
	buf[l] = '\0';
	return true;
}

/* the cgroup driver's calls, again for this id (cgroup-log.ts): what it read must read the same */
static bool cgroup_ops(const struct recipe *r, const struct holes *h)
{
	for (size_t at = 0; recipe_find(r, "cgroup", at, &at); at++) {
		struct bytes b = r->s[at].body, op, tpl, v;
		struct out path = { 0 };
		if (field_next(&b, &op) != 1 || field_next(&b, &tpl) != 1 || !fill_template(tpl, h, &path) || !path.p)
			return false;
		bool ok = false;
		if (field_is(op, "read") && field_next(&b, &v) == 1) {
			if (strcmp(path.p, "/proc/self/mountinfo") == 0 || strcmp(path.p, "/proc/self/cgroup") == 0) {
				ok = true; /* checked by their guards already */
			} else {
				int fd = open(path.p, O_RDONLY | O_CLOEXEC);
				char buf[65536];
				ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
				if (fd >= 0)
					close(fd);
				ok = n >= 0 && (size_t)n == v.n && memcmp(buf, v.p, v.n) == 0;
			}
		} else if (field_is(op, "write") && field_next(&b, &v) == 1) {
			int fd = open(path.p, O_WRONLY | O_CLOEXEC);
			ok = fd >= 0 && write(fd, v.p, v.n) == (ssize_t)v.n;
			if (fd >= 0)
				close(fd);
		} else if (field_is(op, "mkdirp")) {
			ok = true;
			while (ok && field_next(&b, &v) == 1) {
				struct out d = { 0 };
				ok = g.nmade < MAX_MADE && fill_template(v, h, &d) && d.p && mkdir(d.p, 0755) == 0;
				if (ok)
					g.made[g.nmade++] = d.p;
				else
					free(d.p);
			}
		} else if ((field_is(op, "exists") || field_is(op, "isDirectory")) && field_next(&b, &v) == 1) {
			struct stat st;
			bool yes = stat(path.p, &st) == 0 && (field_is(op, "exists") || S_ISDIR(st.st_mode));
			ok = field_is(v, yes ? "1" : "0");
		}
		/* readdir, subdirs, rmdir and anything new: not replayed, so the create is Bun's */
		free(path.p);
		if (!ok)
			return false;
	}
	return true;
}

/* the plan with the recorded id swapped for ours in every string record (bytes stay), group lengths anew */
static void swap_plan(const uint8_t *p, size_t n, const char *from, const char *to, struct out *o)
{
	size_t off = 0, fl = strlen(from), tl = strlen(to);
	struct rec rc;
	while (rec_next(p, n, &off, &rc) == 1) {
		const struct tag_info *ti = tag_info(rc.tag);
		uint32_t h[2] = { rc.tag, 0 };
		struct out body = { 0 };
		if (ti && ti->kind == RK_GROUP) {
			swap_plan(rc.p, rc.len, from, to, &body);
		} else if (ti && ti->kind == RK_STR) {
			for (size_t i = 0; i < rc.len;) {
				if (i + fl <= rc.len && memcmp(rc.p + i, from, fl) == 0) {
					out_add(&body, to, tl);
					i += fl;
				} else {
					out_add(&body, rc.p + i++, 1);
				}
			}
		} else {
			out_add(&body, rc.p, rc.len);
		}
		h[1] = (uint32_t)body.n;
		out_add(o, h, 8);
		out_add(o, body.p ? body.p : "", body.n);
		free(body.p);
	}
}

static void iso_now(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, ts.tv_nsec / 1000000);
}

static bool answers(const struct recipe *r, const struct holes *h, const struct out *record)
{
	static const char *const status[4] = { "running", "created", "paused", "stopped" };
	struct out o = { 0 };
	char line[128];
	snprintf(line, sizeof line, "tsrun-answers 1\nrecord %08x %zu\n", crc32_ieee(record->p, record->n), record->n);
	out_str(&o, line);
	struct bytes t;
	bool ok = template_named(r, "answersHead", &t) && fill_template(t, h, &o);
	for (int i = 0; ok && i < 4; i++) {
		char name[8];
		struct out d = { 0 };
		snprintf(name, sizeof name, "doc%d", i);
		ok = template_named(r, name, &t) && fill_template(t, h, &d) && d.p;
		if (ok) {
			snprintf(line, sizeof line, "doc %s %zu\n", status[i], d.n);
			out_str(&o, line);
			out_add(&o, d.p, d.n);
		}
		free(d.p);
	}
	char file[4200];
	snprintf(file, sizeof file, "%s/answers", g.dir);
	ok = ok && write_atomic(file, o.p, o.n);
	g.answers = o;
	return ok;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 200 || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("_+-.", *c)))
			return false;
	return true;
}

/* the create after the checks; false: undo and give way */
static bool replay(const struct recipe *r, const char *rec_id)
{
	char me[16], my_start[32], created[96], pid[16], pid_start[32];
	snprintf(me, sizeof me, "%d", (int)getpid());
	if (!start_time(getpid(), my_start, sizeof my_start))
		return false;
	iso_now(created, sizeof created);
	struct holes h = { g.id, "0", "", created, me, my_start };

	snprintf(g.stamp, sizeof g.stamp, "%s %s", me, my_start);
	if (symlink(g.stamp, g.lock) < 0)
		return false; /* held, or stale: Bun waits or breaks it */
	g.locked = true;
	if (mkdir(g.dir, 0711) < 0)
		return false; /* it exists: Bun says so */
	g.dir_made = true;
	char f[4200];
	snprintf(f, sizeof f, "%s/state.json", g.dir);
	if (!write_template(r, "creating", &h, f, NULL))
		return false;
	const struct section *copy = recipe_find(r, "config-copy", 0, NULL), *plan = recipe_find(r, "plan", 0, NULL);
	char cfg[4200];
	snprintf(cfg, sizeof cfg, "%s/config.json", g.dir);
	if (!copy || !plan || !write_atomic(cfg, copy->body.p, copy->body.n) || !cgroup_ops(r, &h))
		return false;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0)
		return false;
	self[sl] = '\0';
	g.stage0 = fork();
	if (g.stage0 < 0)
		return false;
	if (g.stage0 == 0) {
		/* as Bun spawns it: our stdio, the socket at fd 3, no environment */
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		char *argv[] = { "tsrun-init", "3", NULL }, *envp[] = { NULL };
		execve(self, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	g.sock = sv[0];
	struct out body = { 0 };
	swap_plan(plan->body.p, plan->body.n, rec_id, g.id, &body);
	bool sent = send_msg(sv[0], MSG_PLAN, body.p, (uint32_t)body.n) == 0;
	free(body.p);
	if (!sent)
		return false;
	for (;;) {
		uint32_t tag, len;
		uint8_t *m;
		if (recv_msg(sv[0], &tag, &m, &len, 1 << 20) < 0)
			return false;
		if (tag == MSG_PID && len == 8) {
			uint64_t v;
			memcpy(&v, m, 8);
			g.container = (pid_t)v;
			snprintf(pid, sizeof pid, "%d", (int)g.container);
			if (!start_time(g.container, pid_start, sizeof pid_start))
				return false;
			h.pid = pid;
			h.pid_start = pid_start;
			if (!write_template(r, "withPid", &h, f, NULL))
				return false;
		} else if (tag == MSG_HOOKS) {
			struct bytes t;
			struct out st = { 0 };
			bool ok = template_named(r, "hookState", &t) && fill_template(t, &h, &st) && st.p &&
				  send_msg(sv[0], MSG_HOOKS_DONE, st.p, (uint32_t)st.n) == 0;
			free(st.p);
			if (!ok)
				return false;
		} else if (tag == MSG_READY) {
			free(m);
			break;
		} else {
			free(m); /* an error or a warning: Bun's to tell */
			return false;
		}
		free(m);
	}
	struct out record = { 0 };
	if (!write_template(r, "created", &h, f, &record) || !answers(r, &h, &record))
		return false;
	free(record.p);
	/* as create.ts: once the record is written */
	if (g.pid_file[0] && !write_atomic(g.pid_file, pid, strlen(pid)))
		return false;
	if (!g.run) {
		unlink(g.lock);
		g.locked = false;
	}
	return true;
}

int replay_main(int argc, char **argv, char **envp)
{
	/* tsrun-init --replay RECIPE ROOT ID BUNDLE PIDFILE -- ARGV... */
	int dd = 7;
	if (argc < 9 || strcmp(argv[dd], "--") != 0) {
		fprintf(stderr, "usage: tsrun-init --replay RECIPE ROOT ID BUNDLE PIDFILE -- ARGV...\n");
		return 2;
	}
	char **orig = argv + dd + 1;
	signal(SIGPIPE, SIG_IGN);
	g.root = argv[3];
	g.id = argv[4];
	g.pid_file = argv[6];
	if (!valid_id(g.id) || g.root[0] != '/')
		replay_give_way(orig, envp);
	snprintf(g.dir, sizeof g.dir, "%s/%s", g.root, g.id);
	snprintf(g.lock, sizeof g.lock, "%s/.lock-%s", g.root, g.id);
	struct recipe r;
	if (!recipe_read(argv[2], &r))
		replay_give_way(orig, envp);
	/* the key: create, this root, this bundle, these config bytes */
	const struct section *key = recipe_find(&r, "key", 0, NULL), *config = recipe_find(&r, "config", 0, NULL), *id = recipe_find(&r, "id", 0, NULL);
	struct bytes k = key ? key->body : (struct bytes){ 0 }, mode, root, bundle;
	char *bundle_real = realpath(argv[5], NULL);
	if (!key || !config || !id || field_next(&k, &mode) != 1 || field_next(&k, &root) != 1 || field_next(&k, &bundle) != 1 ||
	    !(field_is(mode, "create") || field_is(mode, "run")) || !field_is(root, g.root) || !bundle_real || !field_is(bundle, bundle_real))
		replay_give_way(orig, envp);
	/* the mode is the launcher's command: the recipe's name ends with it */
	g.run = field_is(mode, "run");
	size_t rl = strlen(argv[2]);
	const char *suffix = g.run ? "-run" : "-create";
	if (rl < strlen(suffix) || strcmp(argv[2] + rl - strlen(suffix), suffix) != 0)
		replay_give_way(orig, envp);
	char cfgpath[4200];
	snprintf(cfgpath, sizeof cfgpath, "%s/config.json", bundle_real);
	int fd = open(cfgpath, O_RDONLY | O_CLOEXEC);
	char *cfg = fd < 0 ? NULL : malloc(config->body.n + 1);
	ssize_t got = cfg ? read(fd, cfg, config->body.n + 1) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)config->body.n || memcmp(cfg, config->body.p, config->body.n) != 0 || !recipe_guards_hold(&r))
		replay_give_way(orig, envp);
	char *rec_id = field_str(id->body);
	if (!rec_id || !replay(&r, rec_id))
		replay_give_way(orig, envp);
	if (!g.run)
		return 0;
	char fifo[4200];
	snprintf(fifo, sizeof fifo, "%s/exec.fifo", g.dir);
	struct replayed made = { g.root, g.id, g.dir, g.lock, fifo, g.stamp, &g.answers, g.stage0, g.container, g.sock };
	return replay_run(&made, orig, envp);
}
