/*
 * replay-recipe.c - reads a recipe (src/recipe/file.ts writes it: a first line, then sections
 * "<name> <length>\n<bytes>\n", fields "<length>:<bytes>" inside) and makes the checks it lists: the binaries
 * are the ones it was made with, and every host fact the planner and the cgroup driver read is as it was.
 * Any doubt is a plain "no": the caller hands the create to Bun, which plans it afresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "replay.h"

#define RECIPE_MAX (4 << 20)
#define FACT_MAX (4 << 20)

void out_add(struct out *o, const void *p, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->n + n + 1)
			cap *= 2;
		char *q = realloc(o->p, cap);
		if (!q)
			abort();
		o->p = q;
		o->cap = cap;
	}
	memcpy(o->p + o->n, p, n);
	o->n += n;
	o->p[o->n] = '\0';
}

void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

uint32_t crc32_ieee(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *b++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* a whole file, NUL-terminated; NULL when it cannot be read */
static uint8_t *slurp(int fd, size_t max, size_t *len)
{
	struct out o = { 0 };
	char chunk[8192];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || o.n + (size_t)r > max) {
			free(o.p);
			return NULL;
		}
		if (r == 0)
			break;
		out_add(&o, chunk, (size_t)r);
	}
	if (!o.p)
		out_add(&o, "", 0);
	*len = o.n;
	return (uint8_t *)o.p;
}

static uint8_t *read_path(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	uint8_t *b = slurp(fd, FACT_MAX, len);
	close(fd);
	return b;
}

bool recipe_read(const char *path, struct recipe *r)
{
	memset(r, 0, sizeof *r);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct stat st;
	/* only root's own, and no one else may have written it */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return false;
	}
	r->buf = slurp(fd, RECIPE_MAX, &r->len);
	close(fd);
	if (!r->buf)
		return false;
	static const char head[] = "tsrun-recipe 1\n";
	if (r->len < sizeof head - 1 || memcmp(r->buf, head, sizeof head - 1))
		return false;
	size_t i = sizeof head - 1;
	while (i < r->len) {
		if (r->n == RECIPE_MAX_SECTIONS)
			return false;
		uint8_t *nl = memchr(r->buf + i, '\n', r->len - i);
		uint8_t *sp = nl ? memchr(r->buf + i, ' ', (size_t)(nl - (r->buf + i))) : NULL;
		if (!sp)
			return false;
		char *end;
		errno = 0;
		unsigned long long n = strtoull((char *)sp + 1, &end, 10);
		size_t body = (size_t)(nl + 1 - r->buf);
		if (errno || end != (char *)nl || n > r->len || body + n >= r->len || r->buf[body + n] != '\n')
			return false;
		r->s[r->n++] = (struct section){ (const char *)r->buf + i, (size_t)(sp - (r->buf + i)), { r->buf + body, (size_t)n } };
		i = body + (size_t)n + 1;
	}
	return true;
}

bool section_is(const struct section *s, const char *name)
{
	return s->name_len == strlen(name) && memcmp(s->name, name, s->name_len) == 0;
}

const struct section *recipe_find(const struct recipe *r, const char *name, size_t from, size_t *at)
{
	for (size_t i = from; i < r->n; i++)
		if (section_is(&r->s[i], name)) {
			if (at)
				*at = i;
			return &r->s[i];
		}
	return NULL;
}

int field_next(struct bytes *b, struct bytes *f)
{
	if (b->n == 0)
		return 0;
	size_t i = 0, n = 0;
	while (i < b->n && b->p[i] >= '0' && b->p[i] <= '9' && i < 12)
		n = n * 10 + (size_t)(b->p[i++] - '0');
	if (i == 0 || i >= b->n || b->p[i] != ':' || n > b->n - i - 1)
		return -1;
	f->p = b->p + i + 1;
	f->n = n;
	b->p += i + 1 + n;
	b->n -= i + 1 + n;
	return 1;
}

bool field_is(struct bytes f, const char *s)
{
	return f.n == strlen(s) && memcmp(f.p, s, f.n) == 0;
}

char *field_str(struct bytes f)
{
	if (memchr(f.p, '\0', f.n))
		return NULL;
	char *s = malloc(f.n + 1);
	if (!s)
		abort();
	memcpy(s, f.p, f.n);
	s[f.n] = '\0';
	return s;
}

bool fill_template(struct bytes tpl, const struct holes *h, struct out *o)
{
	struct bytes piece;
	int r;
	while ((r = field_next(&tpl, &piece)) == 1) {
		if (piece.n < 1)
			return false;
		struct bytes v = { piece.p + 1, piece.n - 1 };
		if (piece.p[0] == 's') {
			out_add(o, v.p, v.n);
			continue;
		}
		if (piece.p[0] != 'h')
			return false;
		const char *val = field_is(v, "id") ? h->id : field_is(v, "pid") ? h->pid : field_is(v, "pidStart") ? h->pid_start
			: field_is(v, "created") ? h->created : field_is(v, "creatorPid") ? h->creator_pid
			: field_is(v, "creatorStart") ? h->creator_start : NULL;
		if (!val)
			return false;
		out_str(o, val);
	}
	return r == 0;
}

bool template_named(const struct recipe *r, const char *name, struct bytes *tpl)
{
	for (size_t at = 0; recipe_find(r, "template", at, &at); at++) {
		struct bytes b = r->s[at].body, f;
		if (field_next(&b, &f) == 1 && field_is(f, name) && field_next(&b, tpl) == 1)
			return true;
	}
	return false;
}

static bool same(const uint8_t *got, size_t n, struct bytes want)
{
	return got && n == want.n && memcmp(got, want.p, n) == 0;
}

/* "dev ino size mtime-ns", as src/recipe/leave.ts writes it (mtime in whole nanoseconds: seconds, then 9 digits) */
static bool identity_is(const char *path, struct bytes want)
{
	struct stat st;
	if (stat(path, &st) < 0 || st.st_mtim.tv_sec <= 0)
		return false;
	char buf[128];
	int n = snprintf(buf, sizeof buf, "%llu %llu %lld %lld%09ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return n > 0 && (size_t)n == want.n && memcmp(buf, want.p, want.n) == 0;
}

static const char *kind_of(const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR: return "dir";
	case S_IFREG: return "file";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	}
	return "other";
}

/* the cgroup mounts of mountinfo as "root mountpoint fstype options" lines (cgroup-log.ts cgroupMountLines) */
static void cgroup_mounts(const char *mi, struct out *o)
{
	bool first = true;
	for (const char *line = mi; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *l = strndup(line, len), *f[64];
		int nf = 0;
		for (char *save, *t = strtok_r(l, " ", &save); t && nf < 64; t = strtok_r(NULL, " ", &save))
			f[nf++] = t;
		int dash = -1;
		for (int i = 0; i < nf; i++)
			if (strcmp(f[i], "-") == 0) {
				dash = i;
				break;
			}
		if (dash >= 6 && dash + 1 < nf && (!strcmp(f[dash + 1], "cgroup") || !strcmp(f[dash + 1], "cgroup2"))) {
			if (!first)
				out_str(o, "\n");
			first = false;
			out_str(o, f[3]);
			out_str(o, " ");
			out_str(o, f[4]);
			out_str(o, " ");
			out_str(o, f[dash + 1]);
			out_str(o, " ");
			out_str(o, dash + 3 < nf ? f[dash + 3] : "");
		}
		free(l);
		line += len + (nl ? 1 : 0);
	}
}

static bool guard_holds(struct bytes g, const char *rootfs)
{
	struct bytes kind, a, b, c;
	if (field_next(&g, &kind) != 1 || field_next(&g, &a) != 1)
		return false;
	char *path = field_str(a);
	bool ok = false;
	size_t n = 0;
	uint8_t *got = NULL;
	if (!path)
		return false;
	if (field_is(kind, "file") && field_next(&g, &b) == 1 && field_next(&g, &c) == 1) {
		got = read_path(path, &n);
		ok = field_is(b, "0") ? got == NULL : same(got, n, c);
	} else if (field_is(kind, "status-field") && field_next(&g, &b) == 1 && field_next(&g, &c) == 1) {
		got = read_path(path, &n);
		char *want = field_str(b), *line = got && want ? strstr((char *)got, want) : NULL;
		if (line && (line == (char *)got || line[-1] == '\n') && line[strlen(want)] == ':') {
			char *v = line + strlen(want) + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vl = strcspn(v, "\n");
			ok = vl == c.n && memcmp(v, c.p, vl) == 0;
		}
		free(want);
	} else if (field_is(kind, "cgroup-mounts")) {
		got = read_path("/proc/self/mountinfo", &n);
		struct out o = { 0 };
		out_add(&o, "", 0);
		if (got)
			cgroup_mounts((char *)got, &o);
		ok = got && o.n == a.n && memcmp(o.p, a.p, a.n) == 0;
		free(o.p);
	} else if (field_is(kind, "stat") && field_next(&g, &b) == 1) {
		struct stat st;
		ok = stat(path, &st) < 0 ? errno == ENOENT && field_is(b, "-") : field_is(b, kind_of(&st));
	} else if (field_is(kind, "realpath") && field_next(&g, &b) == 1) {
		char *rp = realpath(path, NULL);
		ok = rp && field_is(b, rp);
		free(rp);
	} else if (field_is(kind, "rootfs-file") && field_next(&g, &b) == 1 && field_next(&g, &c) == 1 && rootfs) {
		/* resolved inside the rootfs, as host.ts readRootfsFile does */
		int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
		int fd = root < 0 ? -1 : (int)syscall(SYS_openat2, root, path[0] == '/' ? path + 1 : path, &how, sizeof how);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			got = slurp(fd, FACT_MAX, &n);
		ok = field_is(b, "0") ? got == NULL : same(got, n, c);
		if (fd >= 0)
			close(fd);
		if (root >= 0)
			close(root);
	}
	free(got);
	free(path);
	return ok;
}

bool recipe_guards_hold(const struct recipe *r)
{
	/* the binaries first: another build plans differently */
	for (size_t at = 0; recipe_find(r, "binary", at, &at); at++) {
		struct bytes b = r->s[at].body, p, id;
		if (field_next(&b, &p) != 1 || field_next(&b, &id) != 1)
			return false;
		char *path = field_str(p);
		bool ok = path && identity_is(path, id);
		free(path);
		if (!ok)
			return false;
	}
	/* the rootfs of a rootfs-file guard: the realpath guard's, which comes before it */
	char *rootfs = NULL;
	bool ok = true;
	for (size_t at = 0; ok && recipe_find(r, "guard", at, &at); at++) {
		struct bytes g = r->s[at].body, kind, a, b;
		if (field_next(&g, &kind) == 1 && field_is(kind, "realpath") && field_next(&g, &a) == 1 && field_next(&g, &b) == 1) {
			free(rootfs);
			rootfs = field_str(b);
		}
		ok = guard_holds(r->s[at].body, rootfs);
	}
	free(rootfs);
	return ok;
}
