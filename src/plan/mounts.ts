// OCI mounts → plan mounts. The option table follows runc's libcontainer/specconv/spec_linux.go
// (mountFlags, mountPropagationMapping, recAttrFlags, extensionFlags, complexFlags) and the bind handling
// follows libcontainer/rootfs_linux.go (mountToRootfs, createOpenMountpoint, checkProcMount).
import * as path from 'node:path';
import type { IDMapping, Mount, Spec } from '../spec/types';
import type { PlanMount } from './types';
import { internalError, planError, noNul, cleanAbs, type PlanContext } from './util';
import { idMapText } from './namespaces';
import { planCgroupMount } from './cgroupfs';

export const MS_RDONLY = 0x1n;
export const MS_NOSUID = 0x2n;
export const MS_NODEV = 0x4n;
export const MS_NOEXEC = 0x8n;
export const MS_SYNCHRONOUS = 0x10n;
export const MS_REMOUNT = 0x20n;
export const MS_MANDLOCK = 0x40n;
export const MS_DIRSYNC = 0x80n;
export const MS_NOSYMFOLLOW = 0x100n;
export const MS_NOATIME = 0x400n;
export const MS_NODIRATIME = 0x800n;
export const MS_BIND = 0x1000n;
export const MS_REC = 0x4000n;
export const MS_SILENT = 0x8000n;
export const MS_UNBINDABLE = 0x20000n;
export const MS_PRIVATE = 0x40000n;
export const MS_SLAVE = 0x80000n;
export const MS_SHARED = 0x100000n;
export const MS_RELATIME = 0x200000n;
export const MS_I_VERSION = 0x800000n;
export const MS_STRICTATIME = 0x1000000n;
export const MS_LAZYTIME = 0x2000000n;

export const MOUNT_ATTR_RDONLY = 0x1n;
export const MOUNT_ATTR_NOSUID = 0x2n;
export const MOUNT_ATTR_NODEV = 0x4n;
export const MOUNT_ATTR_NOEXEC = 0x8n;
export const MOUNT_ATTR__ATIME = 0x70n;
export const MOUNT_ATTR_RELATIME = 0x0n;
export const MOUNT_ATTR_NOATIME = 0x10n;
export const MOUNT_ATTR_STRICTATIME = 0x20n;
export const MOUNT_ATTR_NODIRATIME = 0x80n;
export const MOUNT_ATTR_IDMAP = 0x100000n;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000n;

export type MountOptionKind = 'flag' | 'propagation' | 'recursive' | 'idmap' | 'copyup' | 'unsupported';

export interface MountOptionEntry {
  kind: MountOptionKind;
  /** flag: MS_* set or cleared; propagation: MS_* (with MS_REC); recursive: MOUNT_ATTR_* set or cleared. */
  value: bigint;
  clear?: boolean;
  /** idmap: applied to the whole tree (ridmap). */
  recursive?: boolean;
}

const f = (value: bigint, clear = false): MountOptionEntry => ({ kind: 'flag', value, clear });
const p = (value: bigint): MountOptionEntry => ({ kind: 'propagation', value });
const r = (value: bigint, clear = false): MountOptionEntry => ({ kind: 'recursive', value, clear });

/** Every mount option tsrun knows; anything else is filesystem data (as in runc). */
export const mountOptionTable: Record<string, MountOptionEntry> = {
  async: f(MS_SYNCHRONOUS, true),
  atime: f(MS_NOATIME, true),
  bind: f(MS_BIND),
  defaults: f(0n),
  dev: f(MS_NODEV, true),
  diratime: f(MS_NODIRATIME, true),
  dirsync: f(MS_DIRSYNC),
  exec: f(MS_NOEXEC, true),
  iversion: f(MS_I_VERSION),
  lazytime: f(MS_LAZYTIME),
  loud: f(MS_SILENT, true),
  mand: f(MS_MANDLOCK),
  noatime: f(MS_NOATIME),
  nodev: f(MS_NODEV),
  nodiratime: f(MS_NODIRATIME),
  noexec: f(MS_NOEXEC),
  noiversion: f(MS_I_VERSION, true),
  nolazytime: f(MS_LAZYTIME, true),
  nomand: f(MS_MANDLOCK, true),
  norelatime: f(MS_RELATIME, true),
  nostrictatime: f(MS_STRICTATIME, true),
  nosuid: f(MS_NOSUID),
  nosymfollow: f(MS_NOSYMFOLLOW),
  rbind: f(MS_BIND | MS_REC),
  relatime: f(MS_RELATIME),
  remount: f(MS_REMOUNT),
  ro: f(MS_RDONLY),
  rw: f(MS_RDONLY, true),
  silent: f(MS_SILENT),
  strictatime: f(MS_STRICTATIME),
  suid: f(MS_NOSUID, true),
  symfollow: f(MS_NOSYMFOLLOW, true),
  sync: f(MS_SYNCHRONOUS),

  private: p(MS_PRIVATE),
  rprivate: p(MS_PRIVATE | MS_REC),
  shared: p(MS_SHARED),
  rshared: p(MS_SHARED | MS_REC),
  slave: p(MS_SLAVE),
  rslave: p(MS_SLAVE | MS_REC),
  unbindable: p(MS_UNBINDABLE),
  runbindable: p(MS_UNBINDABLE | MS_REC),

  rro: r(MOUNT_ATTR_RDONLY),
  rrw: r(MOUNT_ATTR_RDONLY, true),
  rnosuid: r(MOUNT_ATTR_NOSUID),
  rsuid: r(MOUNT_ATTR_NOSUID, true),
  rnodev: r(MOUNT_ATTR_NODEV),
  rdev: r(MOUNT_ATTR_NODEV, true),
  rnoexec: r(MOUNT_ATTR_NOEXEC),
  rexec: r(MOUNT_ATTR_NOEXEC, true),
  rnodiratime: r(MOUNT_ATTR_NODIRATIME),
  rdiratime: r(MOUNT_ATTR_NODIRATIME, true),
  rrelatime: r(MOUNT_ATTR_RELATIME),
  rnorelatime: r(MOUNT_ATTR_RELATIME, true),
  rnoatime: r(MOUNT_ATTR_NOATIME),
  ratime: r(MOUNT_ATTR_NOATIME, true),
  rstrictatime: r(MOUNT_ATTR_STRICTATIME),
  rnostrictatime: r(MOUNT_ATTR_STRICTATIME, true),
  rnosymfollow: r(MOUNT_ATTR_NOSYMFOLLOW),
  rsymfollow: r(MOUNT_ATTR_NOSYMFOLLOW, true),

  idmap: { kind: 'idmap', value: MOUNT_ATTR_IDMAP, recursive: false },
  ridmap: { kind: 'idmap', value: MOUNT_ATTR_IDMAP, recursive: true },

  tmpcopyup: { kind: 'copyup', value: 0n },
};

/** A mount's options, resolved. */
export interface ParsedOptions {
  flags: bigint;
  /** MS_* flags an option explicitly cleared ("rw", "suid"...): they make a bind remount necessary. */
  clearedFlags: bigint;
  propagation: bigint[];
  attrSet: bigint;
  attrClr: bigint;
  /** Unknown options, with their index in options[] (for error messages), joined by "," into data. */
  data: { option: string; index: number }[];
  idmap?: { recursive: boolean; index: number };
  /** tmpcopyup, with its index in options[]. */
  tmpcopyup?: number;
}

export function parseMountOptions(where: string, options: string[]): ParsedOptions {
  const o: ParsedOptions = { flags: 0n, clearedFlags: 0n, propagation: [], attrSet: 0n, attrClr: 0n, data: [] };
  options.forEach((opt, i) => {
    noNul(`${where}[${i}]`, opt);
    const e = Object.prototype.hasOwnProperty.call(mountOptionTable, opt) ? mountOptionTable[opt] : undefined;
    if (!e) {
      o.data.push({ option: opt, index: i });
      return;
    }
    switch (e.kind) {
      case 'flag':
        if (e.clear) {
          o.flags &= ~e.value;
          o.clearedFlags |= e.value;
        } else {
          o.flags |= e.value;
          o.clearedFlags &= ~e.value;
        }
        break;
      case 'propagation':
        o.propagation.push(e.value);
        break;
      case 'recursive':
        if (e.clear) {
          o.attrClr |= e.value;
          o.attrSet &= ~e.value;
        } else {
          o.attrSet |= e.value;
          o.attrClr &= ~e.value;
        }
        // An atime attribute replaces the whole atime field: clear it, set the one asked for (as runc does).
        if ((e.value & MOUNT_ATTR__ATIME) === e.value) o.attrClr |= MOUNT_ATTR__ATIME;
        break;
      case 'idmap':
        o.idmap = { recursive: !!e.recursive, index: i };
        break;
      case 'copyup':
        o.tmpcopyup = i;
        break;
      case 'unsupported':
        throw planError(`${where}[${i}]`, `mount option "${opt}" is not supported by tsrun`);
    }
  });
  return o;
}

/** Container paths a mount may cover inside /proc (runc's checkProcMount list, for lxcfs). */
const PROC_ALLOWED = [
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
];

export interface MountsInput {
  spec: Spec;
  bundle: string;
  /** The config's namespaces (type → path, "" for a new one). */
  namespaces: Map<string, string>;
  cgroupProcs: string[];
}

export interface MountsPlan {
  mounts: PlanMount[];
  symlinks: { target: string; path: string }[];
}

export function planMounts(input: MountsInput, ctx: PlanContext): MountsPlan {
  const out: MountsPlan = { mounts: [], symlinks: [] };
  (input.spec.mounts ?? []).forEach((m, i) => planOneMount(input, ctx, m, i, out));
  return out;
}

function planOneMount(input: MountsInput, ctx: PlanContext, m: Mount, i: number, out: MountsPlan): void {
  const where = `mounts[${i}]`;
  if (typeof m.destination !== 'string' || m.destination === '') {
    throw internalError(`${where}.destination`, 'is required');
  }
  noNul(`${where}.destination`, m.destination);
  if (!m.destination.startsWith('/')) {
    ctx.warnings.push(`${where}.destination: "${m.destination}" is not absolute; taken as relative to /`);
  }
  const dest = cleanAbs(m.destination);
  if (dest === '/') throw planError(`${where}.destination`, 'cannot mount over the container root');
  if (m.source !== undefined) noNul(`${where}.source`, m.source);
  if (m.type !== undefined) noNul(`${where}.type`, m.type);

  const o = parseMountOptions(`${where}.options`, m.options ?? []);
  // "type": "bind" without bind/rbind in the options: taken as a plain bind, like mount(8) -t bind.
  if (m.type === 'bind' && (o.flags & MS_BIND) === 0n) o.flags |= MS_BIND;
  const isBind = (o.flags & MS_BIND) !== 0n;
  checkProcDest(where, dest, isBind, m.type);

  const pm: PlanMount = { source: '', destination: dest, flags: o.flags, propagation: o.propagation };
  if (o.attrSet !== 0n || o.attrClr !== 0n) {
    pm.attrSet = o.attrSet;
    pm.attrClr = o.attrClr;
  }

  if (isBind) {
    if (!m.source) throw planError(`${where}.source`, 'a bind mount needs a source');
    // a bind has no filesystem to give data to: runc and mount(8) ignore it
    for (const d of o.data) ctx.warnings.push(`${where}.options[${d.index}]: "${d.option}" is ignored on a bind mount`);
    pm.source = path.isAbsolute(m.source) ? m.source : path.join(input.bundle, m.source);
    const st = ctx.host.statHost(pm.source);
    if (!st) throw planError(`${where}.source`, `bind source "${pm.source}" does not exist`);
    if (st.kind !== 'dir') pm.destIsFile = true;
    // The first MS_BIND keeps the source's flags; a second MS_BIND|MS_REMOUNT applies the asked ones
    // (runc: only when some flag beyond bind/rec/remount was set or cleared).
    if ((o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) !== 0n || o.clearedFlags !== 0n) pm.remountFlags = o.flags;
  } else {
    pm.source = m.source ?? m.type ?? 'none';
    if (m.type !== undefined) pm.type = m.type;
    const data = o.data.map((d) => d.option);
    const label = input.spec.linux?.mountLabel;
    if (label && ctx.host.selinuxEnabled && !['proc', 'sysfs', 'mqueue', 'cgroup', 'cgroup2'].includes(m.type ?? '')) {
      data.push(`context="${label}"`);
    }
    if (data.length > 0) pm.data = data.join(',');
  }

  if (o.idmap || m.uidMappings !== undefined || m.gidMappings !== undefined) {
    if (!isBind) throw planError(where, 'idmapped mounts must be bind mounts');
    Object.assign(pm, idmapFor(input, where, m, o));
    if (o.idmap?.recursive) pm.idmapRecursive = true;
  }

  if (o.tmpcopyup !== undefined) {
    // config.md#linux-mount-options: "copy up the contents to a tmpfs"
    if (m.type !== 'tmpfs' || isBind) throw planError(`${where}.options[${o.tmpcopyup}]`, 'tmpcopyup is for tmpfs mounts');
    pm.tmpcopyup = true;
  }

  if (!isBind && m.type === 'cgroup') {
    const cg = planCgroupMount(ctx, { where, dest, source: pm.source, flags: o.flags, data: pm.data, propagation: o.propagation }, {
      cgroupns: input.namespaces.has('cgroup'),
      cgroupProcs: input.cgroupProcs,
    });
    out.mounts.push(...cg.mounts);
    out.symlinks.push(...cg.symlinks);
    return;
  }
  out.mounts.push(pm);
}

/** runc's checkProcMount, lexically: only proc (or a bind) over /proc, and inside it only the lxcfs files. */
function checkProcDest(where: string, dest: string, isBind: boolean, type: string | undefined): void {
  if (dest === '/proc') {
    if (isBind || type === 'proc') return;
    throw planError(`${where}.destination`, `"/proc" cannot be mounted because it is not of type proc`);
  }
  if (dest.startsWith('/proc/') && !PROC_ALLOWED.includes(dest)) {
    throw planError(`${where}.destination`, `"${dest}" cannot be mounted because it is inside /proc`);
  }
}

/**
 * The user namespace that carries an idmapped mount's mapping (config.md#linux-mount-options idmap): the mount's
 * own uidMappings/gidMappings win, written as given ("containerID hostID size": the id on the source filesystem,
 * the id seen through the mount); without them the container's user namespace, by its path when joined, else by
 * its mappings. The init makes a user namespace for maps.
 */
function idmapFor(input: MountsInput, where: string, m: Mount, o: ParsedOptions): Pick<PlanMount, 'idmapUserns' | 'idmapMaps'> {
  const idmapWhere = o.idmap ? `${where}.options[${o.idmap.index}]` : `${where}.uidMappings`;
  if (m.uidMappings !== undefined || m.gidMappings !== undefined) {
    if (!m.uidMappings?.length || !m.gidMappings?.length) {
      throw internalError(where, 'an idmapped mount needs both uidMappings and gidMappings');
    }
    return { idmapMaps: mapsText(where, m.uidMappings, m.gidMappings) };
  }
  const userns = input.namespaces.get('user');
  if (userns === undefined) {
    throw internalError(idmapWhere, 'an idmapped mount needs uidMappings and gidMappings on the mount, or a user namespace');
  }
  if (userns !== '') return { idmapUserns: userns };
  const linux = input.spec.linux ?? {};
  return { idmapMaps: mapsText('linux', linux.uidMappings ?? [], linux.gidMappings ?? []) };
}

function mapsText(where: string, uid: IDMapping[], gid: IDMapping[]): { uidMap: string; gidMap: string } {
  return { uidMap: idMapText(`${where}.uidMappings`, uid), gidMap: idMapText(`${where}.gidMappings`, gid) };
}

/** runc's needsSetupDev: /dev is set up (nodes, symlinks) unless the config bind-mounts something over it. */
export function devIsBindMounted(mounts: PlanMount[]): boolean {
  return mounts.some((m) => (m.flags & MS_BIND) !== 0n && m.destination === '/dev');
}
