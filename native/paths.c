/*
 * paths.c - container paths resolved inside the rootfs.
 *
 * Every lookup is openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from an
 * O_PATH fd of the rootfs: ".." and absolute symlinks stop at the rootfs, so
 * a symlink planted in the image (say /evil -> /etc) can never send a mount
 * or a device node to the host. Callers then act on "/proc/self/fd/N" of the
 * returned O_PATH fd, never on a path string.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

static int openat2_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	if (fd < 0 && errno == ENOSYS)
		die(ENOSYS, "openat2 (needs Linux 5.6 or later)");
	return fd;
}

/* Lexically cleans an absolute container path into "a/b/c" ("." for /):
 * empty and "." parts go, ".." drops the previous part (stopping at /). */
static int clean_path(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - p);
		if (l == 0 || (l == 1 && p[0] == '.')) {
			/* skip */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			if (n + (n > 0) + l + 1 > outlen) {
				errno = ENAMETOOLONG;
				return -1;
			}
			if (n > 0)
				out[n++] = '/';
			memcpy(out + n, p, l);
			n += l;
		}
		p = e;
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
	return 0;
}

int open_in_root(int rootfd, const char *path)
{
	char rel[PATH_MAX];
	if (clean_path(path, rel, sizeof rel) < 0)
		return -1;
	return openat2_root(rootfd, rel, O_PATH);
}

/* The last component itself, a symlink included (O_NOFOLLOW), for callers
 * that must refuse one there. */
int open_in_root_nofollow(int rootfd, const char *path)
{
	char rel[PATH_MAX];
	if (clean_path(path, rel, sizeof rel) < 0)
		return -1;
	return openat2_root(rootfd, rel, O_PATH | O_NOFOLLOW);
}

static int mkdir_all_rel(int rootfd, const char *rel)
{
	int fd = openat2_root(rootfd, rel, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT)
		return fd;

	/* Walk from the top: each prefix is resolved again from the rootfs, so
	 * a symlink met on the way is followed inside it, never outside. */
	int cur = openat2_root(rootfd, ".", O_PATH | O_DIRECTORY);
	if (cur < 0)
		return -1;
	char prefix[PATH_MAX];
	size_t n = 0;
	const char *p = rel;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t l = (size_t)(e - p);
		memcpy(prefix + n, p, l);
		n += l;
		prefix[n] = '\0';
		char comp[NAME_MAX + 1];
		if (l > NAME_MAX) {
			close(cur);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, l);
		comp[l] = '\0';

		int next = openat2_root(rootfd, prefix, O_PATH | O_DIRECTORY);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				int saved = errno;
				close(cur);
				errno = saved;
				return -1;
			}
			next = openat2_root(rootfd, prefix, O_PATH | O_DIRECTORY);
		}
		int saved = errno;
		close(cur);
		if (next < 0) {
			errno = saved;
			return -1;
		}
		cur = next;
		if (*e == '/')
			prefix[n++] = '/';
		p = *e ? e + 1 : e;
	}
	return cur;
}

int mkdir_all_in_root(int rootfd, const char *path)
{
	char rel[PATH_MAX];
	if (clean_path(path, rel, sizeof rel) < 0)
		return -1;
	return mkdir_all_rel(rootfd, rel);
}

/* The parent directory (made if missing) and, in *base, the last name. */
int open_parent_in_root(int rootfd, const char *path, const char **base)
{
	static char rel[PATH_MAX];
	if (clean_path(path, rel, sizeof rel) < 0)
		return -1;
	if (strcmp(rel, ".") == 0) {
		errno = EINVAL; /* "/" has no parent to create it in */
		return -1;
	}
	char *slash = strrchr(rel, '/');
	if (!slash) {
		*base = rel;
		return openat2_root(rootfd, ".", O_PATH | O_DIRECTORY);
	}
	*slash = '\0';
	*base = slash + 1;
	return mkdir_all_rel(rootfd, rel);
}

int prepare_dest(int rootfd, const char *path, bool is_file)
{
	if (!is_file)
		return mkdir_all_in_root(rootfd, path);
	int fd = open_in_root(rootfd, path);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	const char *base;
	int dir = open_parent_in_root(rootfd, path, &base);
	if (dir < 0)
		return -1;
	/* O_NOFOLLOW: a dangling symlink here fails instead of creating its target */
	int cfd = openat(dir, base, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
	int saved = errno;
	close(dir);
	if (cfd < 0) {
		errno = saved;
		return -1;
	}
	close(cfd);
	return open_in_root(rootfd, path);
}
