// The init plan: everything tsrun-init needs, as plain numbers and strings.
// Built from a validated config by src/plan/build.ts, encoded by encode.ts.
// Field meanings are documented in native/plan.h.

export interface PlanMount {
  source: string;
  destination: string;
  type?: string;
  flags: bigint;
  data?: string;
  propagation: bigint[];
  remountFlags?: bigint;
  destIsFile?: boolean;
  attrSet?: bigint;
  attrClr?: bigint;
  /** An idmapped mount through the user namespace at this path (one the container joins)... */
  idmapUserns?: string;
  /** ...or through one the init makes with these maps (uid_map/gid_map text). */
  idmapMaps?: { uidMap: string; gidMap: string };
  /** ridmap: every mount of the tree is idmapped, not only its top. */
  idmapRecursive?: boolean;
  /** tmpcopyup: the new tmpfs gets a copy of what the rootfs had at the destination. */
  tmpcopyup?: boolean;
}

/** linux.memoryPolicy for set_mempolicy(2). */
export interface PlanMemPolicy {
  mode: number;
  flags: number;
  /** The nodemask as 64-bit words; empty for none. */
  nodes: bigint[];
}

/** linux.netDevices: a host device, and its name in the container. */
export interface PlanNetDevice {
  name: string;
  newName: string;
}

export interface PlanDevice {
  path: string;
  type: number; // S_IFCHR | S_IFBLK | S_IFIFO
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  bind?: boolean;
}

export interface PlanHook {
  kind: 1 | 2; // HookKind
  path: string;
  args: string[];
  env: string[];
  timeout: number;
}

export interface PlanCaps {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface PlanSched {
  policy: number;
  nice?: number;
  priority?: number;
  flags?: bigint;
  runtime?: bigint;
  deadline?: bigint;
  period?: bigint;
}

export interface InitPlan {
  mode: 1 | 2; // PlanMode
  wait?: boolean;
  /** Stage 0 waits for Msg.PID_ACK after reporting the pid (the systemd driver's unit takes that pid). */
  pidAck?: boolean;
  nsJoin: { type: number; path: string }[];
  cloneFlags: number;
  uidMap?: string;
  gidMap?: string;
  timensOffsets?: string;
  /** Rootless: "deny" goes to /proc/PID/setgroups before the gid map (runtime/rootless-idmap.ts). */
  setgroupsDeny?: boolean;
  /** Rootless ranges: newuidmap and newgidmap write the maps (runtime/rootless-idmap.ts). */
  uidMapHelper?: string;
  gidMapHelper?: string;
  cgroupProcs: string[];

  rootfs?: string;
  /** No mount namespace: the runtime's directory the rootfs is bound onto, in its own mount namespace. */
  hostMounts?: string;
  /** exec into a container without a mount namespace: chroot here (/proc/PID/root of its init). */
  chroot?: string;
  rootfsPropagation?: bigint;
  mounts: PlanMount[];
  devices: PlanDevice[];
  symlinks: { target: string; path: string }[];
  noPivot?: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  rootReadonly?: boolean;
  hostname?: string;
  domainname?: string;
  sysctls: { path: string; value: string }[];

  rlimits: { type: number; soft: bigint; hard: bigint }[];
  oomScoreAdj?: number;
  personality?: number;
  newKeyring?: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask?: number;
  cwd: string;
  args: string[];
  env: string[];
  caps?: PlanCaps;
  noNewPrivs?: boolean;
  seccompBpf?: Uint8Array;
  seccompFlags?: bigint;
  seccompListener?: string;
  seccompMetadata?: string;
  fifoPath?: string;
  preserveFds?: number;
  terminal?: boolean;
  /** Where the pty master goes; absent with terminal and wait, stage 0 proxies its own stdio to it. */
  consoleSocket?: string;
  consoleHeight?: number;
  consoleWidth?: number;
  hooks: PlanHook[];
  apparmor?: string;
  selinux?: string;
  stateJson?: string; // P_STATE_JSON: state for hooks/seccomp listener when no MSG_HOOKS_DONE comes (exec)
  sched?: PlanSched;
  ioprio?: number;
  cpuAffinityInitial?: string;
  cpuAffinityFinal?: string;
  memPolicy?: PlanMemPolicy;
  netDevices?: PlanNetDevice[];
}

export function emptyPlan(mode: 1 | 2): InitPlan {
  return {
    mode,
    nsJoin: [],
    cloneFlags: 0,
    cgroupProcs: [],
    mounts: [],
    devices: [],
    symlinks: [],
    maskedPaths: [],
    readonlyPaths: [],
    sysctls: [],
    rlimits: [],
    uid: 0,
    gid: 0,
    additionalGids: [],
    cwd: '/',
    args: [],
    env: [],
    hooks: [],
  };
}
