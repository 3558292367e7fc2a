// Cgroups of a rootless container, as runc 1.1.5's rootless cgroupfs manager
// treats them (checked as a real user on this host, test/rootless/):
//  - with no linux.cgroupsPath, a hierarchy where the caller cannot make (or
//    join) the container's directory is left out, and the container stays in
//    the caller's cgroup there; with a cgroupsPath every failure is an error;
//  - a resource whose hierarchy was left out fails create (runc: "cannot set
//    memory limit: container could not join or create cgroup");
//  - device rules are not applied: only root may write them (v1 devices.allow,
//    v2 a bpf program), and runc ignores their errors when rootless.
// Where the caller may write (a delegated subtree), everything works as for root.
import { accessSync, constants as fsConstants } from 'node:fs';
import { TsrunError } from '../errors';
import type { Resources } from '../spec/types';
import type { CgroupFs } from './fs';
import type { CgroupManager } from './manager';
import { cannotApply, field, parentDir } from './util';
import { fieldsFor } from './v1/fields';

/** The real check: whether this process may create entries in `dir` (or write `file`). */
export function mayWrite(p: string): boolean {
  try {
    accessSync(p, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether the caller can make `dir` (its nearest existing ancestor is writable) and join it. */
export function canUse(fs: CgroupFs, dir: string, writable: (p: string) => boolean = mayWrite): boolean {
  if (fs.exists(dir)) {
    // joining writes "0" to tasks (v1) or a pid to cgroup.procs
    return ['tasks', 'cgroup.procs'].some((f) => fs.exists(`${dir}/${f}`) && writable(`${dir}/${f}`));
  }
  let d = parentDir(dir);
  while (d !== '/' && !fs.exists(d)) d = parentDir(d);
  return writable(d);
}

export interface RootlessSplit {
  kept: Record<string, string>;
  /** hierarchy key -> the directory the caller could not make or join */
  left: Record<string, string>;
}

/** Splits the container's paths into those the caller can use and those it cannot. */
export function splitRootlessPaths(
  fs: CgroupFs,
  paths: Record<string, string>,
  cgroupsPathGiven: boolean,
  writable: (p: string) => boolean = mayWrite,
): RootlessSplit {
  const kept: Record<string, string> = {};
  const left: Record<string, string> = {};
  if (cgroupsPathGiven) return { kept: { ...paths }, left };
  const verdict = new Map<string, boolean>(); // co-mounted controllers share a directory
  for (const [k, dir] of Object.entries(paths)) {
    if (!verdict.has(dir)) verdict.set(dir, canUse(fs, dir, writable));
    if (verdict.get(dir)) kept[k] = dir;
    else left[k] = dir;
  }
  return { kept, left };
}

const V1_CONTROLLERS = ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'net_cls', 'net_prio', 'rdma'];

/** The config fields a left-out hierarchy would carry; "unified" on v2 is the one cgroup, so every field. */
function fieldsOf(key: string, r: Resources, v2: boolean): string[] {
  const hugetlb = r.hugepageLimits?.length ? [field('hugepageLimits')] : [];
  const unified = r.unified && Object.keys(r.unified).length ? [field('unified')] : [];
  if (key === 'unified') return v2 ? [...V1_CONTROLLERS.flatMap((c) => fieldsFor(c, r)), ...hugetlb, ...unified] : [...hugetlb, ...unified];
  if (key === 'hugetlb') return hugetlb;
  return fieldsFor(key, r);
}

/** Wraps the cgroupfs manager of the kept hierarchies (none: `inner` undefined). */
export class RootlessManager implements CgroupManager {
  readonly version: 'v1' | 'v2';

  constructor(
    private readonly inner: CgroupManager | undefined,
    private readonly left: Record<string, string>,
    version: 'v1' | 'v2',
  ) {
    this.version = version;
  }

  get paths(): Record<string, string> {
    return this.inner?.paths ?? {};
  }

  procsFiles(): string[] {
    return this.inner?.procsFiles() ?? [];
  }

  create(): void {
    this.inner?.create();
  }

  addProcess(pid: number): void {
    this.inner?.addProcess(pid);
  }

  private checked(r: Resources): Resources {
    const key = Object.keys(this.left).find((k) => k !== 'devices' && !k.startsWith('name=') && fieldsOf(k, r, this.version === 'v2').length > 0);
    if (key) {
      const f = fieldsOf(key, r, this.version === 'v2')[0];
      const which = key === 'unified' ? (this.version === 'v2' ? 'cgroup' : 'cgroup2 cgroup') : `${key} cgroup`;
      throw cannotApply(f, `a rootless container could not create or join its ${which} (${this.left[key]}: permission denied); give it a cgroup it may write, or no such limit`);
    }
    const { devices: _devices, ...rest } = r;
    return rest;
  }

  // checked first: `inner?.apply(checked(r))` would skip the check when there is no inner manager
  apply(resources: Resources | undefined): void {
    if (!resources) return;
    const r = this.checked(resources);
    this.inner?.apply(r);
  }

  update(resources: Resources): void | Promise<void> {
    const r = this.checked(resources);
    return this.inner?.update(r);
  }

  destroy(): void | Promise<void> {
    return this.inner?.destroy();
  }

  exists(): boolean {
    return this.inner?.exists() ?? false;
  }

  pids(): number[] {
    return this.inner?.pids() ?? [];
  }

  killAll(signal?: NodeJS.Signals | number): void {
    this.inner?.killAll(signal);
  }

  freeze(): void {
    if (!this.inner) throw new TsrunError('a rootless container without a cgroup cannot be frozen');
    this.inner.freeze();
  }

  thaw(): void {
    this.inner?.thaw();
  }

  isFrozen(): boolean {
    return this.inner?.isFrozen() ?? false;
  }

  stats(): ReturnType<CgroupManager['stats']> {
    if (!this.inner) throw new TsrunError('a rootless container without a cgroup has no stats');
    return this.inner.stats();
  }

  oomKillCount(): ReturnType<CgroupManager['oomKillCount']> {
    if (!this.inner) throw new TsrunError('a rootless container without a cgroup has no OOM count');
    return this.inner.oomKillCount();
  }

  watchOom(onOom: () => void, opts?: Parameters<CgroupManager['watchOom']>[1]): () => void {
    return this.inner ? this.inner.watchOom(onOom, opts) : () => undefined;
  }
}
