// Host facts: everything the planner needs to know about the machine, gathered in one place so that the
// planner itself stays a pure function. readHostFacts() reads the real host; tests build HostFacts by hand.
import { TsrunError } from '../errors';
import { type Stats as FsStats, closeSync, constants as fsConstants, existsSync, fstatSync, lstatSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** What stat(2) (following symlinks) says about a host path. */
export interface HostStat {
  kind: 'file' | 'dir' | 'char' | 'block' | 'fifo' | 'socket' | 'other';
}

/** One mounted cgroup v1 hierarchy. */
export interface CgroupV1Hierarchy {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/cpu,cpuacct. */
  mountpoint: string;
  /** The root of the hierarchy that this mount shows (mountinfo field 4), usually "/". */
  root: string;
  /** Controllers as /proc/self/cgroup names them: ["cpu", "cpuacct"], ["name=systemd"]. */
  controllers: string[];
  /** This process's cgroup in the hierarchy (from /proc/self/cgroup), e.g. "/user.slice". */
  ownPath: string;
}

export interface CgroupFacts {
  /** True when /sys/fs/cgroup itself is a cgroup2 mount (unified mode). */
  unified: boolean;
  /** The v1 hierarchies (empty in unified mode). */
  v1: CgroupV1Hierarchy[];
  /** The cgroup2 mount, if any (/sys/fs/cgroup in unified mode, /sys/fs/cgroup/unified on hybrid hosts). */
  v2Mountpoint?: string;
  /** This process's cgroup2 path ("0::" line of /proc/self/cgroup). */
  v2OwnPath?: string;
}

export interface HostFacts {
  /** /proc/sys/kernel/cap_last_cap. */
  capLastCap: number;
  /** This process's capability bounding set (CapBnd in /proc/self/status); the init cannot grant more. */
  boundingSet: bigint;
  apparmorEnabled: boolean;
  selinuxEnabled: boolean;
  /** The runtime itself runs in a user namespace (then device nodes are bound, as runc does). */
  inUserNs: boolean;
  /** /proc/kcore exists (then /dev/core -> /proc/kcore is linked, as runc does). */
  procKcore: boolean;
  cgroup: CgroupFacts;
  /** stat(2) of a host path, following symlinks; undefined when it does not exist. */
  statHost(p: string): HostStat | undefined;
  /** A file of the container's rootfs, resolved without leaving it; undefined when absent or unreadable. */
  readRootfsFile(p: string): string | undefined;
  /** The online NUMA nodes (/sys/devices/system/node/online); undefined on a kernel without NUMA. Read on demand. */
  numaNodes(): number[] | undefined;
  /** The network devices of the runtime's network namespace (/proc/self/net/dev). Read on demand. */
  netDevices(): string[];
}

// ---- parsers (pure, exported for tests) -----------------------------------------------------------------

/** CapBnd from /proc/self/status text. */
export function parseCapBnd(status: string): bigint {
  const m = /^CapBnd:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  if (!m) throw new TsrunError('/proc/self/status has no CapBnd line: the capability bounding set is unknown');
  return BigInt('0x' + m[1]);
}

export interface MountinfoEntry {
  root: string;
  mountpoint: string;
  fstype: string;
  source: string;
  superOptions: string[];
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo (proc(5)). */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    out.push({
      root: unescapeOctal(fields[3]),
      mountpoint: unescapeOctal(fields[4]),
      fstype: fields[sep + 1],
      source: unescapeOctal(fields[sep + 2]),
      superOptions: fields[sep + 3].split(','),
    });
  }
  return out;
}

/** Builds the cgroup facts from /proc/self/mountinfo and /proc/self/cgroup texts. */
export function parseCgroupFacts(mountinfo: string, procSelfCgroup: string): CgroupFacts {
  const mounts = parseMountinfo(mountinfo);
  const facts: CgroupFacts = { unified: false, v1: [] };
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  if (v2) facts.v2Mountpoint = v2.mountpoint;
  facts.unified = mounts.some((m) => m.fstype === 'cgroup2' && m.mountpoint === '/sys/fs/cgroup');
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') {
      facts.v2OwnPath = m[3];
      continue;
    }
    if (facts.unified) continue;
    const controllers = m[2].split(',').filter((c) => c !== '');
    if (controllers.length === 0) continue;
    const mount = mounts.find(
      (mi) => mi.fstype === 'cgroup' && controllers.every((c) => mi.superOptions.includes(c)),
    );
    if (!mount) continue; // a hierarchy that is not mounted here cannot be shown to the container
    facts.v1.push({ mountpoint: mount.mountpoint, root: mount.root, controllers, ownPath: m[3] });
  }
  return facts;
}

/** "0-3,7" (a sysfs node or cpu list) → the numbers; undefined when malformed. */
export function parseNodeList(text: string): number[] | undefined {
  const out: number[] = [];
  for (const item of text.trim().split(',')) {
    if (item === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) return undefined;
    const hi = Number(m[2] ?? m[1]);
    for (let i = Number(m[1]); i <= hi; i++) out.push(i);
  }
  return out;
}

/** /proc/net/dev text → the device names. */
export function parseNetDev(text: string): string[] {
  return text
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0].trim())
    .filter((name) => name !== '');
}

/** /etc/passwd text → the home directory of uid, or undefined. */
export function passwdHome(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    if (/^\d+$/.test(f[2]) && Number(f[2]) === uid) return f[5];
  }
  return undefined;
}

// ---- the real host ----------------------------------------------------------------------------------

export function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** A host file the runtime cannot plan without: unreadable is an error, never a guess. */
function readRequired(p: string, why: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch (e) {
    throw new TsrunError(`read ${p} (${why}): ${(e as Error).message}`);
  }
}

export function statKind(st: FsStats): HostStat['kind'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'other';
}

/**
 * Resolves p inside root the way openat2(RESOLVE_IN_ROOT) would: symlinks (absolute or relative) and ".."
 * never leave root. Returns the host path, or undefined when a component is missing.
 */
export function resolveInRoot(root: string, p: string): string | undefined {
  let todo = p.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift() as string;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, c);
    let st: FsStats;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...todo];
      continue;
    }
    done.push(c);
  }
  return path.join(root, ...done);
}

const MAX_ROOTFS_READ = 4 << 20;

/** Reads the facts of this host; rootfs (absolute) is the container's, for readRootfsFile. */
export function readHostFacts(rootfs?: string): HostFacts {
  const capLastCap = Number((readText('/proc/sys/kernel/cap_last_cap') ?? '40').trim());
  const boundingSet = parseCapBnd(readRequired('/proc/self/status', 'the capability bounding set'));
  // no uid_map: a kernel without user namespaces, so not in one
  const uidMap = (readText('/proc/self/uid_map') ?? '0 0 4294967295').trim().split(/\s+/);
  const inUserNs = !(uidMap.length === 3 && uidMap[0] === '0' && uidMap[1] === '0' && uidMap[2] === '4294967295');
  const apparmorEnabled =
    (readText('/sys/module/apparmor/parameters/enabled') ?? '').trim() === 'Y' &&
    existsSync('/sys/kernel/security/apparmor');
  const selinuxEnabled = existsSync('/sys/fs/selinux/enforce');
  const cgroup = parseCgroupFacts(
    readRequired('/proc/self/mountinfo', 'the cgroup mounts'),
    readRequired('/proc/self/cgroup', "the runtime's own cgroups"),
  );
  return {
    capLastCap: Number.isInteger(capLastCap) ? capLastCap : 40,
    boundingSet,
    apparmorEnabled,
    selinuxEnabled,
    inUserNs,
    procKcore: existsSync('/proc/kcore'),
    cgroup,
    statHost(p: string): HostStat | undefined {
      const st = statSync(p, { throwIfNoEntry: false });
      return st ? { kind: statKind(st) } : undefined;
    },
    numaNodes(): number[] | undefined {
      const text = readText('/sys/devices/system/node/online');
      return text === undefined ? undefined : parseNodeList(text);
    },
    netDevices(): string[] {
      return parseNetDev(readRequired('/proc/self/net/dev', 'the network devices'));
    },
    readRootfsFile(p: string): string | undefined {
      if (!rootfs) return undefined;
      const host = resolveInRoot(rootfs, p);
      if (!host) return undefined;
      try {
        const fd = openSync(host, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
        try {
          const st = fstatSync(fd);
          if (!st.isFile() || st.size > MAX_ROOTFS_READ) return undefined;
          return readFileSync(fd, 'utf8');
        } finally {
          closeSync(fd);
        }
      } catch {
        return undefined;
      }
    },
  };
}
