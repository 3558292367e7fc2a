/*
 * launcher-delete.c - `tsrun delete [--force] ID` of a stopped container
 * without Bun, when the answers file says delete is only removing things
 * (src/state/answers.ts: no systemd unit, resctrl group, host mounts or
 * poststop hook), in the order of src/runtime/destroy.ts: the cgroup
 * directories it lists (nobody left in them), then the state directory,
 * state.json last. Anything else - a live or frozen container, a process
 * in the cgroup, a sub-cgroup, a busy cgroup, a file it does not know in
 * the state directory - hands over to Bun before state.json is touched.
 */
#include "launcher-sys.h"

#define AT_REMOVEDIR_ 0x200
#define ENOENT_ 2

/* the files tsrun keeps in a state directory (ContainerDir), state.json last */
static const char *const FILES[] = { "exec.fifo", "config.json", "answers", "state.json" };

static int known(const char *name)
{
	if (seq(name, ".") || seq(name, ".."))
		return 1;
	for (unsigned i = 0; i < sizeof FILES / sizeof FILES[0]; i++)
		if (seq(name, FILES[i]))
			return 1;
	return 0;
}

/* every entry of dir is one of FILES */
static int only_known_files(const char *dir)
{
	long fd = sys4(NR_openat, AT_FDCWD_, (long)dir, 0 | 02000000 /* O_CLOEXEC */, 0);
	if (fd < 0)
		return 0;
	static char buf[8192];
	int ok = 1;
	long n;
	while (ok && (n = sys3(NR_getdents64, fd, (long)buf, sizeof buf)) > 0) {
		/* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name */
		for (long off = 0; off < n;) {
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof reclen);
			if (!reclen || !known(buf + off + 19))
				ok = 0;
			off += reclen ? reclen : n;
		}
	}
	sys3(NR_close, fd, 0, 0);
	return ok && n == 0;
}

/* the cgroup holds no process (a missing cgroup none) */
static int cgroup_empty(const char *procs)
{
	static char text[4096];
	if (seq(procs, "-"))
		return 1;
	long n = read_file(procs, text, sizeof text);
	return n == -2 || n == 0;
}

void delete_container(const struct answers *a, const char *dir)
{
	if (!cgroup_empty(a->procs) || !only_known_files(dir))
		return;
	for (int i = 0; i < a->nrmdir; i++) {
		long r = sys3(NR_unlinkat, AT_FDCWD_, (long)a->rmdir[i], AT_REMOVEDIR_);
		if (r != 0 && r != -ENOENT_)
			return; /* busy (a process still leaving), or a sub-cgroup: Bun waits and removes the tree */
	}
	char path[PATH_MAX_];
	for (unsigned i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
		if (!join3(path, sizeof path, dir, "/", FILES[i]))
			return;
		long r = sys3(NR_unlinkat, AT_FDCWD_, (long)path, 0);
		if (r != 0 && r != -ENOENT_)
			return;
	}
	if (sys3(NR_unlinkat, AT_FDCWD_, (long)dir, AT_REMOVEDIR_) != 0)
		return; /* something came meanwhile: delete --force by Bun finds no state and removes the rest */
	release_lock();
	leave(0);
}
