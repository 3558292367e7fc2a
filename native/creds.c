/*
 * creds.c - the user, groups and capabilities of the container process, and
 * its seccomp filter (with the notify fd sent to a listener when asked).
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

/* The running kernel's CAP_LAST_CAP: bits above it are ignored, as the
 * plan may name capabilities this kernel does not have. */
static int last_cap(void)
{
	int n = 0;
	while (n < 63 && prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0)
		n++;
	return n;
}

static bool setgroups_denied(void)
{
	char buf[16];
	return read_file("/proc/self/setgroups", buf, sizeof buf) > 0 && strncmp(buf, "deny", 4) == 0;
}

/* As runc: let a non-root user reach its own stdio (e.g. /dev/stdout, the
 * pty). Only the owner changes; where the kernel refuses, leave it be. */
void fix_stdio_owner(struct plan *p)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			continue;
		if (st.st_uid == (uid_t)p->uid || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)))
			continue;
		if (fchown(fd, (uid_t)p->uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM &&
		    errno != EROFS)
			die(errno, "chown stdio fd %d to uid %llu", fd, (unsigned long long)p->uid);
	}
}

static void set_groups(struct plan *p)
{
	if (p->nadd_gids == 0) {
		if (setgroups(0, NULL) < 0 && !(errno == EPERM && setgroups_denied()))
			die(errno, "setgroups to no additional groups");
		return;
	}
	gid_t *g = xmalloc(p->nadd_gids * sizeof *g);
	for (size_t i = 0; i < p->nadd_gids; i++)
		g[i] = (gid_t)p->add_gids[i];
	if (setgroups(p->nadd_gids, g) < 0)
		die(errno, "setgroups to %zu additional groups", p->nadd_gids);
	free(g);
}

/* Order matters: the bounding set needs CAP_SETPCAP, which the user switch
 * may take away; KEEPCAPS keeps the permitted set across setresuid so that
 * capset can then pick the final sets from it. */
void apply_credentials(struct plan *p)
{
	int last = last_cap();
	uint64_t valid = last >= 63 ? ~0ull : ((1ull << (last + 1)) - 1);
	struct caps c = p->caps;
	c.bounding &= valid;
	c.effective &= valid;
	c.permitted &= valid;
	c.inheritable &= valid;
	c.ambient &= valid;

	if (p->has_caps)
		for (int i = 0; i <= last; i++)
			if (!(c.bounding & (1ull << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0)
				die(errno, "drop capability %d from the bounding set", i);

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die(errno, "prctl(PR_SET_KEEPCAPS)");
	set_groups(p);
	if (setresgid((gid_t)p->gid, (gid_t)p->gid, (gid_t)p->gid) < 0)
		die(errno, "setresgid to %llu", (unsigned long long)p->gid);
	if (setresuid((uid_t)p->uid, (uid_t)p->uid, (uid_t)p->uid) < 0)
		die(errno, "setresuid to %llu", (unsigned long long)p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		die(errno, "prctl(PR_SET_KEEPCAPS)");
	if (!p->has_caps)
		return;

	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)c.effective, .permitted = (uint32_t)c.permitted,
		  .inheritable = (uint32_t)c.inheritable },
		{ .effective = (uint32_t)(c.effective >> 32), .permitted = (uint32_t)(c.permitted >> 32),
		  .inheritable = (uint32_t)(c.inheritable >> 32) },
	};
	if (syscall(SYS_capset, &h, d) < 0)
		die(errno, "capset (effective %#llx, permitted %#llx, inheritable %#llx)",
		    (unsigned long long)c.effective, (unsigned long long)c.permitted,
		    (unsigned long long)c.inheritable);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		die(errno, "clear the ambient capabilities");
	/* the kernel raises an ambient cap only if it is permitted and
	 * inheritable; runc's default config lists ambient caps without
	 * inheritable ones, and runc then leaves them out: so do we */
	for (int i = 0; i <= last; i++)
		if ((c.ambient & (1ull << i)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0 && errno != EPERM)
			die(errno, "raise ambient capability %d", i);
}

/* Appends s to the growing buffer, JSON-escaped when escape is set. */
static void append(char **out, size_t *len, size_t *cap, const char *s, bool escape)
{
	for (; *s; s++) {
		if (*len + 8 > *cap) {
			*cap = *cap * 2 + 64;
			*out = xrealloc(*out, *cap);
		}
		unsigned char ch = (unsigned char)*s;
		if (escape && (ch == '"' || ch == '\\'))
			*len += (size_t)sprintf(*out + *len, "\\%c", ch);
		else if (escape && ch < 0x20)
			*len += (size_t)sprintf(*out + *len, "\\u%04x", ch);
		else
			(*out)[(*len)++] = (char)ch;
	}
	(*out)[*len] = '\0';
}

/* The OCI ContainerProcessState, with the notify fd as SCM_RIGHTS. */
static void send_seccomp_fd(struct plan *p, int sock, int notifyfd, const char *state_json)
{
	size_t cap = 256, len = 0;
	char *buf = xmalloc(cap);
	char pid[64];
	snprintf(pid, sizeof pid, "%d", (int)g_host_pid);
	append(&buf, &len, &cap, "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":", false);
	append(&buf, &len, &cap, pid, false);
	append(&buf, &len, &cap, ",\"metadata\":\"", false);
	append(&buf, &len, &cap, p->seccomp_metadata ? p->seccomp_metadata : "", true);
	append(&buf, &len, &cap, "\",\"state\":", false);
	append(&buf, &len, &cap, state_json && *state_json ? state_json : "{}", false);
	append(&buf, &len, &cap, "}", false);
	if (send_fd(sock, notifyfd, buf, len) < 0)
		die(errno, "send the seccomp notify fd to \"%s\"", p->seccomp_listener);
	free(buf);
}

void load_seccomp(struct plan *p, int listenersock, const char *state_json)
{
	if (!p->seccomp_bpf)
		return;
	struct sock_fprog prog = {
		.len = (unsigned short)(p->seccomp_len / 8),
		.filter = (struct sock_filter *)p->seccomp_bpf,
	};
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)p->seccomp_flags, &prog);
	if (r < 0)
		die(errno, "load the seccomp filter (%zu instructions, flags %#llx)", p->seccomp_len / 8,
		    (unsigned long long)p->seccomp_flags);
	if (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		if (listenersock < 0)
			die(0, "a seccomp filter with a notify listener needs P_SECCOMP_LISTENER");
		send_seccomp_fd(p, listenersock, (int)r, state_json);
		close((int)r);
	}
}
