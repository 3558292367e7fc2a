// Namespaces: OCI types → CLONE_NEW* flags, paths → setns joins, id maps and time offsets → file contents.
import type { IDMapping, Spec } from '../spec/types';
import { internalError, planError, noNul, type PlanContext } from './util';

export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

export interface NamespaceKind {
  flag: number;
  /** Name under /proc/PID/ns/. */
  procName: string;
}

/**
 * OCI namespace types, in the order the init joins them: user first (joining it first gives the capabilities
 * needed for the others), mount late (a joined mount namespace changes what later paths resolve to; the init
 * should open every path before the first setns, as runc's nsexec does). runc's NamespaceTypes() order.
 */
export const namespaceTypes: Record<string, NamespaceKind> = {
  user: { flag: CLONE_NEWUSER, procName: 'user' },
  ipc: { flag: CLONE_NEWIPC, procName: 'ipc' },
  uts: { flag: CLONE_NEWUTS, procName: 'uts' },
  network: { flag: CLONE_NEWNET, procName: 'net' },
  pid: { flag: CLONE_NEWPID, procName: 'pid' },
  mount: { flag: CLONE_NEWNS, procName: 'mnt' },
  cgroup: { flag: CLONE_NEWCGROUP, procName: 'cgroup' },
  time: { flag: CLONE_NEWTIME, procName: 'time' },
};

const JOIN_ORDER = Object.keys(namespaceTypes);

/** The config's namespaces, checked: type → path ("" when a new one is created). */
export function namespaceMap(spec: Spec): Map<string, string> {
  const out = new Map<string, string>();
  (spec.linux?.namespaces ?? []).forEach((ns, i) => {
    const where = `linux.namespaces[${i}]`;
    if (!Object.hasOwn(namespaceTypes, ns.type)) throw internalError(`${where}.type`, `unknown namespace type "${ns.type}"`);
    if (out.has(ns.type)) throw internalError(`${where}.type`, `namespace "${ns.type}" is listed twice`);
    const p = ns.path ?? '';
    if (p !== '') {
      noNul(`${where}.path`, p);
      if (!p.startsWith('/')) throw internalError(`${where}.path`, `must be an absolute path, got "${p}"`);
    }
    out.set(ns.type, p);
  });
  return out;
}

export interface NamespacePlan {
  cloneFlags: number;
  nsJoin: { type: number; path: string }[];
}

/** Namespaces for a new container: create those without a path, join those with one (user first). */
export function planNamespaces(ns: Map<string, string>): NamespacePlan {
  let cloneFlags = 0;
  const nsJoin: { type: number; path: string }[] = [];
  for (const t of JOIN_ORDER) {
    if (!ns.has(t)) continue;
    const p = ns.get(t) as string;
    if (p === '') cloneFlags |= namespaceTypes[t].flag;
    else nsJoin.push({ type: namespaceTypes[t].flag, path: p });
  }
  return { cloneFlags: cloneFlags >>> 0, nsJoin };
}

/** Namespaces for a process joining a running container: every namespace the config lists, via /proc/PID/ns. */
export function planExecNamespaces(ns: Map<string, string>, pid: number): NamespacePlan {
  const nsJoin: { type: number; path: string }[] = [];
  for (const t of JOIN_ORDER) {
    if (!ns.has(t)) continue;
    nsJoin.push({ type: namespaceTypes[t].flag, path: `/proc/${pid}/ns/${namespaceTypes[t].procName}` });
  }
  return { cloneFlags: 0, nsJoin };
}

/** uid_map / gid_map contents: one "inside outside count" line per mapping. */
export function idMapText(where: string, maps: IDMapping[]): string {
  return maps
    .map((m, i) => {
      const w = `${where}[${i}]`;
      for (const k of ['containerID', 'hostID', 'size'] as const) {
        const v = m[k];
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
          throw internalError(`${w}.${k}`, `must be an integer from 0 to 4294967295, got ${JSON.stringify(v)}`);
        }
      }
      if (m.size === 0) throw internalError(`${w}.size`, 'must not be 0');
      return `${m.containerID} ${m.hostID} ${m.size}\n`;
    })
    .join('');
}

/** Maps a container id to the host through a mapping list (undefined when unmapped). */
export function mapToHost(maps: IDMapping[], id: number): number | undefined {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return undefined;
}

const TIME_CLOCKS = ['monotonic', 'boottime'] as const;

/** timens_offsets contents ("monotonic S NS\nboottime S NS\n"), clocks in that order. */
export function timeOffsetsText(offsets: Record<string, { secs?: number; nanosecs?: number }>): string {
  for (const k of Object.keys(offsets)) {
    if (!(TIME_CLOCKS as readonly string[]).includes(k)) {
      throw internalError(`linux.timeOffsets.${k}`, `unknown clock "${k}" (monotonic or boottime)`);
    }
  }
  let text = '';
  for (const clock of TIME_CLOCKS) {
    const o = offsets[clock];
    if (!o) continue;
    const secs = o.secs ?? 0;
    const ns = o.nanosecs ?? 0;
    if (!Number.isSafeInteger(secs)) throw planError(`linux.timeOffsets.${clock}.secs`, `must be an integer, got ${secs}`);
    if (!Number.isInteger(ns) || ns < 0 || ns > 999_999_999) {
      throw internalError(`linux.timeOffsets.${clock}.nanosecs`, `must be an integer from 0 to 999999999, got ${ns}`);
    }
    text += `${clock} ${secs} ${ns}\n`;
  }
  return text;
}

export interface UserNsPlan {
  uidMap?: string;
  gidMap?: string;
  timensOffsets?: string;
}

/**
 * The user and time namespace details, with runc's checks (libcontainer/configs/validate namespaces()):
 * a new user namespace needs both mappings; mappings without a user namespace are an error; offsets need a
 * new time namespace.
 */
export function planIdMapsAndTime(spec: Spec, ns: Map<string, string>, ctx: PlanContext): UserNsPlan {
  const linux = spec.linux ?? {};
  const out: UserNsPlan = {};
  const hasMaps = linux.uidMappings !== undefined || linux.gidMappings !== undefined;
  if (!ns.has('user')) {
    if (hasMaps) throw internalError('linux.uidMappings', 'user namespace mappings are set, but there is no user namespace');
  } else if (ns.get('user') !== '') {
    if (hasMaps) {
      ctx.warnings.push('linux.uidMappings: ignored, the user namespace is joined by path and keeps its own mappings');
    }
  } else {
    if (!linux.uidMappings?.length) throw internalError('linux.uidMappings', 'a new user namespace needs uid mappings');
    if (!linux.gidMappings?.length) throw internalError('linux.gidMappings', 'a new user namespace needs gid mappings');
    out.uidMap = idMapText('linux.uidMappings', linux.uidMappings);
    out.gidMap = idMapText('linux.gidMappings', linux.gidMappings);
  }
  if (linux.timeOffsets !== undefined) {
    if (!ns.has('time')) throw internalError('linux.timeOffsets', 'time offsets are set, but there is no time namespace');
    if (ns.get('time') !== '') {
      throw internalError('linux.timeOffsets', 'the time namespace is joined by path; offsets can only be given to a new one');
    }
    const text = timeOffsetsText(linux.timeOffsets);
    if (text) out.timensOffsets = text;
  }
  return out;
}
