/*
 * launcher-sys.h - what the libc-free launcher (launcher.c, launcher-fast.c)
 * has instead of libc: system calls through inline assembly, for x86_64
 * and aarch64, and the two functions the compiler may call.
 */
#ifndef TSRUN_LAUNCHER_SYS_H
#define TSRUN_LAUNCHER_SYS_H
#include <stddef.h>

#define AT_FDCWD_ -100

#if defined(__x86_64__)
enum {
	NR_read = 0, NR_write = 1, NR_close = 3, NR_execve = 59, NR_exit = 60, NR_kill = 62, NR_geteuid = 107,
	NR_openat = 257, NR_readlinkat = 267, NR_faccessat = 269, NR_getpid = 39, NR_symlinkat = 266, NR_unlinkat = 263,
	NR_nanosleep = 35, NR_getdents64 = 217,
};
static inline long sys4(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}
#elif defined(__aarch64__)
enum {
	NR_read = 63, NR_write = 64, NR_close = 57, NR_execve = 221, NR_exit = 93, NR_kill = 129, NR_geteuid = 175,
	NR_openat = 56, NR_readlinkat = 78, NR_faccessat = 48, NR_getpid = 172, NR_symlinkat = 36, NR_unlinkat = 35,
	NR_nanosleep = 101, NR_getdents64 = 61,
};
static inline long sys4(long n, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
}
#else
#error "the launcher is written for x86_64 and aarch64 (where Bun runs)"
#endif

static inline long sys3(long n, long a, long b, long c)
{
	return sys4(n, a, b, c, 0);
}

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

#define PATH_MAX_ 4096

/* launcher-util.c */
int seq(const char *a, const char *b);                 /* equal strings */
const char *after(const char *s, const char *prefix); /* the rest of s after prefix, else NULL */
long read_file(const char *path, char *buf, long cap); /* its length; -2 missing, -1 other failure */
long number(const char **s);                           /* a decimal at *s (moved past), else -1 */
char *decimal(long v, char *end);                      /* v in decimal, NUL-terminated, ending before end */
int join3(char *dst, long cap, const char *a, const char *b, const char *c); /* 0 when too long */
__attribute__((noreturn)) void leave(int code);
char *stat_field(char *stat, int n);                  /* field n of /proc/PID/stat, else NULL */
unsigned crc32(const char *p, long n);                /* CRC-32 (IEEE) */
/* launcher-create.c: `create` from a recipe (tsrun-init --replay) when there is one; returns otherwise */
void replay_create(long argc, char **argv, char **envp);

/* launcher-fast.c: answers `state`, `kill` and `start` from the container's
 * answers file when it can; returns when Bun must answer. */
struct answers {
	long pid;
	const char *start; /* "-": not recorded */
	const char *fifo;
	char freezer;      /* 'n', '1' (v1) or '2' (v2) */
	const char *freezer_dir;
	const char *doc[4]; /* running, created, paused, stopped */
	long doc_len[4];
	int startable;      /* start may be done here: a process to run, no poststart hooks */
	int deletable;      /* delete may be done here: nothing but files and cgroup directories to remove */
	const char *procs;  /* the cgroup.procs that must be empty, or "-" */
	int nrmdir;
	const char *rmdir[16]; /* the cgroup directories, as destroy.ts removes them */
};
/* NULL when Bun is to answer as always; else an environment entry for Bun (start's error, told by Bun) */
const char *fast_path(long argc, char **argv, char **envp);
int alive(const struct answers *a); /* the init is the same live process */

/* launcher-start.c: the container's lock, as src/state/lock.ts takes it (1 taken, 0 not: Bun waits for it) */
int take_lock(const char *root, const char *id);
void release_lock(void);
/* start of a created container, lock held: exits on success; NULL if nothing was done (Bun starts it); else
 * the environment entry that gives Bun start's error to tell */
const char *start_container(const struct answers *a, const char *id);

/* launcher-delete.c: delete of a stopped container, lock held: exits on success, returns to hand over */
void delete_container(const struct answers *a, const char *dir);

#endif
