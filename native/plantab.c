/*
 * plantab.c - the tag table of plan.h (names, payload kinds, scopes) and the
 * record walker shared by the decoder and --dump-plan.
 */
#include <endian.h>
#include <string.h>

#include "init.h"
#include "plantab.h"

/* the sizeof term is a static assertion: a char array of size -1 for a tag
 * the decoder's seen-bitmap cannot hold (PLAN_TAG_LIMIT) does not compile */
#define T(t, k, f, s, i, r) { (t) + 0 * sizeof(char[(t) < PLAN_TAG_LIMIT ? 1 : -1]), #t, k, f, s, i, r }
static const struct tag_info table[] = {
	T(MSG_PLAN, RK_GROUP, RF_NONE, SC_MSG, SC_PLAN, false),
	T(MSG_HOOKS_DONE, RK_STR, RF_NONE, SC_MSG, 0, false),
	T(MSG_PID_ACK, RK_EMPTY, RF_NONE, SC_MSG, 0, false),
	T(MSG_PID, RK_U64, RF_DEC, SC_MSG, 0, false),
	T(MSG_HOOKS, RK_EMPTY, RF_NONE, SC_MSG, 0, false),
	T(MSG_READY, RK_EMPTY, RF_NONE, SC_MSG, 0, false),
	T(MSG_ERROR, RK_STR, RF_NONE, SC_MSG, 0, false),
	T(MSG_WARN, RK_STR, RF_NONE, SC_MSG, 0, false),
	T(MSG_EXIT, RK_U64, RF_DEC, SC_MSG, 0, false),
	T(MSG_STARTED, RK_EMPTY, RF_NONE, SC_MSG, 0, false),
	T(MSG_CRIU_START, RK_BYTES, RF_NONE, SC_MSG, 0, false),
	T(MSG_CRIU_REQ, RK_BYTES, RF_NONE, SC_MSG, 0, false),
	T(MSG_CRIU_CLOSE, RK_EMPTY, RF_NONE, SC_MSG, 0, false),
	T(MSG_CRIU_WAIT, RK_U64, RF_DEC, SC_MSG, 0, false),
	T(MSG_CRIU_RESP, RK_BYTES, RF_NONE, SC_MSG, 0, false),
	T(MSG_CRIU_EXIT, RK_U64, RF_DEC, SC_MSG, 0, false),

	T(P_MODE, RK_U64, RF_DEC, SC_PLAN, 0, false),
	T(P_WAIT, RK_U64, RF_BOOL, SC_PLAN, 0, false),
	T(P_PID_ACK, RK_U64, RF_BOOL, SC_PLAN, 0, false),
	T(P_NS_JOIN, RK_GROUP, RF_NONE, SC_PLAN, SC_NS, true),
	T(P_CLONE_FLAGS, RK_U64, RF_HEX, SC_PLAN, 0, false),
	T(P_UID_MAP, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_GID_MAP, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_TIMENS_OFFSETS, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_SETGROUPS_DENY, RK_U64, RF_BOOL, SC_PLAN, 0, false),
	T(P_UIDMAP_HELPER, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_GIDMAP_HELPER, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_CGROUP_PROCS, RK_STR, RF_NONE, SC_PLAN, 0, true),
	T(P_ROOTFS, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_ROOTFS_PROPAGATION, RK_U64, RF_HEX, SC_PLAN, 0, false),
	T(P_MOUNT, RK_GROUP, RF_NONE, SC_PLAN, SC_MOUNT, true),
	T(P_DEVICE, RK_GROUP, RF_NONE, SC_PLAN, SC_DEVICE, true),
	T(P_SYMLINK, RK_GROUP, RF_NONE, SC_PLAN, SC_SYMLINK, true),
	T(P_NO_PIVOT, RK_U64, RF_BOOL, SC_PLAN, 0, false),
	T(P_MASKED_PATH, RK_STR, RF_NONE, SC_PLAN, 0, true),
	T(P_READONLY_PATH, RK_STR, RF_NONE, SC_PLAN, 0, true),
	T(P_ROOT_READONLY, RK_U64, RF_BOOL, SC_PLAN, 0, false),
	T(P_HOSTNAME, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_DOMAINNAME, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_SYSCTL, RK_GROUP, RF_NONE, SC_PLAN, SC_SYSCTL, true),
	T(P_HOST_MOUNTS, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_CHROOT, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_RLIMIT, RK_GROUP, RF_NONE, SC_PLAN, SC_RLIMIT, true),
	T(P_OOM_SCORE_ADJ, RK_U64, RF_SIGNED, SC_PLAN, 0, false),
	T(P_PERSONALITY, RK_U64, RF_HEX, SC_PLAN, 0, false),
	T(P_NEW_KEYRING, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_UID, RK_U64, RF_DEC, SC_PLAN, 0, false),
	T(P_GID, RK_U64, RF_DEC, SC_PLAN, 0, false),
	T(P_ADDITIONAL_GID, RK_U64, RF_DEC, SC_PLAN, 0, true),
	T(P_UMASK, RK_U64, RF_OCT, SC_PLAN, 0, false),
	T(P_CWD, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_ARG, RK_STR, RF_NONE, SC_PLAN, 0, true),
	T(P_ENV, RK_STR, RF_NONE, SC_PLAN, 0, true),
	T(P_CAPS, RK_GROUP, RF_NONE, SC_PLAN, SC_CAPS, false),
	T(P_NO_NEW_PRIVS, RK_U64, RF_BOOL, SC_PLAN, 0, false),
	T(P_SECCOMP_BPF, RK_BYTES, RF_NONE, SC_PLAN, 0, false),
	T(P_SECCOMP_FLAGS, RK_U64, RF_HEX, SC_PLAN, 0, false),
	T(P_SECCOMP_LISTENER, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_SECCOMP_METADATA, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_FIFO_PATH, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_PRESERVE_FDS, RK_U64, RF_DEC, SC_PLAN, 0, false),
	T(P_TERMINAL, RK_U64, RF_BOOL, SC_PLAN, 0, false),
	T(P_CONSOLE_SOCKET, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_CONSOLE_HEIGHT, RK_U64, RF_DEC, SC_PLAN, 0, false),
	T(P_CONSOLE_WIDTH, RK_U64, RF_DEC, SC_PLAN, 0, false),
	T(P_HOOK, RK_GROUP, RF_NONE, SC_PLAN, SC_HOOK, true),
	T(P_APPARMOR, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_SELINUX, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_STATE_JSON, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_SCHED, RK_GROUP, RF_NONE, SC_PLAN, SC_SCHED, false),
	T(P_IOPRIO, RK_U64, RF_DEC, SC_PLAN, 0, false),
	T(P_CPU_AFFINITY_INITIAL, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_CPU_AFFINITY_FINAL, RK_STR, RF_NONE, SC_PLAN, 0, false),
	T(P_MEMPOLICY, RK_GROUP, RF_NONE, SC_PLAN, SC_MEMPOLICY, false),
	T(P_NETDEV, RK_GROUP, RF_NONE, SC_PLAN, SC_NETDEV, true),

	T(NS_TYPE, RK_U64, RF_HEX, SC_NS, 0, false),
	T(NS_PATH, RK_STR, RF_NONE, SC_NS, 0, false),

	T(M_SOURCE, RK_STR, RF_NONE, SC_MOUNT, 0, false),
	T(M_DEST, RK_STR, RF_NONE, SC_MOUNT, 0, false),
	T(M_TYPE, RK_STR, RF_NONE, SC_MOUNT, 0, false),
	T(M_FLAGS, RK_U64, RF_HEX, SC_MOUNT, 0, false),
	T(M_DATA, RK_STR, RF_NONE, SC_MOUNT, 0, false),
	T(M_PROPAGATION, RK_U64, RF_HEX, SC_MOUNT, 0, true),
	T(M_REMOUNT_FLAGS, RK_U64, RF_HEX, SC_MOUNT, 0, false),
	T(M_DEST_IS_FILE, RK_U64, RF_BOOL, SC_MOUNT, 0, false),
	T(M_ATTR_SET, RK_U64, RF_HEX, SC_MOUNT, 0, false),
	T(M_ATTR_CLR, RK_U64, RF_HEX, SC_MOUNT, 0, false),
	T(M_IDMAP_USERNS, RK_STR, RF_NONE, SC_MOUNT, 0, false),
	T(M_IDMAP_UID_MAP, RK_STR, RF_NONE, SC_MOUNT, 0, false),
	T(M_IDMAP_GID_MAP, RK_STR, RF_NONE, SC_MOUNT, 0, false),
	T(M_IDMAP_RECURSIVE, RK_U64, RF_BOOL, SC_MOUNT, 0, false),
	T(M_TMPCOPYUP, RK_U64, RF_BOOL, SC_MOUNT, 0, false),

	T(D_PATH, RK_STR, RF_NONE, SC_DEVICE, 0, false),
	T(D_TYPE, RK_U64, RF_OCT, SC_DEVICE, 0, false),
	T(D_MAJOR, RK_U64, RF_DEC, SC_DEVICE, 0, false),
	T(D_MINOR, RK_U64, RF_DEC, SC_DEVICE, 0, false),
	T(D_MODE, RK_U64, RF_OCT, SC_DEVICE, 0, false),
	T(D_UID, RK_U64, RF_DEC, SC_DEVICE, 0, false),
	T(D_GID, RK_U64, RF_DEC, SC_DEVICE, 0, false),
	T(D_BIND, RK_U64, RF_BOOL, SC_DEVICE, 0, false),

	T(L_TARGET, RK_STR, RF_NONE, SC_SYMLINK, 0, false),
	T(L_PATH, RK_STR, RF_NONE, SC_SYMLINK, 0, false),

	T(K_PATH, RK_STR, RF_NONE, SC_SYSCTL, 0, false),
	T(K_VALUE, RK_STR, RF_NONE, SC_SYSCTL, 0, false),

	T(R_TYPE, RK_U64, RF_DEC, SC_RLIMIT, 0, false),
	T(R_SOFT, RK_U64, RF_DEC, SC_RLIMIT, 0, false),
	T(R_HARD, RK_U64, RF_DEC, SC_RLIMIT, 0, false),

	T(C_BOUNDING, RK_U64, RF_HEX, SC_CAPS, 0, false),
	T(C_EFFECTIVE, RK_U64, RF_HEX, SC_CAPS, 0, false),
	T(C_PERMITTED, RK_U64, RF_HEX, SC_CAPS, 0, false),
	T(C_INHERITABLE, RK_U64, RF_HEX, SC_CAPS, 0, false),
	T(C_AMBIENT, RK_U64, RF_HEX, SC_CAPS, 0, false),

	T(H_KIND, RK_U64, RF_DEC, SC_HOOK, 0, false),
	T(H_PATH, RK_STR, RF_NONE, SC_HOOK, 0, false),
	T(H_ARG, RK_STR, RF_NONE, SC_HOOK, 0, true),
	T(H_ENV, RK_STR, RF_NONE, SC_HOOK, 0, true),
	T(H_TIMEOUT, RK_U64, RF_DEC, SC_HOOK, 0, false),

	T(S_POLICY, RK_U64, RF_DEC, SC_SCHED, 0, false),
	T(S_NICE, RK_U64, RF_SIGNED, SC_SCHED, 0, false),
	T(S_PRIORITY, RK_U64, RF_DEC, SC_SCHED, 0, false),
	T(S_FLAGS, RK_U64, RF_HEX, SC_SCHED, 0, false),
	T(S_RUNTIME, RK_U64, RF_DEC, SC_SCHED, 0, false),
	T(S_DEADLINE, RK_U64, RF_DEC, SC_SCHED, 0, false),
	T(S_PERIOD, RK_U64, RF_DEC, SC_SCHED, 0, false),

	T(MP_MODE, RK_U64, RF_DEC, SC_MEMPOLICY, 0, false),
	T(MP_FLAGS, RK_U64, RF_HEX, SC_MEMPOLICY, 0, false),
	T(MP_NODES, RK_BYTES, RF_NONE, SC_MEMPOLICY, 0, false),

	T(N_NAME, RK_STR, RF_NONE, SC_NETDEV, 0, false),
	T(N_NEW_NAME, RK_STR, RF_NONE, SC_NETDEV, 0, false),
};

const struct tag_info *tag_info(uint32_t tag)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].tag == tag)
			return &table[i];
	return NULL;
}

const char *tag_name(uint32_t tag)
{
	const struct tag_info *ti = tag_info(tag);
	return ti ? ti->name : "unknown tag";
}

int rec_next(const uint8_t *buf, size_t len, size_t *off, struct rec *r)
{
	if (*off == len)
		return 0;
	if (len - *off < 8)
		return -1;
	uint32_t h[2];
	memcpy(h, buf + *off, 8);
	r->tag = le32toh(h[0]);
	r->len = le32toh(h[1]);
	if (r->len > len - *off - 8)
		return -1;
	r->p = buf + *off + 8;
	*off += 8 + (size_t)r->len;
	return 1;
}

uint64_t rec_u64(const struct rec *r)
{
	uint64_t v;
	memcpy(&v, r->p, 8);
	return le64toh(v);
}
