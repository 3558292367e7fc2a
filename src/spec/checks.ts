// Cross-field checks of a config.json: the rules of runtime-spec v1.3.0 (and
// the checks runc makes before it creates a container) that a JSON schema
// cannot say. Each rule cites where it comes from:
//   config.md#…        https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md
//   config-linux.md#…  https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md
//   runc validator     libcontainer/configs/validate/validator.go (v1.1.5 and v1.3.0)
//   runc specconv      libcontainer/specconv/spec_linux.go
//
// The checks are written to run on any JSON value (they skip what has the
// wrong shape, which the schema reports), so `tsrun check` can list schema
// and cross-field problems together. Facts about the host (does root.path
// exist, which user namespace does a path name) come through HostFacts so
// that the rules are testable without root.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IDMapping } from './types';
import { jsonPath, type PathSegment, type Problem } from './problem';

// ---------------------------------------------------------------------------
// Tables other modules may use too

/** Linux capabilities by number (linux/capability.h), CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40. */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
});

/** Resource limits by number (asm-generic/resource.h, as on x86-64 and arm64). */
export const RLIMITS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
});

/** The runtime-spec versions tsrun takes: any SemVer 1.x.y (see checkVersion). */
export const SPEC_VERSION = '1.3.0';

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/**
 * Parses a Linux CPU or node list ("0-3,7"; spaces around items allowed).
 * Returns the sorted distinct numbers, or undefined when the text is not a list.
 * The empty string is the empty list.
 */
export function parseIdList(text: string): number[] | undefined {
  const out = new Set<number>();
  if (text.trim() === '') return [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 1 << 16) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------
// Host facts

export type PathKind = 'directory' | 'other' | 'missing';

export interface HostFacts {
  /** What is at an absolute path (following symlinks). */
  pathKind(p: string): PathKind;
  /**
   * The id mappings of the user namespace a path names, when they can be
   * read without joining it (/proc/PID/ns/user → /proc/PID/{uid,gid}_map).
   */
  userNamespaceMappings(nsPath: string): { uid: IDMapping[]; gid: IDMapping[] } | undefined;
  /** Whether a network namespace path is the runtime's own; an Error when it cannot be told. */
  isRuntimeNetNamespace(nsPath: string): boolean | Error;
}

function parseIdMap(text: string): IDMapping[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every((n) => Number.isInteger(n)))
    .map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
}

export const realHost: HostFacts = {
  pathKind(p) {
    try {
      return fs.statSync(p).isDirectory() ? 'directory' : 'other';
    } catch {
      return 'missing';
    }
  },
  userNamespaceMappings(nsPath) {
    const m = /^(\/proc\/(?:\d+|self|thread-self)(?:\/task\/\d+)?)\/ns\/user$/.exec(nsPath);
    if (!m) return undefined;
    try {
      return {
        uid: parseIdMap(fs.readFileSync(`${m[1]}/uid_map`, 'utf8')),
        gid: parseIdMap(fs.readFileSync(`${m[1]}/gid_map`, 'utf8')),
      };
    } catch {
      return undefined;
    }
  },
  isRuntimeNetNamespace(nsPath) {
    try {
      const own = fs.statSync('/proc/self/ns/net');
      const other = fs.statSync(nsPath);
      return own.dev === other.dev && own.ino === other.ino;
    } catch (e) {
      return e as Error;
    }
  },
};

// ---------------------------------------------------------------------------
// The checks

export interface CheckOptions {
  /** The bundle directory; root.path is resolved against it and must exist. Omit to skip filesystem checks. */
  bundleDir?: string;
  /** create and run need `process` (config.md#process: REQUIRED when start is called). */
  requireProcess?: boolean;
  /** Defaults to the real host. */
  host?: HostFacts;
  /** Receives problems that do not stop the container (spec SHOULD, runc warnings). */
  warnings?: Problem[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const quote = (v: unknown) => JSON.stringify(v);
const isAbs = (p: string) => p.startsWith('/');

class Collector {
  readonly errors: Problem[] = [];
  constructor(private readonly warnings: Problem[] | undefined) {}
  error(at: readonly PathSegment[], message: string): void {
    this.errors.push({ path: jsonPath(at), message });
  }
  warn(at: readonly PathSegment[], message: string): void {
    this.warnings?.push({ path: jsonPath(at), message });
  }
}

/** The rootfs as an absolute path: root.path, relative to the bundle when not absolute (config.md#root). */
export function resolveRootfs(rootPath: string, bundleDir: string): string {
  return path.resolve(bundleDir, rootPath);
}

/**
 * Runs every cross-field check; returns the errors (an empty list: the config
 * may be run). Call it after validateConfig() found nothing, or alongside it
 * (it tolerates wrong shapes).
 */
export function checkConfig(spec: unknown, opts: CheckOptions = {}): Problem[] {
  const c = new Collector(opts.warnings);
  const host = opts.host ?? realHost;
  if (!isObj(spec)) return c.errors;
  const linux = isObj(spec.linux) ? spec.linux : {};
  // read first (other rules need it), its problems told in document order below
  const nsProblems = new Collector(opts.warnings);
  const ns = namespaceTable(linux, nsProblems);

  checkVersion(spec, c);
  checkRoot(spec, opts, host, c);
  checkProcess(spec, opts, c);
  checkUts(spec, ns, c);
  checkMounts(spec, ns, c);
  checkHooks(spec, c);
  c.errors.push(...nsProblems.errors);
  checkUserNamespace(linux, ns, host, c);
  checkTimeNamespace(linux, ns, c);
  checkDevices(linux, c);
  checkNetDevices(linux, ns, c);
  checkCgroupsPath(linux, c);
  checkResources(linux, c);
  checkSysctl(linux, ns, host, c);
  checkSeccomp(linux, c);
  checkPathLists(linux, ns, c);
  checkIntelRdt(linux, c);
  checkMemoryPolicy(linux, c);
  checkPersonality(linux, c);
  return c.errors;
}

// --- ociVersion -------------------------------------------------------------

/**
 * config.md#specification-version: ociVersion MUST be SemVer 2.0.0. The spec
 * keeps compatibility within a major version, so tsrun (spec 1.3.0) takes any
 * 1.x.y, pre-releases included ("1.0.2-dev" from `runc spec`). A later 1.x
 * (containerd writes its vendored specs-go version) is taken too: its unknown
 * fields are ignored, as runc, which does not look at ociVersion at all, does.
 * Other majors (0.x drafts, a future 2.x) are refused.
 */
function checkVersion(spec: Obj, c: Collector): void {
  const v = spec.ociVersion;
  if (!isStr(v)) return;
  const m = SEMVER.exec(v);
  if (!m) {
    c.error(['ociVersion'], `must be a SemVer 2.0.0 version such as ${SPEC_VERSION} (got ${quote(v)})`);
  } else if (m[1] !== '1') {
    c.error(['ociVersion'], `unsupported version ${v}: tsrun implements runtime-spec ${SPEC_VERSION} and accepts 1.x`);
  }
}

// --- root -----------------------------------------------------------------

/**
 * config.md#root: root is REQUIRED except on Windows; path is absolute or
 * relative to the bundle; "A directory MUST exist at the path".
 */
function checkRoot(spec: Obj, opts: CheckOptions, host: HostFacts, c: Collector): void {
  if (spec.root === undefined) {
    c.error(['root'], 'is required');
    return;
  }
  if (!isObj(spec.root) || !isStr(spec.root.path)) return;
  const p = spec.root.path;
  if (p === '') {
    c.error(['root', 'path'], 'must not be empty');
    return;
  }
  if (opts.bundleDir === undefined) return;
  const abs = resolveRootfs(p, opts.bundleDir);
  const kind = host.pathKind(abs);
  if (kind === 'missing') c.error(['root', 'path'], `no such directory: ${abs}`);
  else if (kind === 'other') c.error(['root', 'path'], `not a directory: ${abs}`);
}

// --- process ----------------------------------------------------------------

function checkEnv(list: unknown, at: PathSegment[], c: Collector): void {
  // runc libcontainer/env.go prepareEnv: NAME=VALUE, a non-empty name, no NUL byte.
  arr(list).forEach((e, i) => {
    if (!isStr(e)) return;
    const eq = e.indexOf('=');
    if (eq === -1) c.error([...at, i], `must have the form NAME=VALUE (got ${quote(e)})`);
    else if (eq === 0) c.error([...at, i], `must have a name before "=" (got ${quote(e)})`);
    else if (e.includes('\0')) c.error([...at, i], 'must not contain a NUL byte');
  });
}

function checkProcess(spec: Obj, opts: CheckOptions, c: Collector): void {
  if (spec.process === undefined) {
    // config.md#process: "This property is REQUIRED when start is called."
    // runc: "process property must not be empty" (create and run).
    if (opts.requireProcess) c.error(['process'], 'is required to create a container');
    return;
  }
  checkProcessFields(spec.process, ['process'], c);
}

/**
 * The rules for a process object alone, for `exec --process FILE` (paths are
 * then `$.cwd`, …). The schema half is validateProcess() in validate.ts.
 */
export function checkProcessDocument(p: unknown, opts: { warnings?: Problem[] } = {}): Problem[] {
  const c = new Collector(opts.warnings);
  checkProcessFields(p, [], c);
  return c.errors;
}

function checkProcessFields(p: unknown, at: PathSegment[], c: Collector): void {
  if (!isObj(p)) return;

  // config.md#process: cwd "MUST be an absolute path".
  if (isStr(p.cwd) && !isAbs(p.cwd)) c.error([...at, 'cwd'], `must be an absolute path (got ${quote(p.cwd)})`);

  // config.md#process: args — "at least one entry is REQUIRED (non-Windows)"; runc: "args must not be empty".
  if (p.args === undefined || (Array.isArray(p.args) && p.args.length === 0)) {
    c.error([...at, 'args'], 'must have at least one entry (the program to run)');
  }
  arr(p.args).forEach((a, i) => {
    if (isStr(a) && a.includes('\0')) c.error([...at, 'args', i], 'must not contain a NUL byte');
  });
  checkEnv(p.env, [...at, 'env'], c);

  // config.md#posix-platform-user: uid and gid are REQUIRED. (The Go bindings
  // always write them, so every engine does.)
  if (p.user === undefined) c.error([...at, 'user'], 'is required');
  else if (isObj(p.user)) {
    if (p.user.uid === undefined) c.error([...at, 'user', 'uid'], 'is required');
    if (p.user.gid === undefined) c.error([...at, 'user', 'gid'], 'is required');
  }

  checkRlimits(p, at, c);
  checkCapabilities(p, at, c);

  // proc(5): oom_score_adj takes -1000 to 1000; anything else fails with EINVAL.
  if (isNum(p.oomScoreAdj) && (p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
    c.error([...at, 'oomScoreAdj'], `must be between -1000 and 1000 (got ${p.oomScoreAdj})`);
  }

  // config.md#linux-process ioPriority: priority (int, REQUIRED), 0 (highest) to 7 (lowest); runc validator ioPriority.
  if (isObj(p.ioPriority)) {
    const prio = p.ioPriority.priority;
    if (prio === undefined) c.error([...at, 'ioPriority', 'priority'], 'is required');
    else if (isNum(prio) && (prio < 0 || prio > 7)) {
      c.error([...at, 'ioPriority', 'priority'], `must be between 0 and 7 (got ${prio})`);
    }
  }

  checkScheduler(p, at, c);

  // config.md#linux-process execCPUAffinity: "a comma-separated list, with dashes to represent ranges".
  if (isObj(p.execCPUAffinity)) {
    for (const k of ['initial', 'final'] as const) {
      const v = p.execCPUAffinity[k];
      if (isStr(v) && parseIdList(v) === undefined) {
        c.error([...at, 'execCPUAffinity', k], `must be a CPU list such as 0-3,7 (got ${quote(v)})`);
      }
    }
  }
}

function checkRlimits(p: Obj, base: PathSegment[], c: Collector): void {
  const seen = new Map<string, number>();
  arr(p.rlimits).forEach((r, i) => {
    if (!isObj(r)) return;
    const at: PathSegment[] = [...base, 'rlimits', i];
    if (isStr(r.type)) {
      // config.md#posix-process: "The runtime MUST generate an error for any values which cannot be mapped".
      if (!(r.type in RLIMITS)) {
        c.error([...at, 'type'], `unknown resource limit ${quote(r.type)}: must be one of: ${Object.keys(RLIMITS).sort().join(', ')}`);
      }
      // config.md#posix-process: "If rlimits contains duplicated entries with same type, the runtime MUST generate an error."
      const first = seen.get(r.type);
      if (first !== undefined) {
        c.error([...at, 'type'], `duplicate resource limit ${r.type} (first at ${jsonPath([...base, 'rlimits', first])})`);
      } else seen.set(r.type, i);
    }
    // setrlimit(2): EINVAL when rlim_cur > rlim_max (runtime-tools validate checks this too).
    if (isNum(r.soft) && isNum(r.hard) && r.soft > r.hard) {
      c.error([...at, 'soft'], `must not be greater than hard (${r.soft} > ${r.hard})`);
    }
  });
}

/**
 * config.md#linux-process capabilities: "Valid values are defined in the
 * capabilities(7) man page". A name that is no capability at all is an error
 * (as runtime-tools has it, stricter than runc 1.1.5, which only warns); a
 * real capability the host cannot grant is for the plan to warn about.
 */
function checkCapabilities(p: Obj, at: PathSegment[], c: Collector): void {
  if (!isObj(p.capabilities)) return;
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    arr(p.capabilities[set]).forEach((name, i) => {
      if (isStr(name) && !(name in CAPABILITIES)) {
        c.error([...at, 'capabilities', set, i], `unknown capability ${quote(name)}`);
      }
    });
  }
}

/** runc validator scheduler (after sched_setattr(2)). */
function checkScheduler(p: Obj, base: PathSegment[], c: Collector): void {
  const s = p.scheduler;
  if (!isObj(s) || !isStr(s.policy)) return;
  const at: PathSegment[] = [...base, 'scheduler'];
  if ((s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH') && isNum(s.nice) && (s.nice < -20 || s.nice > 19)) {
    c.error([...at, 'nice'], `must be between -20 and 19 for ${s.policy} (got ${s.nice})`);
  }
  if (isNum(s.priority) && s.priority !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
    c.error([...at, 'priority'], `can only be set for SCHED_FIFO or SCHED_RR (policy is ${s.policy})`);
  }
  if (s.policy !== 'SCHED_DEADLINE') {
    for (const k of ['runtime', 'deadline', 'period']) {
      if (isNum(s[k]) && s[k] !== 0) c.error([...at, k], `can only be set for SCHED_DEADLINE (policy is ${s.policy})`);
    }
  }
}

// --- namespaces -----------------------------------------------------------

interface NsEntry {
  index: number;
  path?: string;
}
type NsTable = Map<string, NsEntry>;

/**
 * config-linux.md#namespaces: "If a namespaces field contains duplicated
 * namespaces with same type, the runtime MUST generate an error"; path "MUST
 * be an absolute path in the runtime mount namespace".
 */
function namespaceTable(linux: Obj, c: Collector): NsTable {
  const table: NsTable = new Map();
  arr(linux.namespaces).forEach((n, i) => {
    if (!isObj(n) || !isStr(n.type)) return;
    const at: PathSegment[] = ['linux', 'namespaces', i];
    const first = table.get(n.type);
    if (first) {
      c.error([...at, 'type'], `duplicate namespace type ${quote(n.type)} (first at ${jsonPath(['linux', 'namespaces', first.index])})`);
      return;
    }
    if (isStr(n.path) && n.path !== '' && !isAbs(n.path)) {
      c.error([...at, 'path'], `must be an absolute path (got ${quote(n.path)})`);
    }
    table.set(n.type, { index: i, path: isStr(n.path) && n.path !== '' ? n.path : undefined });
  });
  return table;
}

/**
 * hostname and domainname need a UTS namespace of the container's own (runc
 * validator uts: "unable to set hostname without a private UTS namespace"), or
 * they would rename the host. Like runc, a joined one (with path) counts.
 */
function checkUts(spec: Obj, ns: NsTable, c: Collector): void {
  for (const k of ['hostname', 'domainname']) {
    if (isStr(spec[k]) && spec[k] !== '' && !ns.has('uts')) {
      c.error([k], `unable to set ${k} without a private UTS namespace (add {"type": "uts"} to linux.namespaces)`);
    }
  }
}

function checkIdMappings(list: unknown, at: PathSegment[], c: Collector): void {
  // user_namespaces(7): a line's length must be > 0, and the ranges of the
  // lines must not overlap, inside or outside; the kernel refuses the map otherwise.
  const ranges: { i: number; inside: number; outside: number; size: number }[] = [];
  arr(list).forEach((m, i) => {
    if (!isObj(m) || !isNum(m.containerID) || !isNum(m.hostID) || !isNum(m.size)) return;
    if (m.size < 1) {
      c.error([...at, i, 'size'], 'must be at least 1');
      return;
    }
    for (const r of ranges) {
      const overlaps = (a: number, b: number) => a < b + r.size && b < a + (m.size as number);
      if (overlaps(m.containerID, r.inside) || overlaps(m.hostID, r.outside)) {
        c.error([...at, i], `overlaps ${jsonPath([...at, r.i])}`);
        break;
      }
    }
    ranges.push({ i, inside: m.containerID, outside: m.hostID, size: m.size });
  });
}

function sameMappings(a: unknown, b: IDMapping[]): boolean {
  const list = arr(a).filter(isObj);
  const key = (m: Obj | IDMapping) => `${String(m.containerID)}:${String(m.hostID)}:${String(m.size)}`;
  return list.length === b.length && list.map(key).sort().join() === b.map(key).sort().join();
}

/**
 * config-linux.md#user-namespace-mappings and runc validator namespaces:
 * mappings need a user namespace; a new one (no path) needs mappings.
 * A new one with uid but no gid mappings (or the reverse) cannot work: the
 * process could not setgid/setuid to anything mapped, so both are required.
 * Mappings with a path to join (runc specconv setupUserNamespace): containerd
 * and CRI-O write the joined namespace's own mappings, which runc accepts with
 * a warning; mappings that differ from it, or that cannot be read, are an error.
 */
function checkUserNamespace(linux: Obj, ns: NsTable, host: HostFacts, c: Collector): void {
  const hasUid = arr(linux.uidMappings).length > 0;
  const hasGid = arr(linux.gidMappings).length > 0;
  checkIdMappings(linux.uidMappings, ['linux', 'uidMappings'], c);
  checkIdMappings(linux.gidMappings, ['linux', 'gidMappings'], c);
  const user = ns.get('user');
  if (!user) {
    if (hasUid || hasGid) {
      c.error(['linux', hasUid ? 'uidMappings' : 'gidMappings'], 'needs a user namespace (add {"type": "user"} to linux.namespaces)');
    }
    return;
  }
  const nsAt: PathSegment[] = ['linux', 'namespaces', user.index];
  if (user.path === undefined) {
    if (!hasUid && !hasGid) {
      c.error(nsAt, 'a new user namespace needs linux.uidMappings and linux.gidMappings');
    } else if (!hasUid) {
      c.error(['linux', 'uidMappings'], 'is required with gidMappings for a new user namespace');
    } else if (!hasGid) {
      c.error(['linux', 'gidMappings'], 'is required with uidMappings for a new user namespace');
    }
    return;
  }
  if (!hasUid && !hasGid) return;
  const actual = host.userNamespaceMappings(user.path);
  if (actual && sameMappings(linux.uidMappings, actual.uid) && sameMappings(linux.gidMappings, actual.gid)) {
    c.warn(['linux', 'uidMappings'], `repeats the mappings of the user namespace being joined (${user.path}); give either the path or the mappings`);
    return;
  }
  const which = hasUid ? 'uidMappings' : 'gidMappings';
  c.error(
    ['linux', which],
    actual
      ? `do not match the user namespace being joined (${user.path}); give either the path or the mappings`
      : `cannot be given with a user namespace path to join (${user.path}); give either the path or the mappings`,
  );
}

/**
 * config-linux.md#offset-for-time-namespace, time_namespaces(7), runc
 * validator namespaces: offsets need a new time namespace (not a joined one);
 * only the monotonic and boottime clocks can be offset; nanoseconds < 10^9.
 */
function checkTimeNamespace(linux: Obj, ns: NsTable, c: Collector): void {
  if (!isObj(linux.timeOffsets)) return;
  const time = ns.get('time');
  if (!time) {
    c.error(['linux', 'timeOffsets'], 'needs a time namespace (add {"type": "time"} to linux.namespaces)');
  } else if (time.path !== undefined) {
    c.error(['linux', 'timeOffsets'], `cannot be set when joining an existing time namespace (${time.path})`);
  }
  for (const [clock, off] of Object.entries(linux.timeOffsets)) {
    if (clock !== 'monotonic' && clock !== 'boottime') {
      c.error(['linux', 'timeOffsets', clock], 'is not a clock that a time namespace can offset: must be one of: boottime, monotonic');
    } else if (isObj(off) && isNum(off.nanosecs) && off.nanosecs > 999_999_999) {
      c.error(['linux', 'timeOffsets', clock, 'nanosecs'], `must be less than 1000000000 (got ${off.nanosecs})`);
    }
  }
}

// --- mounts, hooks ----------------------------------------------------------

/**
 * config.md#mounts. destination: since runtime-spec 1.2.0 a relative Linux
 * destination is allowed but deprecated (taken relative to "/"), and runc only
 * warns about it; so does tsrun (the planner makes it absolute).
 * uidMappings/gidMappings: "If specified, it MUST be specified along with"
 * the other. config.md#linux-mount-options idmap/ridmap: with no mappings and
 * no user namespace "an error MUST be returned"; mappings without either
 * option SHOULD name one of them (a warning). runc specconv: no NUL bytes.
 */
function checkMounts(spec: Obj, ns: NsTable, c: Collector): void {
  arr(spec.mounts).forEach((m, i) => {
    if (!isObj(m)) return;
    const at: PathSegment[] = ['mounts', i];
    if (isStr(m.destination)) {
      if (m.destination === '') c.error([...at, 'destination'], 'must not be empty');
      else if (!isAbs(m.destination)) c.warn([...at, 'destination'], `is not absolute (got ${quote(m.destination)}): deprecated, taken as relative to /`);
    }
    for (const k of ['destination', 'source', 'type']) {
      if (isStr(m[k]) && (m[k] as string).includes('\0')) c.error([...at, k], 'must not contain a NUL byte');
    }
    const hasUid = m.uidMappings !== undefined;
    const hasGid = m.gidMappings !== undefined;
    if (hasUid && !hasGid) c.error([...at, 'gidMappings'], 'is required with uidMappings');
    if (hasGid && !hasUid) c.error([...at, 'uidMappings'], 'is required with gidMappings');
    checkIdMappings(m.uidMappings, [...at, 'uidMappings'], c);
    checkIdMappings(m.gidMappings, [...at, 'gidMappings'], c);
    const options = arr(m.options).filter(isStr);
    const idmap = options.find((o) => o === 'idmap' || o === 'ridmap');
    if (idmap && !hasUid && !hasGid && !ns.has('user')) {
      c.error([...at, 'options'], `"${idmap}" needs uidMappings and gidMappings on the mount, or a user namespace to take them from`);
    }
    if ((hasUid || hasGid) && !idmap) {
      c.warn([...at, 'options'], 'should contain "idmap" or "ridmap" when the mount has uidMappings/gidMappings');
    }
  });
}

/** config.md#posix-platform-hooks: path "MUST be absolute". */
function checkHooks(spec: Obj, c: Collector): void {
  if (!isObj(spec.hooks)) return;
  for (const [kind, list] of Object.entries(spec.hooks)) {
    arr(list).forEach((h, i) => {
      if (!isObj(h)) return;
      if (isStr(h.path) && !isAbs(h.path)) c.error(['hooks', kind, i, 'path'], `must be an absolute path (got ${quote(h.path)})`);
      checkEnv(h.env, ['hooks', kind, i, 'env'], c);
    });
  }
}

// --- linux.devices, netDevices -------------------------------------------------

/**
 * config-linux.md#devices: path is the "full path to device inside container"
 * (absolute; the spec does not confine it to /dev, nor does runc); major and
 * minor are "REQUIRED unless type is p" (a fifo has none: absent or 0); "The
 * same type, major and minor SHOULD NOT be used for multiple devices" (a
 * warning). Two devices cannot share a path.
 */
function checkDevices(linux: Obj, c: Collector): void {
  const paths = new Map<string, number>();
  const numbers = new Map<string, number>();
  arr(linux.devices).forEach((d, i) => {
    if (!isObj(d)) return;
    const at: PathSegment[] = ['linux', 'devices', i];
    if (isStr(d.path)) {
      if (!isAbs(d.path)) c.error([...at, 'path'], `must be an absolute path (got ${quote(d.path)})`);
      const norm = path.posix.normalize(d.path);
      const first = paths.get(norm);
      if (first !== undefined) c.error([...at, 'path'], `duplicate device path ${d.path} (first at ${jsonPath(['linux', 'devices', first])})`);
      else paths.set(norm, i);
    }
    if (d.type === 'c' || d.type === 'b' || d.type === 'u') {
      for (const k of ['major', 'minor']) {
        if (d[k] === undefined) c.error([...at, k], `is required for a device of type ${d.type}`);
      }
      if (isNum(d.major) && isNum(d.minor)) {
        const key = `${d.type === 'u' ? 'c' : d.type}:${d.major}:${d.minor}`;
        const first = numbers.get(key);
        if (first !== undefined) c.warn(at, `has the same type, major and minor as ${jsonPath(['linux', 'devices', first])}`);
        else numbers.set(key, i);
      }
    } else if (d.type === 'p') {
      for (const k of ['major', 'minor']) {
        if (isNum(d[k]) && d[k] !== 0) c.error([...at, k], 'must not be set for a fifo (type p)');
      }
    }
  });
}

/** Linux dev_valid_name(): 1 to 15 bytes, not "." or "..", no "/", ":" or white space. */
function validIfName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** config-linux.md#network-devices; runc validator netdevices: a NET namespace, valid interface names. */
function checkNetDevices(linux: Obj, ns: NsTable, c: Collector): void {
  if (!isObj(linux.netDevices)) return;
  const entries = Object.entries(linux.netDevices);
  if (entries.length === 0) return;
  if (!ns.has('network')) c.error(['linux', 'netDevices'], 'needs a network namespace (add {"type": "network"} to linux.namespaces)');
  for (const [name, dev] of entries) {
    if (!validIfName(name)) c.error(['linux', 'netDevices', name], `${quote(name)} is not a valid network interface name`);
    if (isObj(dev) && isStr(dev.name) && dev.name !== '' && !validIfName(dev.name)) {
      c.error(['linux', 'netDevices', name, 'name'], `${quote(dev.name)} is not a valid network interface name`);
    }
  }
}

// --- cgroups ----------------------------------------------------------------

/**
 * config-linux.md#cgroups-path: absolute or relative; "Runtimes MAY consider
 * certain cgroupsPath values to be invalid, and MUST generate an error". tsrun
 * refuses ".." components (they could leave the cgroup tree or the parent
 * given to it) and NUL bytes.
 */
function checkCgroupsPath(linux: Obj, c: Collector): void {
  const p = linux.cgroupsPath;
  if (!isStr(p)) return;
  if (p.includes('\0')) c.error(['linux', 'cgroupsPath'], 'must not contain a NUL byte');
  else if (p.split('/').includes('..')) c.error(['linux', 'cgroupsPath'], `must not contain ".." (got ${quote(p)})`);
}

function checkResources(linux: Obj, c: Collector): void {
  const r = linux.resources;
  if (!isObj(r)) return;
  const at: PathSegment[] = ['linux', 'resources'];

  // config-linux.md#allowed-device-list: type a, c or b; access a composition
  // of r, w, m. runc specconv: "device access at %d field cannot be empty".
  arr(r.devices).forEach((d, i) => {
    if (!isObj(d)) return;
    if (isStr(d.type) && d.type !== '' && !['a', 'b', 'c'].includes(d.type)) {
      c.error([...at, 'devices', i, 'type'], `must be one of: a, b, c (got ${quote(d.type)})`);
    }
    if (d.access === undefined || d.access === '') c.error([...at, 'devices', i, 'access'], 'is required (a combination of r, w and m)');
    else if (isStr(d.access) && !/^[rwm]+$/.test(d.access)) {
      c.error([...at, 'devices', i, 'access'], `must be a combination of r, w and m (got ${quote(d.access)})`);
    }
  });

  if (isObj(r.memory)) {
    const m = r.memory;
    // config-linux.md#memory: swappiness "values are from 0 to 100".
    if (isNum(m.swappiness) && m.swappiness > 100) {
      c.error([...at, 'memory', 'swappiness'], `must be between 0 and 100 (got ${m.swappiness})`);
    }
    // swap is the memory+swap limit: below the memory limit, cgroup v1 refuses it and
    // runc's v2 conversion fails ("memory+swap limit should be >= memory limit").
    if (isNum(m.limit) && isNum(m.swap) && m.limit > 0 && m.swap > 0 && m.swap < m.limit) {
      c.error([...at, 'memory', 'swap'], `must be at least memory.limit, as it limits memory+swap (${m.swap} < ${m.limit})`);
    }
  }

  // config-linux.md#cpu: burst "MUST be no larger than any positive quota (runtimes MAY generate an error)".
  if (isObj(r.cpu) && isNum(r.cpu.quota) && isNum(r.cpu.burst) && r.cpu.quota > 0 && r.cpu.burst > r.cpu.quota) {
    c.error([...at, 'cpu', 'burst'], `must not be larger than quota (${r.cpu.burst} > ${r.cpu.quota})`);
  }

  // config-linux.md#block-io: "You MUST specify at least one of weight or leafWeight in a given entry".
  if (isObj(r.blockIO)) {
    arr(r.blockIO.weightDevice).forEach((w, i) => {
      if (isObj(w) && w.weight === undefined && w.leafWeight === undefined) {
        c.error([...at, 'blockIO', 'weightDevice', i], 'must have weight or leafWeight');
      }
    });
  }

  // config-linux.md#rdma: "You MUST specify at least one of the hcaHandles or hcaObjects in a given entry".
  if (isObj(r.rdma)) {
    for (const [dev, l] of Object.entries(r.rdma)) {
      if (isObj(l) && l.hcaHandles === undefined && l.hcaObjects === undefined) {
        c.error([...at, 'rdma', dev], 'must have hcaHandles or hcaObjects');
      }
    }
  }

  // config-linux.md#unified: each key "refers to a file in the cgroup unified
  // hierarchy"; runc fs2: "unified resource %q must be a file name (no slashes)".
  if (isObj(r.unified)) {
    for (const k of Object.keys(r.unified)) {
      if (k.includes('/') || k === '.' || k === '..' || k === '') {
        c.error([...at, 'unified', k], 'must be a file name of the cgroup (no slashes), such as memory.high');
      }
    }
  }
}

// --- sysctl -----------------------------------------------------------------

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** runc: "net/ipv4/conf/eno2.100.rp_filter" → "net.ipv4.conf.eno2/100.rp_filter". */
function sysctlDots(key: string): string {
  const i = key.search(/[./]/);
  if (i === -1 || key[i] === '.') return key;
  return key.replace(/[./]/g, (ch) => (ch === '.' ? '/' : '.'));
}

/**
 * /proc/sys is only partly namespaced; as runc's validator sysctl allows:
 * the IPC ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) need an IPC
 * namespace; net.* needs a network namespace that is not the runtime's own;
 * with a UTS namespace kernel.domainname is allowed and kernel.hostname is
 * refused in favour of the hostname field; everything else would change the host.
 */
function checkSysctl(linux: Obj, ns: NsTable, host: HostFacts, c: Collector): void {
  if (!isObj(linux.sysctl)) return;
  let hostNet: boolean | Error | undefined;
  for (const raw of Object.keys(linux.sysctl)) {
    const key = sysctlDots(raw);
    const at: PathSegment[] = ['linux', 'sysctl', raw];
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
      if (!ns.has('ipc')) c.error(at, `sysctl ${quote(key)} is not allowed in the host's IPC namespace (add {"type": "ipc"} to linux.namespaces)`);
      continue;
    }
    if (key.startsWith('net.')) {
      if (hostNet === undefined) {
        const net = ns.get('network');
        hostNet = !net ? true : net.path === undefined ? false : host.isRuntimeNetNamespace(net.path);
      }
      if (hostNet instanceof Error) c.error(at, `cannot check the network namespace path: ${hostNet.message}`);
      else if (hostNet) c.error(at, `sysctl ${quote(key)} is not allowed in the host's network namespace (add {"type": "network"} to linux.namespaces)`);
      continue;
    }
    if (ns.has('uts')) {
      if (key === 'kernel.domainname') continue;
      if (key === 'kernel.hostname') {
        c.error(at, 'sysctl "kernel.hostname" is not allowed: set the hostname field instead');
        continue;
      }
    }
    c.error(at, `sysctl ${quote(key)} is not in a separate kernel namespace, so it cannot be set for a container`);
  }
}

// --- seccomp ----------------------------------------------------------------

const ERRNO_ACTIONS = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

/**
 * config-linux.md#seccomp: errnoRet/defaultErrnoRet — "When the action doesn't
 * support an errno, the runtime MUST print and error and fail" (only ERRNO
 * and TRACE take one); names "MUST contain at least one entry" (schema) and
 * runc refuses an empty name; listenerMetadata "MUST NOT be set if
 * listenerPath is not set". runc: SCMP_ACT_NOTIFY needs listenerPath ("seccomp
 * listenerPath is not set"), cannot be the default action nor apply to write(2)
 * (the runtime talks to the init over write). tsrun wants the listener path
 * absolute, as it is dialled from the runtime, whose directory is arbitrary.
 * A syscall has six arguments: index 0 to 5.
 */
function checkSeccomp(linux: Obj, c: Collector): void {
  const s = linux.seccomp;
  if (!isObj(s)) return;
  const at: PathSegment[] = ['linux', 'seccomp'];
  if (s.defaultErrnoRet !== undefined && isStr(s.defaultAction) && !ERRNO_ACTIONS.has(s.defaultAction)) {
    c.error([...at, 'defaultErrnoRet'], `can only be set with SCMP_ACT_ERRNO or SCMP_ACT_TRACE (defaultAction is ${s.defaultAction})`);
  }
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') c.error([...at, 'defaultAction'], 'SCMP_ACT_NOTIFY cannot be the default action');
  let notify = false;
  arr(s.syscalls).forEach((r, i) => {
    if (!isObj(r)) return;
    const rat: PathSegment[] = [...at, 'syscalls', i];
    const names = arr(r.names);
    names.forEach((n, j) => {
      if (n === '') c.error([...rat, 'names', j], 'must not be empty');
    });
    if (r.errnoRet !== undefined && isStr(r.action) && !ERRNO_ACTIONS.has(r.action)) {
      c.error([...rat, 'errnoRet'], `can only be set with SCMP_ACT_ERRNO or SCMP_ACT_TRACE (action is ${r.action})`);
    }
    if (r.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      const w = names.indexOf('write');
      if (w !== -1) c.error([...rat, 'names', w], 'SCMP_ACT_NOTIFY cannot be used for the write syscall');
    }
    arr(r.args).forEach((a, k) => {
      if (isObj(a) && isNum(a.index) && a.index > 5) c.error([...rat, 'args', k, 'index'], `must be between 0 and 5 (got ${a.index})`);
    });
  });
  const listener = s.listenerPath;
  if (notify && (listener === undefined || listener === '')) {
    c.error([...at, 'listenerPath'], 'is required when a rule uses SCMP_ACT_NOTIFY');
  } else if (isStr(listener) && listener !== '' && !isAbs(listener)) {
    c.error([...at, 'listenerPath'], `must be an absolute path (got ${quote(listener)})`);
  }
  if (isStr(s.listenerMetadata) && s.listenerMetadata !== '' && (listener === undefined || listener === '')) {
    c.error([...at, 'listenerMetadata'], 'can only be set with listenerPath');
  }
}

// --- maskedPaths, readonlyPaths ------------------------------------------------

/**
 * config-linux.md#masked-paths, #readonly-paths: "The values MUST be absolute
 * paths in the container namespace". runc validator security: "unable to
 * restrict sys entries without a private MNT namespace" (they would be masked
 * on the host).
 */
function checkPathLists(linux: Obj, ns: NsTable, c: Collector): void {
  for (const k of ['maskedPaths', 'readonlyPaths']) {
    const list = arr(linux[k]);
    list.forEach((p, i) => {
      if (isStr(p) && !isAbs(p)) c.error(['linux', k, i], `must be an absolute path (got ${quote(p)})`);
    });
    if (list.length > 0 && !ns.has('mount')) {
      c.error(['linux', k], 'needs a mount namespace (add {"type": "mount"} to linux.namespaces)');
    }
  }
}

// --- intelRdt, memoryPolicy, personality --------------------------------------

/**
 * config-linux.md#intelrdt: closID names a directory of the resctrl
 * filesystem, "/" being the default CLOS (runc validator intelrdtCheck refuses
 * ".", ".." and other slashes); schemata "MUST NOT contain newlines".
 */
function checkIntelRdt(linux: Obj, c: Collector): void {
  const r = linux.intelRdt;
  if (!isObj(r)) return;
  if (isStr(r.closID) && (r.closID === '.' || r.closID === '..' || (r.closID.length > 1 && r.closID.includes('/')))) {
    c.error(['linux', 'intelRdt', 'closID'], `must be a directory name or "/" (got ${quote(r.closID)})`);
  }
  arr(r.schemata).forEach((line, i) => {
    if (isStr(line) && line.includes('\n')) c.error(['linux', 'intelRdt', 'schemata', i], 'must not contain a newline');
  });
}

/**
 * config-linux.md#memory-policy: mode is REQUIRED; nodes is a list like "0-3,7";
 * MPOL_DEFAULT and MPOL_LOCAL take no nodes, MPOL_BIND, MPOL_INTERLEAVE,
 * MPOL_WEIGHTED_INTERLEAVE and MPOL_PREFERRED_MANY at least one (runc validator
 * memoryPolicy, after set_mempolicy(2)); set_mempolicy(2) refuses
 * MPOL_F_STATIC_NODES with MPOL_F_RELATIVE_NODES.
 */
function checkMemoryPolicy(linux: Obj, c: Collector): void {
  const m = linux.memoryPolicy;
  if (!isObj(m)) return;
  const at: PathSegment[] = ['linux', 'memoryPolicy'];
  if (m.mode === undefined) c.error([...at, 'mode'], 'is required');
  let count: number | undefined = 0;
  if (isStr(m.nodes)) {
    count = parseIdList(m.nodes)?.length;
    if (count === undefined) c.error([...at, 'nodes'], `must be a node list such as 0-3,7 (got ${quote(m.nodes)})`);
  }
  if (count !== undefined && isStr(m.mode)) {
    if ((m.mode === 'MPOL_DEFAULT' || m.mode === 'MPOL_LOCAL') && count > 0) {
      c.error([...at, 'nodes'], `must be empty for ${m.mode}`);
    }
    if (['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY'].includes(m.mode) && count === 0) {
      c.error([...at, 'nodes'], `must name at least one node for ${m.mode}`);
    }
  }
  const flags = arr(m.flags);
  if (flags.includes('MPOL_F_STATIC_NODES') && flags.includes('MPOL_F_RELATIVE_NODES')) {
    c.error([...at, 'flags'], 'cannot have both MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES');
  }
}

/** config-linux.md#personality: domain is REQUIRED; flags — "Currently no flag values are supported". */
function checkPersonality(linux: Obj, c: Collector): void {
  const p = linux.personality;
  if (!isObj(p)) return;
  if (p.domain === undefined) c.error(['linux', 'personality', 'domain'], 'is required');
  if (arr(p.flags).length > 0) c.error(['linux', 'personality', 'flags'], 'must be empty: no personality flags are supported');
}
