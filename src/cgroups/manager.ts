// The one interface the runtime uses for a container's cgroup, whatever the
// host has: cgroup v1 (pure or hybrid, v1/manager.ts) or v2 (v2/manager.ts).
//
//   const cg = cgroupManager({ id, cgroupsPath: spec.linux?.cgroupsPath });
//   cg.create(); cg.apply(spec.linux?.resources); cg.addProcess(initPid);
//   state.cgroupPaths = cg.paths;                 // saved by `create`
//   cgroupManagerFromPaths(state.cgroupPaths)    // reopened by delete/pause/ps/update/events
//
// Device rules: the runtime merges runc's defaults first, see
// withDefaultDeviceRules() in device-rules.ts.

import { TsrunError } from '../errors';
import type { Resources } from '../spec/types';
import type { OomWatchOptions } from './common';
import { Detected, detect } from './detect';
import { CgroupFs, realFs } from './fs';
import { resolvePaths } from './paths';
import type { Stats } from './stats';
import type { U64 } from './util';
import { V1Manager } from './v1/manager';
import type { BpfSys } from './v2/bpf-sys';
import { V2Manager } from './v2/manager';
import { SystemdManager, connectSystemd, type SystemdUnitRecord } from './systemd/manager';
import { systemdUnitPath } from './systemd/unit-path';
import { RootlessManager, splitRootlessPaths } from './rootless';

export interface CgroupManager {
  /** 'v1' covers hybrid hosts too (paths.unified is then set as well). */
  readonly version: 'v1' | 'v2';
  /** controller (or "name=systemd", or "unified" for the cgroup2 dir) -> absolute directory. */
  readonly paths: Record<string, string>;
  /** The systemd driver's unit, which the container's state keeps; absent with cgroupfs. */
  readonly systemdUnit?: SystemdUnitRecord;
  /** The cgroup.procs files the container's init joins: every v1 hierarchy, plus the unified one on hybrid/v2. */
  procsFiles(): string[];
  /**
   * mkdir -p every directory (cpuset values copied down on v1, controllers enabled on v2). The systemd driver
   * starts its unit here, with the init's pid and the resources systemd has properties for.
   */
  create(o?: { pid?: number; resources?: Resources }): void | Promise<void>;
  /** Move `pid` into the cgroup (writes every procsFiles() entry). */
  addProcess(pid: number): void;
  /** Apply the config's resources, for `create` (before any process joins). */
  apply(resources: Resources | undefined): void;
  /** Change resources of a running container (`update`): checkBeforeUpdate, device diffs. */
  update(resources: Resources): void | Promise<void>;
  /** Remove the directories (sub-cgroups first), retrying ~1 s while busy; systemd: stop the unit. Kills nothing. */
  destroy(): void | Promise<void>;
  /** Whether the container's cgroup still exists. */
  exists(): boolean;
  /** Every pid in the cgroup, sub-cgroups included. */
  pids(): number[];
  /** Signal every process (`kill --all`): freezes first so nothing forks past it. */
  killAll(signal?: NodeJS.Signals | number): void;
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** `runc events --stats` data; print with statsJson(). */
  stats(): Stats;
  /** The kernel's count of OOM kills in the cgroup. */
  oomKillCount(): U64;
  /** Call `onOom` for each OOM kill from now on (polling); returns stop(). */
  watchOom(onOom: () => void, opts?: OomWatchOptions): () => void;
}

export interface CgroupManagerOptions {
  id: string;
  cgroupsPath?: string;
  /** --systemd-cgroup: cgroupsPath is "slice:prefix:name" and systemd owns the cgroup (systemd/manager.ts). */
  systemd?: boolean;
  fs?: CgroupFs;
  /** The host's layout; detected from /proc/self when absent. */
  layout?: Detected;
  /** bpf() for the v2 device filter (a fake in unit tests). */
  bpf?: BpfSys;
  /** --rootless: hierarchies the caller cannot use are left out, as runc does (rootless.ts). */
  rootless?: boolean;
  /** For the rootless check, instead of access(2) (unit tests). */
  writable?: (path: string) => boolean;
  /** systemd + rootless: the user manager's own cgroup (its ControlGroup), which the unit's cgroup is below. */
  userManagerCgroup?: string;
  /** systemd: a connection being opened, for the unit calls (openCgroupManager). */
  early?: Promise<import('./systemd/systemd').Systemd>;
}

/** runc refuses it as well: systemd delegates a cgroup to a user only on the unified hierarchy. */
function rootlessSystemdNeedsV2(layout: Detected): void {
  if (layout.mode !== 'v2') {
    throw new TsrunError(
      `--systemd-cgroup for a rootless container needs cgroup v2 (this host has cgroup ${layout.mode === 'hybrid' ? 'v1, hybrid' : 'v1'}: systemd delegates no v1 cgroup to a user); use the cgroupfs driver`,
    );
  }
}

export function cgroupManager(opts: CgroupManagerOptions): CgroupManager {
  const fs = opts.fs ?? realFs;
  const layout = opts.layout ?? detect(fs);
  if (opts.systemd) {
    const rootless = Boolean(opts.rootless);
    if (rootless) rootlessSystemdNeedsV2(layout);
    const unit = systemdUnitPath(opts.id, opts.cgroupsPath, { rootless });
    let cgroup = unit.cgroup;
    if (rootless) {
      if (!opts.userManagerCgroup) throw new Error('internal error: a rootless systemd cgroup needs the user manager\'s cgroup');
      cgroup = opts.userManagerCgroup.replace(/\/$/, '') + unit.cgroup;
    }
    let inner = cgroupfsManager(fs, layout, resolvePaths(layout, opts.id, cgroup), opts.bpf);
    // only root may load the v2 device program; runc ignores that failure when rootless, and so the rules
    if (rootless) inner = new RootlessManager(inner, {}, 'v2');
    const record: SystemdUnitRecord = rootless ? { unit: unit.unit, slice: unit.slice, user: true } : { unit: unit.unit, slice: unit.slice };
    return new SystemdManager(inner, record, opts.id, { reopened: false, early: opts.early });
  }
  const paths = resolvePaths(layout, opts.id, opts.cgroupsPath);
  if (opts.rootless) {
    const { kept, left } = splitRootlessPaths(fs, paths, Boolean(opts.cgroupsPath), opts.writable);
    const version = layout.mode === 'v2' ? 'v2' : 'v1';
    const inner = Object.keys(kept).length ? cgroupfsManager(fs, layout, kept, opts.bpf) : undefined;
    return new RootlessManager(inner, left, version);
  }
  return cgroupfsManager(fs, layout, paths, opts.bpf);
}

/**
 * cgroupManager for `create`. The systemd driver starts connecting to its manager here, so that the connection
 * is made while the plan is built; a rootless caller's unit needs the user manager's cgroup first.
 */
export async function openCgroupManager(opts: CgroupManagerOptions): Promise<CgroupManager> {
  if (!opts.systemd) return cgroupManager(opts);
  const layout = opts.layout ?? detect(opts.fs ?? realFs);
  if (opts.rootless) rootlessSystemdNeedsV2(layout); // before any connection
  systemdUnitPath(opts.id, opts.cgroupsPath); // a bad cgroupsPath is told before any connection
  const early = connectSystemd(Boolean(opts.rootless));
  try {
    const userManagerCgroup = opts.rootless ? await (await early).managerControlGroup() : undefined;
    return cgroupManager({ ...opts, layout, early, userManagerCgroup });
  } catch (e) {
    early.then((sd) => sd.close(), () => undefined);
    throw e;
  }
}

function cgroupfsManager(fs: CgroupFs, layout: Detected, paths: Record<string, string>, bpf: BpfSys | undefined): CgroupManager {
  if (layout.mode === 'v2') return new V2Manager(fs, paths, { mountPoint: layout.unified!.mountPoint, bpf });
  // Hybrid hosts use v1's devices controller; bpf() is for pure v2 only.
  return new V1Manager(fs, paths, { unifiedMount: layout.mode === 'hybrid' ? layout.unified?.mountPoint : undefined });
}

/**
 * Reopen a container's cgroup from the `paths` its `create` saved; no detection. With the systemd unit it saved,
 * the systemd driver (update and delete reach the unit; everything else is the files).
 */
export function cgroupManagerFromPaths(
  paths: Record<string, string>,
  opts: { fs?: CgroupFs; bpf?: BpfSys; systemd?: SystemdUnitRecord; id?: string } = {},
): CgroupManager {
  const fs = opts.fs ?? realFs;
  const v1Keys = Object.keys(paths).filter((k) => k !== 'unified');
  let inner: CgroupManager = v1Keys.length === 0 ? new V2Manager(fs, { ...paths }, { bpf: opts.bpf }) : new V1Manager(fs, { ...paths });
  if (opts.systemd?.user) inner = new RootlessManager(inner, {}, 'v2');
  return opts.systemd ? new SystemdManager(inner, opts.systemd, opts.id ?? '') : inner;
}

/**
 * What runc 1.1.5 checks before `create` uses an existing cgroup: a frozen one
 * is an error; one with processes in it only gets a warning (returned).
 */
export function checkBeforeCreate(cg: CgroupManager): string[] {
  if (!cg.exists()) return [];
  if (cg.isFrozen()) throw new TsrunError("container's cgroup unexpectedly frozen");
  const n = cg.pids().length;
  return n ? [`container's cgroup is not empty: ${n} process(es) found`] : [];
}

export type { Stats } from './stats';
export type { Detected } from './detect';
export type { CgroupFs } from './fs';
