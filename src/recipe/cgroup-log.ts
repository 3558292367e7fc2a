// Recipes: what the cgroupfs driver did during a create, as a replay would do it again. A CgroupFs that
// records every call on its way to the real one; then the log with the id cut out of its paths. What the
// driver read becomes a check the replay makes first (the same text, the same answer), so a host whose
// cgroups changed (another cpuset, a hierarchy gone) sends the create back to Bun.
import type { CgroupFs } from '../cgroups/fs';
import { cut, type Template } from './template';

export type CgroupOp =
  | { op: 'read'; path: string; value: string }
  | { op: 'write'; path: string; data: string }
  | { op: 'mkdirp'; path: string; created: string[] }
  | { op: 'exists' | 'isDirectory'; path: string; result: boolean }
  | { op: 'readdir' | 'subdirs'; path: string; names: string[] }
  | { op: 'rmdir'; path: string };

/** `inner`, with every call that succeeded appended to `log` (a call that throws fails the create anyway). */
export function recordingFs(inner: CgroupFs, log: CgroupOp[]): CgroupFs {
  return {
    readFile(path) {
      const value = inner.readFile(path);
      log.push({ op: 'read', path, value });
      return value;
    },
    writeFile(path, data) {
      inner.writeFile(path, data);
      log.push({ op: 'write', path, data });
    },
    mkdirp(path) {
      const created = inner.mkdirp(path);
      log.push({ op: 'mkdirp', path, created: [...created] });
      return created;
    },
    rmdir(path) {
      inner.rmdir(path);
      log.push({ op: 'rmdir', path });
    },
    exists(path) {
      const result = inner.exists(path);
      log.push({ op: 'exists', path, result });
      return result;
    },
    isDirectory(path) {
      const result = inner.isDirectory(path);
      log.push({ op: 'isDirectory', path, result });
      return result;
    },
    readdir(path) {
      const names = inner.readdir(path);
      log.push({ op: 'readdir', path, names: [...names] });
      return names;
    },
    subdirs(path) {
      const names = inner.subdirs(path);
      log.push({ op: 'subdirs', path, names: [...names] });
      return names;
    },
  };
}

/**
 * What of /proc/self/mountinfo the driver depends on: the cgroup mounts, as "root mountpoint fstype options"
 * lines. The rest of the file changes with every mount on the host (each container's rootfs), and a replay
 * compares only this.
 */
export function cgroupMountLines(mountinfo: string): string {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 6 || (f[dash + 1] !== 'cgroup' && f[dash + 1] !== 'cgroup2')) continue;
    out.push([f[3], f[4], f[dash + 1], f[dash + 3] ?? ''].join(' '));
  }
  return out.join('\n');
}

const MOUNTINFO = '/proc/self/mountinfo';

type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An op with the id cut out of its paths; a read of mountinfo keeps only its cgroup mounts. */
export type TemplatedOp = OmitEach<CgroupOp, 'path' | 'created'> & { path: Template; created?: Template[] };

/** Files through which a process joins a cgroup: a pid written there would be the recorded create's. */
const JOIN_FILES = new Set(['cgroup.procs', 'tasks', 'cgroup.threads']);

/**
 * The log as a replay for any id does it, or a reason why not. The id may be in a path only below one of the
 * container's own cgroup directories (`dirs`, which recordTemplates has shown follow the id); it may not be in
 * anything read or written, and nothing may be removed or joined.
 */
export function templateCgroupLog(log: CgroupOp[], id: string, dirs: string[]): { ops: TemplatedOp[] } | { reason: string } {
  // below one of the container's directories, and nowhere in the rest of the path (a file named like the id)
  const own = (p: string) => dirs.some((d) => (p === d || p.startsWith(`${d}/`)) && !p.slice(d.length).includes(id));
  const ids = new Map([[id, 'id' as const]]);
  const ops: TemplatedOp[] = [];
  for (const o of log) {
    if (o.op === 'rmdir') return { reason: `the driver removed ${o.path}` };
    if (o.op === 'write' && JOIN_FILES.has(o.path.slice(o.path.lastIndexOf('/') + 1))) return { reason: `a process joined through ${o.path}` };
    const paths = [o.path, ...(o.op === 'mkdirp' ? o.created : [])];
    const strange = paths.find((p) => p.includes(id) && !own(p));
    if (strange !== undefined) return { reason: `the id is in ${strange}, outside the container's cgroups` };
    const data = o.op === 'read' ? (o.path === MOUNTINFO ? cgroupMountLines(o.value) : o.value) : o.op === 'write' ? o.data : o.op === 'readdir' || o.op === 'subdirs' ? o.names.join('\n') : '';
    if (data.includes(id)) return { reason: `the id is in what ${o.op} ${o.path} saw` };
    const path = cut(o.path, ids);
    if (o.op === 'mkdirp') ops.push({ op: 'mkdirp', path, created: o.created.map((p) => cut(p, ids)) });
    else if (o.op === 'read' && o.path === MOUNTINFO) ops.push({ op: 'read', path, value: cgroupMountLines(o.value) });
    else ops.push({ ...o, path });
  }
  return { ops };
}
