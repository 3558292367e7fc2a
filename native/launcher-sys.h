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
	NR_openat = 257, NR_readlinkat = 267, NR_faccessat = 269,
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
	NR_openat = 56, NR_readlinkat = 78, NR_faccessat = 48,
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

/* launcher-fast.c: answers `state` and `kill` from the container's answers
 * file when it can; returns when Bun must answer. */
void fast_path(long argc, char **argv, char **envp);

#endif
