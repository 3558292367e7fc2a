// Device nodes and /dev symlinks. Learned from runc: libcontainer/specconv/spec_linux.go (AllowedDevices,
// createDevices) and libcontainer/rootfs_linux.go (needsSetupDev, createDevices, setupPtmx, setupDevSymlinks):
// - /dev is set up whenever the config does not bind-mount something over /dev (a tmpfs is not required:
//   without one the nodes are made in the rootfs's own /dev);
// - the default nodes (null, zero, full, random, urandom, tty; 0666 root:root) come first, minus any path
//   the config lists itself, then the config's devices (fileMode 0666 and uid/gid 0 when absent);
// - /dev/ptmx is never a node: it becomes a symlink to pts/ptmx (replacing whatever is there);
// - links /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, and /dev/core when the host has /proc/kcore;
// - in a user namespace (the container's or the runtime's own) nodes are bind-mounted from the host.
import type { LinuxDevice, Spec } from '../spec/types';
import type { PlanDevice } from './types';
import { internalError, planError, noNul, cleanAbs, requireUint, type PlanContext } from './util';

export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
const S_IFMT = 0o170000;

export interface DefaultDevice {
  path: string;
  major: number;
  minor: number;
}

/** runc's AllowedDevices that have a path: char devices, 0666, root:root. */
export const defaultDevices: DefaultDevice[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/tty', major: 5, minor: 0 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/urandom', major: 1, minor: 9 },
];

const DEVICE_TYPES: Record<string, number> = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO };

export interface DevicesPlan {
  devices: PlanDevice[];
  symlinks: { target: string; path: string }[];
}

export interface DevicesInput {
  spec: Spec;
  /** Nodes are bind-mounted from the host instead of made with mknod (user namespaces). */
  bind: boolean;
  /** The config bind-mounts over /dev: no nodes, no symlinks. */
  devBindMounted: boolean;
}

function configDevice(d: LinuxDevice, i: number, bind: boolean): PlanDevice {
  const where = `linux.devices[${i}]`;
  const type = DEVICE_TYPES[d.type];
  if (type === undefined) throw internalError(`${where}.type`, `unknown device type "${d.type}" (c, b, u or p)`);
  if (typeof d.path !== 'string' || d.path === '') throw internalError(`${where}.path`, 'is required');
  noNul(`${where}.path`, d.path);
  if (!d.path.startsWith('/')) throw internalError(`${where}.path`, `must be an absolute path, got "${d.path}"`);
  let major = 0;
  let minor = 0;
  if (type !== S_IFIFO) {
    if (d.major === undefined) throw internalError(`${where}.major`, `is required for a device of type "${d.type}"`);
    if (d.minor === undefined) throw internalError(`${where}.minor`, `is required for a device of type "${d.type}"`);
    major = requireUint(`${where}.major`, d.major);
    minor = requireUint(`${where}.minor`, d.minor);
  }
  const mode = d.fileMode === undefined ? 0o666 : requireUint(`${where}.fileMode`, d.fileMode) & ~S_IFMT;
  const dev: PlanDevice = {
    path: cleanAbs(d.path),
    type,
    major,
    minor,
    mode,
    uid: d.uid === undefined ? 0 : requireUint(`${where}.uid`, d.uid),
    gid: d.gid === undefined ? 0 : requireUint(`${where}.gid`, d.gid),
  };
  if (bind) dev.bind = true;
  return dev;
}

export function planDevices(input: DevicesInput, ctx: PlanContext): DevicesPlan {
  const configured = input.spec.linux?.devices ?? [];
  // Check the config's devices even when /dev is bind-mounted, so errors do not depend on the mounts.
  const fromConfig = configured.map((d, i) => configDevice(d, i, input.bind));
  if (input.devBindMounted) return { devices: [], symlinks: [] };

  const listed = new Set(fromConfig.map((d) => d.path));
  const devices: PlanDevice[] = [];
  for (const d of defaultDevices) {
    if (listed.has(d.path)) continue;
    if (input.bind && !hostHasNode(ctx, d.path)) {
      ctx.warnings.push(`${d.path}: not bound into the container, the host has no such device node`);
      continue;
    }
    const dev: PlanDevice = { path: d.path, type: S_IFCHR, major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0 };
    if (input.bind) dev.bind = true;
    devices.push(dev);
  }
  fromConfig.forEach((d, i) => {
    if (d.path === '/dev/ptmx') return; // ptmx is the symlink below, as in runc
    if (input.bind && !hostHasNode(ctx, d.path)) {
      throw planError(`linux.devices[${i}].path`, `"${d.path}" does not exist on the host, so it cannot be bound into a user namespace`);
    }
    devices.push(d);
  });

  const symlinks = [
    { target: 'pts/ptmx', path: '/dev/ptmx' },
    { target: '/proc/self/fd', path: '/dev/fd' },
    { target: '/proc/self/fd/0', path: '/dev/stdin' },
    { target: '/proc/self/fd/1', path: '/dev/stdout' },
    { target: '/proc/self/fd/2', path: '/dev/stderr' },
  ];
  if (ctx.host.procKcore) symlinks.push({ target: '/proc/kcore', path: '/dev/core' });
  return { devices, symlinks };
}

function hostHasNode(ctx: PlanContext, p: string): boolean {
  const st = ctx.host.statHost(p);
  return st !== undefined && st.kind !== 'dir';
}
