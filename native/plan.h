/*
 * plan.h - the wire format between the TypeScript runtime and tsrun-init.
 *
 * The runtime decides everything; the init only executes. This header and
 * src/plan/tags.ts must agree number for number (test/unit/plan-golden.test.ts
 * and `tsrun-init --dump-plan` keep them in step).
 *
 * Encoding: a sequence of records, all integers little-endian.
 *     record := u32 tag | u32 len | payload[len]
 * Payload kinds (fixed per tag):
 *     U64    exactly 8 bytes (signed values are two's complement)
 *     STR    len bytes, no NUL inside, not NUL-terminated on the wire
 *     BYTES  len raw bytes
 *     GROUP  a nested sequence of records
 * Tags marked (*) may repeat; their order is significant.
 * Unknown tags are an error (the two sides are built together).
 *
 * Cleanup: `tsrun-init --umount-tree PATH` lazily unmounts every mount at
 * or under PATH (P_HOST_MOUNTS), deepest first, and exits 0 once none is left.
 *
 * Channel: the init is started as `tsrun-init <syncfd>`; <syncfd> is a
 * SOCK_STREAM unix socket. Every message on it, both directions, is one
 * record. The runtime first sends MSG_PLAN (a GROUP holding the P_* records).
 */
#ifndef TSRUN_PLAN_H
#define TSRUN_PLAN_H

#define PLAN_MAX_BYTES (16u << 20)

/* ---- messages on the sync socket ---------------------------------------- */
enum msg_tag {
	/* runtime -> init */
	MSG_PLAN = 1,        /* GROUP: the plan */
	MSG_HOOKS_DONE = 2,  /* STR: state JSON for createContainer/startContainer hooks */
	MSG_PID_ACK = 3,     /* empty: the runtime has put the process in its cgroup (P_PID_ACK) */
	/* runtime -> init in --criu mode (criu.c) */
	MSG_CRIU_START = 4,  /* STR0s: criu path, console socket path or "", "1" to keep a pty master */
	MSG_CRIU_REQ = 5,    /* bytes: one criu_req to send as is (the first also lets criu start) */
	MSG_CRIU_CLOSE = 6,  /* empty: no more requests (shutdown our side of CRIU's socket) */
	MSG_CRIU_WAIT = 7,   /* U64: wait for this restored process (our child) and report MSG_EXIT */
	/* init -> runtime */
	MSG_PID = 10,        /* U64: host pid of the container (or exec'd) process */
	MSG_HOOKS = 11,      /* empty: mounts are done, before pivot_root; runtime
	                        runs prestart + createRuntime, then sends MSG_HOOKS_DONE */
	MSG_READY = 12,      /* empty: set up, now waiting on the exec fifo (create)
	                        or about to execve (exec) */
	MSG_ERROR = 13,      /* STR: human message, "what: where: why" */
	MSG_WARN = 14,       /* STR: a warning to log; setup continues */
	MSG_EXIT = 15,       /* U64: wait status of the process (only with P_WAIT) */
	MSG_STARTED = 16,    /* empty: the fifo was opened (start), about to execve */
	MSG_CRIU_RESP = 17,  /* bytes: one criu_resp as CRIU sent it (an fd with it was handled) */
	MSG_CRIU_EXIT = 18,  /* U64: wait status of criu, once its socket is closed */
};

/* ---- plan records (inside MSG_PLAN) ------------------------------------- */
enum plan_tag {
	/* what to do */
	P_MODE = 100,          /* U64: PLAN_MODE_* */
	P_WAIT = 101,          /* U64 bool: the first process stays, waits for the
	                          container process and sends MSG_EXIT (foreground run/exec) */
	P_PID_ACK = 102,       /* U64 bool: after MSG_PID, wait for MSG_PID_ACK before releasing
	                          the process (the systemd driver starts its unit with that pid,
	                          so that stage 0 stays out of the container's cgroup) */

	/* namespaces, in stage 0 (the process the runtime started) */
	P_NS_JOIN = 110,       /* (*) GROUP { NS_TYPE, NS_PATH }: setns before clone;
	                          user namespace entries come first */
	P_CLONE_FLAGS = 111,   /* U64: CLONE_NEW* to create. CLONE_NEWCGROUP is
	                          unshared by the child after it joined its cgroup;
	                          CLONE_NEWTIME is unshared by stage 0 before the clone */
	P_UID_MAP = 112,       /* STR: uid_map contents, "inside outside count\n"... */
	P_GID_MAP = 113,       /* STR: gid_map contents */
	P_TIMENS_OFFSETS = 114,/* STR: timens_offsets contents, "monotonic S NS\n"... */
	P_CGROUP_PROCS = 115,  /* (*) STR: cgroup.procs files the child joins before
	                          it runs; how (tasks "0", clone3 into, or a pid
	                          written by stage 0) is cgjoin.c's choice */
	P_SETGROUPS_DENY = 116,/* U64 bool: write "deny" to setgroups before the
	                          gid map (a rootless single-id map: the kernel
	                          requires it of an unprivileged writer) */
	P_UIDMAP_HELPER = 117, /* STR: newuidmap's path: stage 0 runs it with the
	                          pid and P_UID_MAP's numbers instead of writing */
	P_GIDMAP_HELPER = 118, /* STR: newgidmap's path, for P_GID_MAP */

	/* root filesystem, in the child, in this order */
	P_ROOTFS = 120,        /* STR: absolute host path of the rootfs */
	P_ROOTFS_PROPAGATION = 121, /* U64: MS_* flags for mount(NULL, "/", ...) first */
	P_MOUNT = 122,         /* (*) GROUP { M_* }: done in order, inside the rootfs */
	P_DEVICE = 123,        /* (*) GROUP { D_* }: device nodes, after the mounts */
	P_SYMLINK = 124,       /* (*) GROUP { L_* }: after devices */
	P_NO_PIVOT = 125,      /* U64 bool: MS_MOVE + chroot instead of pivot_root */
	P_MASKED_PATH = 126,   /* (*) STR: container path; /dev/null or a ro tmpfs over it */
	P_READONLY_PATH = 127, /* (*) STR: container path; bind-remounted read-only */
	P_ROOT_READONLY = 128, /* U64 bool: remount / read-only last */
	P_HOSTNAME = 129,      /* STR */
	P_DOMAINNAME = 130,    /* STR */
	P_SYSCTL = 131,        /* (*) GROUP { K_PATH, K_VALUE } */
	P_HOST_MOUNTS = 133,   /* STR (create): no mount namespace. The absolute host
	                          path of an empty directory of the runtime's own: the
	                          rootfs is bound there (MS_REC) in the runtime's mount
	                          namespace, and every mount of the container lands on
	                          or under that bind. "/" and the rootfs's own mount
	                          keep their propagation; P_ROOTFS_PROPAGATION is given
	                          to the bind; the root switch is chroot (no P_NO_PIVOT).
	                          The runtime unmounts everything at or under it at
	                          delete (tsrun-init --umount-tree PATH) */
	P_CHROOT = 134,        /* STR (exec): chroot here first (a container without a
	                          mount namespace: "/proc/PID/root" of its init) */

	/* process attributes */
	P_RLIMIT = 140,        /* (*) GROUP { R_TYPE, R_SOFT, R_HARD } */
	P_OOM_SCORE_ADJ = 141, /* U64 (signed) */
	P_PERSONALITY = 142,   /* U64: personality(2) domain */
	P_NEW_KEYRING = 143,   /* STR: name of a new session keyring to join */
	P_UID = 144,           /* U64 */
	P_GID = 145,           /* U64 */
	P_ADDITIONAL_GID = 146,/* (*) U64 */
	P_UMASK = 147,         /* U64; absent: leave the umask alone */
	P_CWD = 148,           /* STR: absolute, inside the container */
	P_ARG = 149,           /* (*) STR: argv; argv[0] is looked up in PATH from P_ENV */
	P_ENV = 150,           /* (*) STR: "NAME=value" */
	P_CAPS = 151,          /* GROUP { C_* }: absent means keep all */
	P_NO_NEW_PRIVS = 152,  /* U64 bool */
	P_SECCOMP_BPF = 153,   /* BYTES: struct sock_filter array */
	P_SECCOMP_FLAGS = 154, /* U64: SECCOMP_FILTER_FLAG_* */
	P_SECCOMP_LISTENER = 155, /* STR: listenerPath (unix socket) for NOTIFY */
	P_SECCOMP_METADATA = 156, /* STR: listenerMetadata */
	P_FIFO_PATH = 157,     /* STR: host path of exec.fifo (create mode) */
	P_PRESERVE_FDS = 158,  /* U64: fds 3 .. 3+N-1 stay open across execve */
	P_TERMINAL = 159,      /* U64 bool: allocate a pty in the container */
	P_CONSOLE_SOCKET = 160,/* STR: host path; the pty master goes there (SCM_RIGHTS).
	                          Absent with P_TERMINAL and P_WAIT (foreground run/exec):
	                          stage 0 takes the master and proxies its own stdio to it */
	P_CONSOLE_HEIGHT = 161,/* U64 */
	P_CONSOLE_WIDTH = 162, /* U64 */
	P_HOOK = 163,          /* (*) GROUP { H_* }: createContainer / startContainer */
	P_APPARMOR = 164,      /* STR: profile, applied at exec */
	P_SELINUX = 165,       /* STR: label, applied at exec */
	P_STATE_JSON = 166,    /* STR: state for startContainer hooks in exec-less paths */
	P_SCHED = 167,         /* GROUP { S_* }: sched_setattr */
	P_IOPRIO = 168,        /* U64: ioprio_set value (class << 13 | level) */
	P_CPU_AFFINITY_INITIAL = 169, /* STR: cpu list, before the process starts */
	P_CPU_AFFINITY_FINAL = 170,   /* STR: cpu list, just before execve */
	P_MEMPOLICY = 171,     /* GROUP { MP_* }: set_mempolicy before execve */
	P_NETDEV = 172,        /* (*) GROUP { N_* } (create): stage 0 moves this host
	                          network device into the container's network
	                          namespace (the joined one, or the new one after the
	                          clone), renamed, with its permanent global
	                          addresses, and sets it up; then it stays until the
	                          child is ready, and moves the device back to the
	                          host should the child die before (netdev.c) */
};

enum plan_mode {
	PLAN_MODE_CREATE = 1,  /* a new container: full setup, wait on the fifo */
	PLAN_MODE_EXEC = 2,    /* a process in an existing container: join, no mounts */
};

/* P_NS_JOIN */
enum ns_tag {
	NS_TYPE = 200,         /* U64: one CLONE_NEW* */
	NS_PATH = 201,         /* STR */
};

/* P_MOUNT. The destination is resolved inside the rootfs without following
 * symlinks out of it (openat2 RESOLVE_IN_ROOT); missing parts are created. */
enum mount_tag {
	M_SOURCE = 210,        /* STR: absolute host path for binds, else the fs source */
	M_DEST = 211,          /* STR: absolute path inside the container */
	M_TYPE = 212,          /* STR: filesystem type ("" or absent for bind) */
	M_FLAGS = 213,         /* U64: MS_* for the mount(2) call */
	M_DATA = 214,          /* STR: data argument */
	M_PROPAGATION = 215,   /* (*) U64: MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE
	                          [|MS_REC], each a separate mount(2) after the mount */
	M_REMOUNT_FLAGS = 216, /* U64: for binds: then mount(MS_BIND|MS_REMOUNT|this) */
	M_DEST_IS_FILE = 217,  /* U64 bool: create the destination as a file */
	M_ATTR_SET = 218,      /* U64: MOUNT_ATTR_* set recursively (mount_setattr) */
	M_ATTR_CLR = 219,      /* U64: MOUNT_ATTR_* cleared recursively */
	M_IDMAP_USERNS = 220,  /* STR: path of a user namespace for an idmapped mount */
	M_IDMAP_UID_MAP = 221, /* STR: uid_map of a user namespace that stage 0 makes
	                          for an idmapped mount (with M_IDMAP_GID_MAP; not
	                          with M_IDMAP_USERNS) */
	M_IDMAP_GID_MAP = 222, /* STR: its gid_map */
	M_IDMAP_RECURSIVE = 223, /* U64 bool: idmap every mount of the tree (ridmap),
	                          not only its top */
	M_TMPCOPYUP = 224,     /* U64 bool: a tmpfs gets a copy of what the rootfs
	                          had at its destination */
};

/* P_DEVICE */
enum device_tag {
	D_PATH = 230,          /* STR: absolute path inside the container */
	D_TYPE = 231,          /* U64: S_IFCHR, S_IFBLK or S_IFIFO */
	D_MAJOR = 232,         /* U64 */
	D_MINOR = 233,         /* U64 */
	D_MODE = 234,          /* U64: permission bits */
	D_UID = 235,           /* U64 */
	D_GID = 236,           /* U64 */
	D_BIND = 237,          /* U64 bool: bind-mount the host node of the same path
	                          (user namespaces cannot mknod) */
};

/* P_SYMLINK */
enum symlink_tag {
	L_TARGET = 240,        /* STR */
	L_PATH = 241,          /* STR: absolute path inside the container */
};

/* P_SYSCTL */
enum sysctl_tag {
	K_PATH = 250,          /* STR: path under /proc/sys, e.g. "net/ipv4/ip_forward" */
	K_VALUE = 251,         /* STR */
};

/* P_RLIMIT */
enum rlimit_tag {
	R_TYPE = 260,          /* U64: RLIMIT_* */
	R_SOFT = 261,          /* U64 (RLIM_INFINITY = ~0) */
	R_HARD = 262,          /* U64 */
};

/* P_CAPS: 64-bit masks, bit N = capability N */
enum caps_tag {
	C_BOUNDING = 270,
	C_EFFECTIVE = 271,
	C_PERMITTED = 272,
	C_INHERITABLE = 273,
	C_AMBIENT = 274,
};

/* P_HOOK */
enum hook_tag {
	H_KIND = 280,          /* U64: HOOK_KIND_* */
	H_PATH = 281,          /* STR */
	H_ARG = 282,           /* (*) STR */
	H_ENV = 283,           /* (*) STR */
	H_TIMEOUT = 284,       /* U64 seconds, 0 = none */
};

enum hook_kind {
	HOOK_KIND_CREATE_CONTAINER = 1,
	HOOK_KIND_START_CONTAINER = 2,
};

/* P_SCHED: struct sched_attr fields */
enum sched_tag {
	S_POLICY = 290,
	S_NICE = 291,
	S_PRIORITY = 292,
	S_FLAGS = 293,
	S_RUNTIME = 294,
	S_DEADLINE = 295,
	S_PERIOD = 296,
};

/* P_MEMPOLICY: set_mempolicy(MP_MODE | MP_FLAGS, MP_NODES) */
enum mempolicy_tag {
	MP_MODE = 300,         /* U64: MPOL_* mode */
	MP_FLAGS = 301,        /* U64: MPOL_F_* mode flags */
	MP_NODES = 302,        /* BYTES: the nodemask, 64-bit little-endian words;
	                          absent: no nodes */
};

/* P_NETDEV */
enum netdev_tag {
	N_NAME = 310,          /* STR: the device's name on the host */
	N_NEW_NAME = 311,      /* STR: its name in the container (may hold "%d") */
};

#endif
