/*
 * process.c - process attributes: hostname, sysctls, loopback, rlimits,
 * personality, keyring, umask, scheduling, CPU affinity, LSM labels.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

void set_hostname_sysctl(struct plan *p)
{
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		die(errno, "set hostname \"%s\"", p->hostname);
	if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
		die(errno, "set domainname \"%s\"", p->domainname);
	for (size_t i = 0; i < p->nsysctls; i++) {
		const struct sysctl_ent *k = &p->sysctls[i];
		char *path = xasprintf("/proc/sys/%s", k->path);
		if (write_file_at(AT_FDCWD, path, k->value, strlen(k->value)) < 0)
			die(errno, "write sysctl \"%s\" = \"%s\"", path, k->value);
		free(path);
	}
}

/* A new network namespace starts with lo down; programs expect 127.0.0.1. */
void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die(errno, "open a socket to bring up \"lo\"");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die(errno, "get flags of \"lo\"");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die(errno, "bring up \"lo\"");
	close(s);
}

static const char *rlimit_name(uint64_t t)
{
	static const char *names[] = {
		"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
		"RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
		"RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
		"RLIMIT_RTPRIO", "RLIMIT_RTTIME",
	};
	return t < sizeof names / sizeof names[0] ? names[t] : "RLIMIT_?";
}

/* pid 0: this process. Stage 0 also calls this for the child (see main.c). */
void apply_rlimits(struct plan *p, pid_t pid)
{
	for (size_t i = 0; i < p->nrlimits; i++) {
		const struct rlimit_ent *r = &p->rlimits[i];
		struct rlimit rl = { .rlim_cur = r->soft, .rlim_max = r->hard };
		if (prlimit(pid, (__rlimit_resource_t)r->type, &rl, NULL) < 0)
			die(errno, "set %s to soft %llu, hard %llu", rlimit_name(r->type),
			    (unsigned long long)r->soft, (unsigned long long)r->hard);
	}
}

void set_rlimits(struct plan *p)
{
	apply_rlimits(p, 0);
}

/* A keyring of its own, so that the container does not see the keys of the
 * runtime's session. As runc, make it searchable by its user too. */
static void join_session_keyring(const char *name)
{
	/* KEYCTL_JOIN_SESSION_KEYRING = 1, KEYCTL_DESCRIBE = 6, KEYCTL_SETPERM = 5 */
	long id = syscall(SYS_keyctl, 1, name);
	if (id < 0) {
		if (errno == ENOSYS) {
			warnmsg("no session keyring: the kernel has no keyctl");
			return;
		}
		die(errno, "join a new session keyring \"%s\"", name);
	}
	char desc[512];
	long n = syscall(SYS_keyctl, 6, id, desc, sizeof desc);
	if (n < 0 || (size_t)n > sizeof desc)
		die(n < 0 ? errno : EOVERFLOW, "describe the session keyring \"%s\"", name);
	desc[sizeof desc - 1] = '\0';
	/* "type;uid;gid;perm;description", perm in hex */
	char *f = desc;
	for (int i = 0; i < 3 && f; i++) {
		f = strchr(f, ';');
		if (f)
			f++;
	}
	if (!f)
		die(0, "describe the session keyring \"%s\": unexpected \"%s\"", name, desc);
	unsigned long perm = strtoul(f, NULL, 16);
	if (syscall(SYS_keyctl, 5, id, perm | 0x80000 /* KEY_USR_SEARCH */) < 0)
		die(errno, "set the permissions of the session keyring \"%s\"", name);
}

void set_process_attrs(struct plan *p)
{
	if (p->has_personality && personality((unsigned long)p->personality) < 0)
		die(errno, "set personality %#llx", (unsigned long long)p->personality);
	if (p->new_keyring)
		join_session_keyring(p->new_keyring);
	if (p->has_umask)
		umask((mode_t)p->umask);
}

/* struct sched_attr, SCHED_ATTR_SIZE_VER0 */
struct sched_attr_v0 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

void set_sched(struct plan *p)
{
	if (!p->has_sched)
		return;
	struct sched_attr_v0 a = {
		.size = sizeof a,
		.policy = (uint32_t)p->sched.policy,
		.flags = p->sched.flags,
		.nice = (int32_t)p->sched.nice,
		.priority = (uint32_t)p->sched.priority,
		.runtime = p->sched.runtime,
		.deadline = p->sched.deadline,
		.period = p->sched.period,
	};
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		die(errno, "sched_setattr policy %u", a.policy);
}

static const char *mpol_mode_name(uint64_t mode)
{
	static const char *names[] = {
		"MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE",
		"MPOL_LOCAL", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE",
	};
	return mode < sizeof names / sizeof names[0] ? names[mode] : "MPOL_?";
}

/* linux.memoryPolicy: inherited by the process we execve (set_mempolicy(2)).
 * The kernel is the judge of which modes, flags and nodes go together. */
void set_memory_policy(struct plan *p)
{
	const struct mempolicy *m = &p->mempolicy;
	if (!p->has_mempolicy)
		return;
	/* maxnode counts one more than the bits the kernel reads */
	unsigned long maxnode = m->nwords ? m->nwords * 64 + 1 : 0;
	if (syscall(SYS_set_mempolicy, (int)(m->mode | m->flags), m->nodes, maxnode) == 0)
		return;
	int err = errno;
	char flags[96] = "", nodes[64] = "none";
	static const struct { uint64_t bit; const char *name; } fl[] = {
		{ 1u << 15, "MPOL_F_STATIC_NODES" }, { 1u << 14, "MPOL_F_RELATIVE_NODES" },
		{ 1u << 13, "MPOL_F_NUMA_BALANCING" },
	};
	for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
		if (m->flags & fl[i].bit)
			snprintf(flags + strlen(flags), sizeof flags - strlen(flags), " %s", fl[i].name);
	if (m->nwords)
		snprintf(nodes, sizeof nodes, "mask %#llx%s", (unsigned long long)m->nodes[0], m->nwords > 1 ? "..." : "");
	die(err, "$.linux.memoryPolicy: the kernel refuses set_mempolicy %s%s%s, nodes %s", mpol_mode_name(m->mode),
	    *flags ? " with" : "", flags, nodes);
}

/* "0-3,7" as in cpuset lists */
void set_cpu_affinity(const char *list, const char *which)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	const char *s = list;
	while (*s) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			goto bad;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || b < a)
				goto bad;
		}
		if (b >= CPU_SETSIZE)
			goto bad;
		for (unsigned long c = a; c <= b; c++)
			CPU_SET(c, &set);
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			goto bad;
	}
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		die(errno, "set %s CPU affinity \"%s\"", which, list);
	return;
bad:
	die(0, "set %s CPU affinity: bad CPU list \"%s\"", which, list);
}

static int write_attr(const char *a, const char *b, const char *val)
{
	if (write_file_at(AT_FDCWD, a, val, strlen(val)) == 0)
		return 0;
	if (errno != ENOENT || !b)
		return -1;
	return write_file_at(AT_FDCWD, b, val, strlen(val));
}

/* LSM labels take effect at the execve. */
void set_exec_labels(struct plan *p)
{
	if (p->apparmor && *p->apparmor) {
		char *v = xasprintf("exec %s", p->apparmor);
		if (write_attr("/proc/self/attr/apparmor/exec", "/proc/self/attr/exec", v) < 0)
			die(errno, "set AppArmor profile \"%s\"", p->apparmor);
		free(v);
	}
	if (p->selinux && *p->selinux &&
	    write_attr("/proc/self/attr/selinux/exec", "/proc/self/attr/exec", p->selinux) < 0)
		die(errno, "set SELinux label \"%s\"", p->selinux);
}
