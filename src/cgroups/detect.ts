// Which cgroup layout this host has: pure v1, hybrid (v1 hierarchies plus a
// cgroup2 mount, usually /sys/fs/cgroup/unified) or pure v2; where each
// hierarchy is mounted and where our own process sits in it. Everything comes
// from /proc/self/mountinfo and /proc/self/cgroup, read through CgroupFs.

import { TsrunError } from '../errors';
import { CgroupFs, realFs } from './fs';
import { readControllers } from './util';

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface V1Hierarchy {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/cpu,cpuacct. */
  mountPoint: string;
  /** The cgroup that is the mount's root (mountinfo field 4), usually "/". */
  root: string;
  /** Controllers bound to it, e.g. ["cpu", "cpuacct"] or ["name=systemd"]. */
  controllers: string[];
  /** Our own cgroup in this hierarchy, relative to the mount (starts with "/"). */
  ownPath: string;
}

export interface UnifiedMount {
  mountPoint: string;
  root: string;
  ownPath: string;
  /** Controllers available at the mount's root (cgroup.controllers). */
  controllers: string[];
}

export interface Detected {
  mode: CgroupMode;
  v1: V1Hierarchy[];
  unified?: UnifiedMount;
}

export interface MountInfo {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** Mount options of a v1 cgroup mount that are not controller names. */
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'favordynmods']);

export function detect(fs: CgroupFs = realFs, proc = '/proc/self'): Detected {
  const mounts = parseMountinfo(fs.readFile(`${proc}/mountinfo`));
  const own = parseProcCgroup(fs.readFile(`${proc}/cgroup`));
  const v1: V1Hierarchy[] = [];
  const seen = new Set<string>();
  let unified: UnifiedMount | undefined;
  for (const m of mounts) {
    if (m.fsType === 'cgroup') {
      const controllers = m.superOptions.filter(
        (o) => !NOT_CONTROLLERS.has(o) && (!o.includes('=') || o.startsWith('name=')),
      );
      const key = [...controllers].sort().join(',');
      if (controllers.length === 0 || seen.has(key)) continue;
      seen.add(key);
      const ownCg = controllers.map((c) => own.get(c)).find((p) => p !== undefined) ?? '/';
      v1.push({ mountPoint: m.mountPoint, root: m.root, controllers, ownPath: relativeTo(m.root, ownCg) });
    } else if (m.fsType === 'cgroup2') {
      // Prefer the conventional mount points when there are several.
      const better =
        !unified || m.mountPoint === '/sys/fs/cgroup' || (m.mountPoint === '/sys/fs/cgroup/unified' && unified.mountPoint !== '/sys/fs/cgroup');
      if (better) {
        unified = { mountPoint: m.mountPoint, root: m.root, ownPath: relativeTo(m.root, own.get('') ?? '/'), controllers: [] };
      }
    }
  }
  if (unified) unified.controllers = readControllers(fs, unified.mountPoint);
  if (v1.length === 0 && !unified) throw new TsrunError('no cgroup filesystem is mounted (see /proc/self/mountinfo)');
  const mode: CgroupMode = v1.length === 0 ? 'v2' : unified ? 'hybrid' : 'v1';
  return { mode, v1, unified };
}

/** Lines of /proc/PID/mountinfo, with \NNN escapes decoded. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 5 || right.length < 3) continue;
    out.push({
      root: unescapeOctal(left[3]),
      mountPoint: unescapeOctal(left[4]),
      fsType: right[0],
      superOptions: right[2].split(','),
    });
  }
  return out;
}

/**
 * /proc/PID/cgroup as controller -> path. A v1 line "4:cpu,cpuacct:/a" gives
 * entries for "cpu" and "cpuacct"; "1:name=systemd:/x" gives "name=systemd";
 * the v2 line "0::/y" gives "".
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const ctrls = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (ctrls === '') out.set('', path);
    else for (const c of ctrls.split(',')) out.set(c, path);
  }
  return out;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** A cgroup path as seen from a mount whose root is `root`. */
function relativeTo(root: string, cg: string): string {
  if (root === '/' || root === '') return cg || '/';
  if (cg === root) return '/';
  if (cg.startsWith(root + '/')) return cg.slice(root.length);
  return cg || '/';
}
