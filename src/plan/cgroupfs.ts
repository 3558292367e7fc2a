// Mounts of "type": "cgroup". Learned from runc's libcontainer/rootfs_linux.go (mountCgroupV1, mountCgroupV2,
// getCgroupMounts):
// - v1 (also hybrid hosts): a tmpfs (nosuid,nodev,noexec, mode=755) at the destination, then one mount per
//   hierarchy at <destination>/<basename of the host mountpoint>: with a cgroup namespace a fresh
//   `cgroup` mount of that hierarchy's controllers; without one a bind of the container's own cgroup
//   directory on the host. Combined hierarchies ("cpu,cpuacct") also get one symlink per controller.
// - unified (v2) hosts: a cgroup2 mount with a cgroup namespace; without one, a bind of the container's
//   cgroup2 directory (runc first tries cgroup2 and binds only when that fails; tsrun always binds, so a
//   container without a cgroup namespace sees its own cgroup, as on v1, and never the host's whole tree).
import * as path from 'node:path';
import type { PlanMount } from './types';
import type { CgroupV1Hierarchy } from './host';
import { planError, type PlanContext } from './util';

const MS_RDONLY = 0x1n;
const MS_NOSUID = 0x2n;
const MS_NODEV = 0x4n;
const MS_NOEXEC = 0x8n;
const MS_REMOUNT = 0x20n;
const MS_BIND = 0x1000n;
const MS_REC = 0x4000n;
const DEFAULT_FLAGS = MS_NOEXEC | MS_NOSUID | MS_NODEV;

export interface CgroupMountRequest {
  where: string;
  dest: string;
  source: string;
  flags: bigint;
  data?: string;
  propagation: bigint[];
}

export interface CgroupMountOptions {
  /** The container has a cgroup namespace (new or joined). */
  cgroupns: boolean;
  /** The cgroup.procs files the container joins; their directories are its cgroups. */
  cgroupProcs: string[];
}

function under(dir: string, mountpoint: string): boolean {
  return dir === mountpoint || dir.startsWith(mountpoint.endsWith('/') ? mountpoint : mountpoint + '/');
}

/** The container's directory in a hierarchy: from cgroupProcs, else the cgroup the init inherits. */
function containerDir(mountpoint: string, cgroupProcs: string[], fallback: { root: string; own: string }): string {
  for (const p of cgroupProcs) {
    const dir = path.posix.dirname(p);
    if (under(dir, mountpoint)) return dir;
  }
  const rel = path.posix.relative(fallback.root, fallback.own);
  return rel.startsWith('..') ? mountpoint : path.posix.join(mountpoint, rel);
}

function bindMount(src: string, dest: string, flags: bigint, propagation: bigint[]): PlanMount {
  const m: PlanMount = { source: src, destination: dest, flags: flags | MS_BIND, propagation: [...propagation] };
  if ((m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) !== 0n) m.remountFlags = m.flags;
  return m;
}

export function planCgroupMount(
  ctx: PlanContext,
  req: CgroupMountRequest,
  opts: CgroupMountOptions,
): { mounts: PlanMount[]; symlinks: { target: string; path: string }[] } {
  const cg = ctx.host.cgroup;
  if (cg.unified) {
    const mp = cg.v2Mountpoint ?? '/sys/fs/cgroup';
    if (opts.cgroupns) {
      const m: PlanMount = {
        source: req.source,
        destination: req.dest,
        type: 'cgroup2',
        flags: req.flags,
        propagation: [...req.propagation],
      };
      if (req.data) m.data = req.data;
      return { mounts: [m], symlinks: [] };
    }
    const src = containerDir(mp, opts.cgroupProcs, { root: '/', own: cg.v2OwnPath ?? '/' });
    return { mounts: [bindMount(src, req.dest, req.flags, req.propagation)], symlinks: [] };
  }

  if (cg.v1.length === 0) throw planError(req.where, 'this host has no cgroup hierarchy mounted');
  const mounts: PlanMount[] = [
    {
      source: 'tmpfs',
      destination: req.dest,
      type: 'tmpfs',
      flags: DEFAULT_FLAGS,
      data: 'mode=755',
      propagation: [...req.propagation],
    },
  ];
  const symlinks: { target: string; path: string }[] = [];
  const seen = new Set<string>();
  for (const h of cg.v1) {
    const name = path.posix.basename(h.mountpoint);
    if (seen.has(name)) continue; // two hierarchies cannot share one directory
    seen.add(name);
    const dest = path.posix.join(req.dest, name);
    mounts.push(opts.cgroupns ? nsMount(h, dest, req.flags) : hostBind(h, dest, req, opts.cgroupProcs));
    if (name.includes(',')) {
      for (const part of name.split(',')) {
        if (part !== name) symlinks.push({ target: name, path: path.posix.join(req.dest, part) });
      }
    }
  }
  return { mounts, symlinks };
}

function nsMount(h: CgroupV1Hierarchy, dest: string, flags: bigint): PlanMount {
  const named = h.controllers.find((c) => c.startsWith('name='));
  return {
    source: named && h.controllers.length === 1 ? named.slice('name='.length) : 'cgroup',
    destination: dest,
    type: 'cgroup',
    flags: DEFAULT_FLAGS | (flags & MS_RDONLY),
    data: h.controllers.join(','),
    propagation: [],
  };
}

function hostBind(h: CgroupV1Hierarchy, dest: string, req: CgroupMountRequest, cgroupProcs: string[]): PlanMount {
  const src = containerDir(h.mountpoint, cgroupProcs, { root: h.root, own: h.ownPath });
  return bindMount(src, dest, MS_REC | req.flags, req.propagation);
}
