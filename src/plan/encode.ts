// Encodes an InitPlan into the record format of native/plan.h:
// u32 tag | u32 len | payload, little-endian; groups nest records.
import type { InitPlan, PlanMount, PlanDevice, PlanHook, PlanCaps, PlanSched, PlanMemPolicy } from './types';
import { P, NS, M, D, L, K, R, C, H, S, MP, N, Msg } from './tags';

// One buffer, grown by doubling: the plan has a few hundred records, and a Buffer and a BigInt per record cost
// create a measurable part of a millisecond in interpreted JavaScript.
class RecordWriter {
  private buf = Buffer.allocUnsafe(4096);
  private end = 0;

  private room(n: number): void {
    if (this.end + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.end + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.end);
    this.buf = bigger;
  }

  private header(tag: number, len: number): void {
    this.room(8 + len);
    this.buf.writeUInt32LE(tag, this.end);
    this.buf.writeUInt32LE(len, this.end + 4);
    this.end += 8;
  }

  u64(tag: number, value: number | bigint | boolean): void {
    this.header(tag, 8);
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
      this.buf.writeUInt32LE(v, this.end);
      this.buf.writeUInt32LE(0, this.end + 4);
    } else {
      this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), this.end);
    }
    this.end += 8;
  }

  str(tag: number, value: string): void {
    if (value.includes('\0')) throw new Error(`plan: string for tag ${tag} contains a NUL byte`);
    const len = Buffer.byteLength(value, 'utf8');
    this.header(tag, len);
    // byteLength and write encode a lone surrogate alike (U+FFFD); a mismatch would misframe every later record
    if (this.buf.write(value, this.end, len, 'utf8') !== len) throw new Error(`plan: string for tag ${tag} did not encode to ${len} bytes`);
    this.end += len;
  }

  bytes(tag: number, value: Uint8Array): void {
    this.header(tag, value.length);
    this.buf.set(value, this.end);
    this.end += value.length;
  }

  group(tag: number, fill: (w: RecordWriter) => void): void {
    // the length is known once the group's records are in: write them after a placeholder header
    this.header(tag, 0);
    const at = this.end;
    fill(this);
    this.buf.writeUInt32LE(this.end - at, at - 4);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.end);
  }
}

function optU64(w: RecordWriter, tag: number, v: number | bigint | boolean | undefined): void {
  if (v !== undefined) w.u64(tag, v);
}
function optStr(w: RecordWriter, tag: number, v: string | undefined): void {
  if (v !== undefined) w.str(tag, v);
}

function writeMount(w: RecordWriter, m: PlanMount): void {
  w.str(M.SOURCE, m.source);
  w.str(M.DEST, m.destination);
  optStr(w, M.TYPE, m.type);
  w.u64(M.FLAGS, m.flags);
  optStr(w, M.DATA, m.data);
  for (const p of m.propagation) w.u64(M.PROPAGATION, p);
  optU64(w, M.REMOUNT_FLAGS, m.remountFlags);
  if (m.destIsFile) w.u64(M.DEST_IS_FILE, true);
  optU64(w, M.ATTR_SET, m.attrSet);
  optU64(w, M.ATTR_CLR, m.attrClr);
  optStr(w, M.IDMAP_USERNS, m.idmapUserns);
  if (m.idmapMaps) {
    w.str(M.IDMAP_UID_MAP, m.idmapMaps.uidMap);
    w.str(M.IDMAP_GID_MAP, m.idmapMaps.gidMap);
  }
  if (m.idmapRecursive) w.u64(M.IDMAP_RECURSIVE, true);
  if (m.tmpcopyup) w.u64(M.TMPCOPYUP, true);
}

function writeMemPolicy(w: RecordWriter, m: PlanMemPolicy): void {
  w.u64(MP.MODE, m.mode);
  w.u64(MP.FLAGS, m.flags);
  if (m.nodes.length > 0) {
    const b = Buffer.alloc(8 * m.nodes.length);
    m.nodes.forEach((word, i) => b.writeBigUInt64LE(word, 8 * i));
    w.bytes(MP.NODES, b);
  }
}

function writeDevice(w: RecordWriter, d: PlanDevice): void {
  w.str(D.PATH, d.path);
  w.u64(D.TYPE, d.type);
  w.u64(D.MAJOR, d.major);
  w.u64(D.MINOR, d.minor);
  w.u64(D.MODE, d.mode);
  w.u64(D.UID, d.uid);
  w.u64(D.GID, d.gid);
  if (d.bind) w.u64(D.BIND, true);
}

function writeHook(w: RecordWriter, h: PlanHook): void {
  w.u64(H.KIND, h.kind);
  w.str(H.PATH, h.path);
  for (const a of h.args) w.str(H.ARG, a);
  for (const e of h.env) w.str(H.ENV, e);
  w.u64(H.TIMEOUT, h.timeout);
}

function writeCaps(w: RecordWriter, c: PlanCaps): void {
  w.u64(C.BOUNDING, c.bounding);
  w.u64(C.EFFECTIVE, c.effective);
  w.u64(C.PERMITTED, c.permitted);
  w.u64(C.INHERITABLE, c.inheritable);
  w.u64(C.AMBIENT, c.ambient);
}

function writeSched(w: RecordWriter, s: PlanSched): void {
  w.u64(S.POLICY, s.policy);
  optU64(w, S.NICE, s.nice);
  optU64(w, S.PRIORITY, s.priority);
  optU64(w, S.FLAGS, s.flags);
  optU64(w, S.RUNTIME, s.runtime);
  optU64(w, S.DEADLINE, s.deadline);
  optU64(w, S.PERIOD, s.period);
}

/** The plan's records, without the MSG_PLAN envelope. */
export function encodePlanBody(plan: InitPlan): Buffer {
  const w = new RecordWriter();
  w.u64(P.MODE, plan.mode);
  if (plan.wait) w.u64(P.WAIT, true);
  if (plan.pidAck) w.u64(P.PID_ACK, true);
  for (const ns of plan.nsJoin) {
    w.group(P.NS_JOIN, (g) => {
      g.u64(NS.TYPE, ns.type);
      g.str(NS.PATH, ns.path);
    });
  }
  w.u64(P.CLONE_FLAGS, plan.cloneFlags);
  optStr(w, P.UID_MAP, plan.uidMap);
  optStr(w, P.GID_MAP, plan.gidMap);
  optStr(w, P.TIMENS_OFFSETS, plan.timensOffsets);
  if (plan.setgroupsDeny) w.u64(P.SETGROUPS_DENY, true);
  optStr(w, P.UIDMAP_HELPER, plan.uidMapHelper);
  optStr(w, P.GIDMAP_HELPER, plan.gidMapHelper);
  for (const c of plan.cgroupProcs) w.str(P.CGROUP_PROCS, c);

  optStr(w, P.ROOTFS, plan.rootfs);
  optStr(w, P.HOST_MOUNTS, plan.hostMounts);
  optStr(w, P.CHROOT, plan.chroot);
  optU64(w, P.ROOTFS_PROPAGATION, plan.rootfsPropagation);
  for (const m of plan.mounts) w.group(P.MOUNT, (g) => writeMount(g, m));
  for (const d of plan.devices) w.group(P.DEVICE, (g) => writeDevice(g, d));
  for (const l of plan.symlinks) {
    w.group(P.SYMLINK, (g) => {
      g.str(L.TARGET, l.target);
      g.str(L.PATH, l.path);
    });
  }
  if (plan.noPivot) w.u64(P.NO_PIVOT, true);
  for (const p of plan.maskedPaths) w.str(P.MASKED_PATH, p);
  for (const p of plan.readonlyPaths) w.str(P.READONLY_PATH, p);
  if (plan.rootReadonly) w.u64(P.ROOT_READONLY, true);
  optStr(w, P.HOSTNAME, plan.hostname);
  optStr(w, P.DOMAINNAME, plan.domainname);
  for (const s of plan.sysctls) {
    w.group(P.SYSCTL, (g) => {
      g.str(K.PATH, s.path);
      g.str(K.VALUE, s.value);
    });
  }

  for (const r of plan.rlimits) {
    w.group(P.RLIMIT, (g) => {
      g.u64(R.TYPE, r.type);
      g.u64(R.SOFT, r.soft);
      g.u64(R.HARD, r.hard);
    });
  }
  optU64(w, P.OOM_SCORE_ADJ, plan.oomScoreAdj);
  optU64(w, P.PERSONALITY, plan.personality);
  optStr(w, P.NEW_KEYRING, plan.newKeyring);
  w.u64(P.UID, plan.uid);
  w.u64(P.GID, plan.gid);
  for (const g of plan.additionalGids) w.u64(P.ADDITIONAL_GID, g);
  optU64(w, P.UMASK, plan.umask);
  w.str(P.CWD, plan.cwd);
  for (const a of plan.args) w.str(P.ARG, a);
  for (const e of plan.env) w.str(P.ENV, e);
  if (plan.caps) {
    const caps = plan.caps;
    w.group(P.CAPS, (g) => writeCaps(g, caps));
  }
  if (plan.noNewPrivs) w.u64(P.NO_NEW_PRIVS, true);
  if (plan.seccompBpf) w.bytes(P.SECCOMP_BPF, plan.seccompBpf);
  optU64(w, P.SECCOMP_FLAGS, plan.seccompFlags);
  optStr(w, P.SECCOMP_LISTENER, plan.seccompListener);
  optStr(w, P.SECCOMP_METADATA, plan.seccompMetadata);
  optStr(w, P.FIFO_PATH, plan.fifoPath);
  optU64(w, P.PRESERVE_FDS, plan.preserveFds);
  if (plan.terminal) w.u64(P.TERMINAL, true);
  optStr(w, P.CONSOLE_SOCKET, plan.consoleSocket);
  optU64(w, P.CONSOLE_HEIGHT, plan.consoleHeight);
  optU64(w, P.CONSOLE_WIDTH, plan.consoleWidth);
  for (const h of plan.hooks) w.group(P.HOOK, (g) => writeHook(g, h));
  optStr(w, P.APPARMOR, plan.apparmor);
  optStr(w, P.SELINUX, plan.selinux);
  optStr(w, P.STATE_JSON, plan.stateJson);
  if (plan.sched) {
    const sched = plan.sched;
    w.group(P.SCHED, (g) => writeSched(g, sched));
  }
  optU64(w, P.IOPRIO, plan.ioprio);
  optStr(w, P.CPU_AFFINITY_INITIAL, plan.cpuAffinityInitial);
  optStr(w, P.CPU_AFFINITY_FINAL, plan.cpuAffinityFinal);
  if (plan.memPolicy) {
    const mp = plan.memPolicy;
    w.group(P.MEMPOLICY, (g) => writeMemPolicy(g, mp));
  }
  for (const n of plan.netDevices ?? []) {
    w.group(P.NETDEV, (g) => {
      g.str(N.NAME, n.name);
      g.str(N.NEW_NAME, n.newName);
    });
  }
  return w.finish();
}

/** One record on the sync socket: u32 tag | u32 len | payload. */
export function encodeMessage(tag: number, payload: Uint8Array | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(tag, 0);
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}

export function encodePlanMessage(plan: InitPlan): Buffer {
  return encodeMessage(Msg.PLAN, encodePlanBody(plan));
}
