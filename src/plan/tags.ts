// Tag numbers of the plan wire format. They mirror native/plan.h number for
// number; test/unit/plan-golden.test.ts checks the two files agree.

export const Msg = {
  PLAN: 1,
  HOOKS_DONE: 2,
  PID_ACK: 3,
  PID: 10,
  HOOKS: 11,
  READY: 12,
  ERROR: 13,
  WARN: 14,
  EXIT: 15,
  STARTED: 16,
} as const;

export const P = {
  MODE: 100,
  WAIT: 101,
  PID_ACK: 102,
  NS_JOIN: 110,
  CLONE_FLAGS: 111,
  UID_MAP: 112,
  GID_MAP: 113,
  TIMENS_OFFSETS: 114,
  CGROUP_PROCS: 115,
  SETGROUPS_DENY: 116,
  UIDMAP_HELPER: 117,
  GIDMAP_HELPER: 118,
  ROOTFS: 120,
  ROOTFS_PROPAGATION: 121,
  MOUNT: 122,
  DEVICE: 123,
  SYMLINK: 124,
  NO_PIVOT: 125,
  MASKED_PATH: 126,
  READONLY_PATH: 127,
  ROOT_READONLY: 128,
  HOSTNAME: 129,
  DOMAINNAME: 130,
  SYSCTL: 131,
  HOST_MOUNTS: 133,
  CHROOT: 134,
  RLIMIT: 140,
  OOM_SCORE_ADJ: 141,
  PERSONALITY: 142,
  NEW_KEYRING: 143,
  UID: 144,
  GID: 145,
  ADDITIONAL_GID: 146,
  UMASK: 147,
  CWD: 148,
  ARG: 149,
  ENV: 150,
  CAPS: 151,
  NO_NEW_PRIVS: 152,
  SECCOMP_BPF: 153,
  SECCOMP_FLAGS: 154,
  SECCOMP_LISTENER: 155,
  SECCOMP_METADATA: 156,
  FIFO_PATH: 157,
  PRESERVE_FDS: 158,
  TERMINAL: 159,
  CONSOLE_SOCKET: 160,
  CONSOLE_HEIGHT: 161,
  CONSOLE_WIDTH: 162,
  HOOK: 163,
  APPARMOR: 164,
  SELINUX: 165,
  STATE_JSON: 166,
  SCHED: 167,
  IOPRIO: 168,
  CPU_AFFINITY_INITIAL: 169,
  CPU_AFFINITY_FINAL: 170,
  MEMPOLICY: 171,
  NETDEV: 172,
} as const;

export const PlanMode = { CREATE: 1, EXEC: 2 } as const;

export const NS = { TYPE: 200, PATH: 201 } as const;

export const M = {
  SOURCE: 210,
  DEST: 211,
  TYPE: 212,
  FLAGS: 213,
  DATA: 214,
  PROPAGATION: 215,
  REMOUNT_FLAGS: 216,
  DEST_IS_FILE: 217,
  ATTR_SET: 218,
  ATTR_CLR: 219,
  IDMAP_USERNS: 220,
  IDMAP_UID_MAP: 221,
  IDMAP_GID_MAP: 222,
  IDMAP_RECURSIVE: 223,
  TMPCOPYUP: 224,
} as const;

export const D = { PATH: 230, TYPE: 231, MAJOR: 232, MINOR: 233, MODE: 234, UID: 235, GID: 236, BIND: 237 } as const;
export const L = { TARGET: 240, PATH: 241 } as const;
export const K = { PATH: 250, VALUE: 251 } as const;
export const R = { TYPE: 260, SOFT: 261, HARD: 262 } as const;
export const C = { BOUNDING: 270, EFFECTIVE: 271, PERMITTED: 272, INHERITABLE: 273, AMBIENT: 274 } as const;
export const H = { KIND: 280, PATH: 281, ARG: 282, ENV: 283, TIMEOUT: 284 } as const;
export const HookKind = { CREATE_CONTAINER: 1, START_CONTAINER: 2 } as const;
export const S = { POLICY: 290, NICE: 291, PRIORITY: 292, FLAGS: 293, RUNTIME: 294, DEADLINE: 295, PERIOD: 296 } as const;
export const MP = { MODE: 300, FLAGS: 301, NODES: 302 } as const;
export const N = { NAME: 310, NEW_NAME: 311 } as const;
