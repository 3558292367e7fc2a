/*
 * build/tsrun: starts the Bun-compiled runtime (build/tsrun-bun, beside this
 * file) with JavaScriptCore's JIT turned off. An engine starts tsrun afresh
 * for every command, and each lives a few milliseconds: setting up the JIT
 * costs such a process 1-2 ms of page faults, more than the JIT ever pays
 * back (bench/ measures it). JSC reads its options from the environment
 * before any JavaScript runs, hence a launcher; linked statically, its own
 * exec costs under 0.1 ms. BUN_JSC_useJIT already set is left alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNTIME "tsrun-bun"

int main(int argc, char **argv)
{
	(void)argc;
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path);
	if (n < 0 || (size_t)n >= sizeof path) {
		fprintf(stderr, "tsrun: cannot find its own executable (/proc/self/exe): %s\n", n < 0 ? strerror(errno) : "path too long");
		return 1;
	}
	path[n] = '\0';
	char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	if (dirlen + sizeof RUNTIME > sizeof path) {
		fprintf(stderr, "tsrun: path too long: %s\n", path);
		return 1;
	}
	memcpy(path + dirlen, RUNTIME, sizeof RUNTIME);
	if (setenv("BUN_JSC_useJIT", "0", 0) < 0) {
		fprintf(stderr, "tsrun: setenv: %s\n", strerror(errno));
		return 1;
	}
	execv(path, argv);
	fprintf(stderr, "tsrun: cannot run %s: %s\n", path, strerror(errno));
	return 1;
}
