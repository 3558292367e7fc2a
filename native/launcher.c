/*
 * build/tsrun: starts the Bun-compiled runtime (build/tsrun-bun, beside this
 * file) with JavaScriptCore's JIT turned off. An engine starts tsrun afresh
 * for every command, and each lives a few milliseconds: setting up the JIT
 * costs such a process 1-2 ms of page faults, more than the JIT ever pays
 * back (bench/ measures it). JSC reads its options from the environment
 * before any JavaScript runs, hence a launcher. BUN_JSC_useJIT already set
 * is left alone.
 *
 * It runs before every command, so it uses no libc: a static glibc costs
 * its start-up (about 0.3 ms here: IRELATIVE relocations, tunables, TLS),
 * five system calls through our own _start cost 0.05 ms. Built with
 * -nostdlib -static for x86_64 and aarch64, the machines Bun runs on.
 * Before Bun, launcher-fast.c may answer `state`, `kill` or `start` itself.
 */
#include "launcher-sys.h"

#define RUNTIME "tsrun-bun"
#define JIT_OFF "BUN_JSC_useJIT=0"
#define PATH_MAX_ 4096

/* the kernel leaves argc at (%rsp) (x86_64) or sp (aarch64); x86_64's ABI wants a 16-byte aligned stack at a call */
#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call launcher_main\n hlt\n");
#else
__asm__(".text\n.globl _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n bl launcher_main\n brk #0\n");
#endif

/* the compiler may call these for copies and clears even without libc */
void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}
void *memset(void *d, int c, size_t n)
{
	unsigned char *dp = d;
	while (n--)
		*dp++ = (unsigned char)c;
	return d;
}

static size_t len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	sys3(NR_write, 2, (long)s, (long)len(s));
}

/* the errors execve and readlink give in practice, worded as src/errno.ts
 * (glibc lower-cased); any other by number: no libc here, so no strerror */
static const char *errno_text(long e, char *buf)
{
	switch (e) {
	case 2: return "no such file or directory";
	case 8: return "exec format error";
	case 12: return "cannot allocate memory";
	case 13: return "permission denied";
	case 36: return "file name too long";
	case 40: return "too many levels of symbolic links";
	}
	char *p = buf + 23;
	*p = '\0';
	do
		*--p = (char)('0' + e % 10);
	while ((e /= 10) > 0 && p > buf + 6);
	p -= 6;
	memcpy(p, "errno ", 6);
	return p;
}

static __attribute__((noreturn)) void fail(const char *what, const char *path, long e)
{
	say("tsrun: ");
	say(what);
	say(path);
	if (e) {
		char buf[24];
		say(": ");
		say(errno_text(e, buf));
	}
	say("\n");
	sys3(NR_exit, 1, 0, 0);
	__builtin_unreachable();
}

static int starts_with(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

__attribute__((noreturn, used)) void launcher_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	const char *extra = fast_path(argc, argv, envp);

	char path[PATH_MAX_];
	long n = sys4(NR_readlinkat, AT_FDCWD_, (long)"/proc/self/exe", (long)path, sizeof path);
	if (n < 0)
		fail("cannot find its own executable (/proc/self/exe)", "", -n);
	if ((size_t)n >= sizeof path)
		fail("path too long: ", "/proc/self/exe", 0);
	size_t dirlen = (size_t)n;
	while (dirlen > 0 && path[dirlen - 1] != '/')
		dirlen--;
	if (dirlen + sizeof RUNTIME > sizeof path)
		fail("path too long: ", "/proc/self/exe", 0);
	memcpy(path + dirlen, RUNTIME, sizeof RUNTIME);

	size_t nenv = 0;
	int has_jit = 0;
	for (; envp[nenv]; nenv++)
		has_jit |= starts_with(envp[nenv], "BUN_JSC_useJIT=");
	/* the environment as it came, JIT_OFF first unless the caller chose */
	char *env[nenv + 3];
	size_t k = 0;
	if (!has_jit)
		env[k++] = JIT_OFF;
	if (extra)
		env[k++] = (char *)extra;
	for (size_t i = 0; i < nenv; i++)
		env[k++] = envp[i];
	env[k] = NULL;

	long e = sys3(NR_execve, (long)path, (long)argv, (long)env);
	fail("cannot run ", path, -e);
}
