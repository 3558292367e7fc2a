// linux.namespaces and what needs a namespace of its own: hostname and
// domainname, the user namespace's id mappings, the time namespace's offsets.
// Citations as in index.ts.

import type { IDMapping } from '../types';
import { jsonPath, type PathSegment } from '../problem';
import type { HostLookups } from './host';
import { Collector, arr, isAbs, isNum, isObj, isStr, quote, type Obj } from './shared';

interface NsEntry {
  index: number;
  path?: string;
}
export type NsTable = Map<string, NsEntry>;

/**
 * config-linux.md#namespaces: "If a namespaces field contains duplicated
 * namespaces with same type, the runtime MUST generate an error"; path "MUST
 * be an absolute path in the runtime mount namespace".
 */
export function namespaceTable(linux: Obj, c: Collector): NsTable {
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
export function checkUts(spec: Obj, ns: NsTable, c: Collector): void {
  for (const k of ['hostname', 'domainname']) {
    if (isStr(spec[k]) && spec[k] !== '' && !ns.has('uts')) {
      c.error([k], `unable to set ${k} without a private UTS namespace (add {"type": "uts"} to linux.namespaces)`);
    }
  }
}

export function checkIdMappings(list: unknown, at: PathSegment[], c: Collector): void {
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
export function checkUserNamespace(linux: Obj, ns: NsTable, host: HostLookups, c: Collector): void {
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
export function checkTimeNamespace(linux: Obj, ns: NsTable, c: Collector): void {
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
