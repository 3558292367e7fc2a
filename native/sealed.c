/*
 * sealed.c - run from a sealed in-memory copy of ourselves (the
 * CVE-2019-5736 class).
 *
 * While the init waits in the created state, or joins a container for
 * exec, processes of the container can reach /proc/<init pid>/exe. Were
 * that build/tsrun-init on the host, a hostile container could open it for
 * writing (once we exec'd) and replace the init every later container runs.
 * So the init first copies itself into a memfd, seals it against any change
 * and re-executes from it: /proc/PID/exe is then "/memfd:tsrun-init
 * (deleted)", a private copy that refuses writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable even under vm.memfd_noexec=1 */
#endif

static void copy_fd(int src, int dst, off_t size)
{
	off_t done = 0;
	while (done < size) {
		ssize_t n = sendfile(dst, src, NULL, (size_t)(size - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS))
			break; /* no sendfile between these: plain copy below */
		if (n <= 0)
			die(n < 0 ? errno : EIO, "copy tsrun-init into a memfd");
		done += n;
	}
	char buf[65536];
	while (done < size) {
		ssize_t n = read(src, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(dst, buf, (size_t)n) < 0)
			die(n < 0 ? errno : EIO, "copy tsrun-init into a memfd");
		done += n;
	}
}

void reexec_sealed(char **argv, char **envp)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die(errno, "open \"/proc/self/exe\"");
	/* the cheap check: after the re-exec this is the sealed memfd */
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS) {
		close(self);
		/* the name ps and pgrep show, not "memfd:tsrun-ini" */
		prctl(PR_SET_NAME, "tsrun-init", 0, 0, 0);
		return;
	}
	struct stat st;
	if (fstat(self, &st) < 0)
		die(errno, "stat \"/proc/self/exe\"");
	/* CLOEXEC: the memfd itself must not reach the container */
	int mfd = memfd_create("tsrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL) /* before 6.3 */
		mfd = memfd_create("tsrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		die(errno, "memfd_create for a sealed copy of tsrun-init%s",
		    errno == EACCES ? " (vm.memfd_noexec forbids executable memfds)" : "");
	copy_fd(self, mfd, st.st_size);
	close(self);
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		die(errno, "seal the memfd copy of tsrun-init");
	/* argv and every fd without CLOEXEC (stdio, preserved fds, the sync
	 * socket) pass through unchanged */
	syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
	die(errno, "re-execute tsrun-init from its sealed memfd copy");
}
