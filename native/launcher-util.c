/*
 * launcher-util.c - the few string and file helpers the libc-free launcher's
 * answers (launcher-fast.c, launcher-start.c) need.
 */
#include "launcher-sys.h"

int seq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* s starts with p: the rest, else NULL */
const char *after(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return NULL;
	return s;
}

/* the whole file into buf (NUL-terminated): its length, or -1 (missing, unreadable, too large) */
long read_file(const char *path, char *buf, long cap)
{
	long fd = sys4(NR_openat, AT_FDCWD_, (long)path, 0 /* O_RDONLY */ | 02000000 /* O_CLOEXEC */, 0);
	if (fd < 0)
		return fd == -2 ? -2 : -1; /* -2: ENOENT */
	long n = 0, r;
	while ((r = sys3(NR_read, fd, (long)(buf + n), cap - 1 - n)) > 0)
		n += r;
	sys3(NR_close, fd, 0, 0);
	if (r < 0 || n >= cap - 1)
		return -1;
	buf[n] = '\0';
	return n;
}

/* a decimal number ending at a space, newline or NUL; -1 if none */
long number(const char **s)
{
	const char *p = *s;
	long v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		if (v > 100000000000000L)
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	*s = p;
	return v;
}

/* dst = a + b + c (at most cap bytes with the NUL); 0 when too long */
int join3(char *dst, long cap, const char *a, const char *b, const char *c)
{
	long n = 0;
	for (const char *part[3] = { a, b, c }, **p = part; p < part + 3; p++)
		for (const char *s = *p; *s; s++) {
			if (n >= cap - 1)
				return 0;
			dst[n++] = *s;
		}
	dst[n] = '\0';
	return 1;
}

__attribute__((noreturn)) void leave(int code)
{
	sys3(NR_exit, code, 0, 0);
	__builtin_unreachable();
}

/* Field n (3 or more) of a /proc/PID/stat text, else NULL. The fields are
 * counted after the last ')': the process name may hold any character. */
char *stat_field(char *stat, int n)
{
	char *rp = NULL;
	for (char *s = stat; *s; s++)
		if (*s == ')')
			rp = s;
	if (!rp || rp[1] != ' ')
		return NULL;
	char *f = rp + 2;
	for (int field = 3; field < n; field++) {
		while (*f && *f != ' ')
			f++;
		if (!*f)
			return NULL;
		f++;
	}
	return f;
}

/* CRC-32 (IEEE, as zlib and Bun.hash.crc32) */
unsigned crc32(const char *p, long n)
{
	unsigned c = 0xffffffffu;
	while (n-- > 0) {
		c ^= (unsigned char)*p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

char *decimal(long v, char *end)
{
	*--end = '\0';
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	return end;
}
