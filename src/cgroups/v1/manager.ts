// The cgroup v1 driver (pure v1 and hybrid hosts). One directory per
// hierarchy; on hybrid hosts also the unified (cgroup2) directory, which the
// init joins too and which carries hugetlb when hugetlb has no v1 hierarchy.

import { TsrunError } from '../../errors';
import type { Resources } from '../../spec/types';
import { OomWatchOptions, addProcessTo, pidsIn, pollOom, procsFilesOf, removeDirs, signalAll } from '../common';
import type { CgroupFs } from '../fs';
import type { CgroupManager } from '../manager';
import { uniqueDirs } from '../paths';
import { Stats, emptyStats } from '../stats';
import { CtlCtx, U64, cannotApply, field, parentDir, readControllers } from '../util';
import { enableControllers, findCgroup2Root, requireController } from '../v2/create';
import { applyHugetlbV2, hugetlbStatsV2 } from '../v2/hugetlb';
import { applyUnified } from '../v2/unified';
import { applyBlkio, blkioStats } from './blkio';
import { applyCpu, cpuStats, cpuacctStats } from './cpu';
import { applyCpuset, createCpuset, cpusetStats } from './cpuset';
import { applyDevices } from './devices';
import { freezeV1, isFrozenV1, thawV1 } from './freezer';
import { applyHugetlbV1, hugetlbStatsV1 } from './hugetlb';
import { applyMemory, memoryStats, oomKillCount, underOom } from './memory';
import { applyNetCls, applyNetPrio } from './net';
import { applyPids, pidsStats } from './pids';
import { applyRdma } from './rdma';

/** Which spec fields each v1 controller carries (for "no such hierarchy" errors). */
function fieldsFor(ctrl: string, r: Resources): string[] {
  const set = (o: object | undefined, keys: string[], prefix: string) =>
    keys.filter((k) => o && (o as Record<string, unknown>)[k] !== undefined).map((k) => field(`${prefix}.${k}`));
  switch (ctrl) {
    case 'cpu':
      return set(r.cpu, ['shares', 'quota', 'period', 'burst', 'idle', 'realtimeRuntime', 'realtimePeriod'], 'cpu');
    case 'cpuset':
      return set(r.cpu, ['cpus', 'mems'], 'cpu');
    case 'memory':
      return set(r.memory, ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy'], 'memory');
    case 'pids':
      return set(r.pids, ['limit'], 'pids');
    case 'blkio':
      return r.blockIO && Object.keys(r.blockIO).length ? [field('blockIO')] : [];
    case 'devices':
      return r.devices ? [field('devices')] : [];
    case 'net_cls':
      return set(r.network, ['classID'], 'network');
    case 'net_prio':
      return r.network?.priorities?.length ? [field('network.priorities')] : [];
    case 'rdma':
      return r.rdma && Object.keys(r.rdma).length ? [field('rdma')] : [];
    default:
      return [];
  }
}

export class V1Manager implements CgroupManager {
  readonly version = 'v1' as const;

  constructor(
    private readonly fs: CgroupFs,
    readonly paths: Record<string, string>,
    private readonly opts: { unifiedMount?: string } = {},
  ) {}

  private dirs(): string[] {
    return uniqueDirs(this.paths);
  }

  procsFiles(): string[] {
    return procsFilesOf(this.dirs());
  }

  create(): void {
    for (const dir of this.dirs()) {
      if (dir === this.paths.cpuset) {
        createCpuset(this.fs, dir);
      } else {
        this.fs.mkdirp(dir);
      }
    }
  }

  addProcess(pid: number): void {
    addProcessTo(this.fs, this.dirs(), pid);
  }

  apply(resources: Resources | undefined): void {
    if (resources) this.set(resources, false);
  }

  update(resources: Resources): void {
    this.set(resources, true);
  }

  private ctx(ctrl: string, r: Resources, update: boolean): CtlCtx | undefined {
    const dir = this.paths[ctrl];
    if (dir) return { fs: this.fs, dir, update };
    const fields = fieldsFor(ctrl, r);
    if (fields.length) throw cannotApply(fields[0], `no ${ctrl} cgroup hierarchy is mounted on this host`);
    return undefined;
  }

  private set(r: Resources, update: boolean): void {
    let c: CtlCtx | undefined;
    if ((c = this.ctx('cpuset', r, update))) applyCpuset(c, r.cpu);
    if ((c = this.ctx('devices', r, update))) applyDevices(c, r.devices);
    if ((c = this.ctx('memory', r, update))) applyMemory(c, r.memory);
    if ((c = this.ctx('cpu', r, update))) applyCpu(c, r.cpu);
    if ((c = this.ctx('pids', r, update))) applyPids(c, r.pids);
    if ((c = this.ctx('blkio', r, update))) applyBlkio(c, r.blockIO);
    if (r.hugepageLimits?.length) this.applyHugetlb(r, update);
    if ((c = this.ctx('net_cls', r, update))) applyNetCls(c, r.network);
    if ((c = this.ctx('net_prio', r, update))) applyNetPrio(c, r.network);
    if ((c = this.ctx('rdma', r, update))) applyRdma(c, r.rdma);
    if (r.unified && Object.keys(r.unified).length) this.applyUnified(r.unified, update);
  }

  private applyHugetlb(r: Resources, update: boolean): void {
    const name = field('hugepageLimits');
    if (this.paths.hugetlb) return applyHugetlbV1({ fs: this.fs, dir: this.paths.hugetlb, update }, r.hugepageLimits);
    const u = this.paths.unified;
    if (!u) throw cannotApply(name, 'no hugetlb cgroup hierarchy is mounted on this host');
    // Hybrid: hugetlb lives on the cgroup2 mount; enable it down to our cgroup.
    const failures = enableControllers(this.fs, this.opts.unifiedMount ?? findCgroup2Root(this.fs, parentDir(u)), u, ['hugetlb']);
    requireController(this.fs, u, 'hugetlb', [name], failures);
    applyHugetlbV2({ fs: this.fs, dir: u, update }, r.hugepageLimits);
  }

  private applyUnified(unified: Record<string, string>, update: boolean): void {
    const u = this.paths.unified;
    if (!u) {
      const key = Object.keys(unified)[0];
      throw cannotApply(field(`unified[${JSON.stringify(key)}]`), 'this host has cgroup v1 only');
    }
    // Hybrid: only controllers bound to the cgroup2 mount can be set there.
    const wanted = Object.keys(unified).map((k) => k.split('.')[0]);
    enableControllers(this.fs, this.opts.unifiedMount ?? findCgroup2Root(this.fs, parentDir(u)), u, wanted);
    applyUnified({ fs: this.fs, dir: u, update }, unified, readControllers(this.fs, u));
  }

  destroy(): void {
    removeDirs(this.fs, this.dirs());
  }

  exists(): boolean {
    return this.dirs().some((d) => this.fs.exists(d));
  }

  private anyDir(): string {
    for (const k of ['pids', 'memory', 'devices', 'freezer', 'cpu', 'name=systemd']) if (this.paths[k]) return this.paths[k];
    const d = this.dirs()[0];
    if (!d) throw new TsrunError('the container has no cgroup');
    return d;
  }

  pids(): number[] {
    return pidsIn(this.fs, this.anyDir());
  }

  killAll(signal: NodeJS.Signals | number = 'SIGKILL'): void {
    const freezer = this.paths.freezer && this.fs.exists(this.paths.freezer);
    if (freezer) freezeV1(this.fs, this.paths.freezer);
    try {
      signalAll(this.pids(), signal);
    } finally {
      if (freezer) thawV1(this.fs, this.paths.freezer);
    }
  }

  private freezerDir(what: string): string {
    const d = this.paths.freezer;
    if (!d) throw new TsrunError(`cannot ${what}: no freezer cgroup hierarchy is mounted on this host`);
    return d;
  }

  freeze(): void {
    freezeV1(this.fs, this.freezerDir('pause'));
  }

  thaw(): void {
    thawV1(this.fs, this.freezerDir('resume'));
  }

  isFrozen(): boolean {
    return this.paths.freezer ? isFrozenV1(this.fs, this.paths.freezer) : false;
  }

  stats(): Stats {
    const s = emptyStats();
    const at = (k: string): CtlCtx | undefined =>
      this.paths[k] && this.fs.exists(this.paths[k]) ? { fs: this.fs, dir: this.paths[k], update: false } : undefined;
    let c: CtlCtx | undefined;
    if ((c = at('cpu'))) cpuStats(c, s);
    if ((c = at('cpuacct'))) cpuacctStats(c, s);
    if ((c = at('cpuset'))) cpusetStats(c, s);
    if ((c = at('memory'))) memoryStats(c, s);
    if ((c = at('pids'))) pidsStats(c, s);
    if ((c = at('blkio'))) blkioStats(c, s);
    if ((c = at('hugetlb'))) hugetlbStatsV1(c, s);
    else if ((c = at('unified'))) hugetlbStatsV2(c, s);
    return s;
  }

  private memCtx(): CtlCtx {
    if (!this.paths.memory) throw new TsrunError('no memory cgroup hierarchy is mounted on this host');
    return { fs: this.fs, dir: this.paths.memory, update: false };
  }

  oomKillCount(): U64 {
    return oomKillCount(this.memCtx());
  }

  watchOom(onOom: () => void, opts?: OomWatchOptions): () => void {
    const c = this.memCtx();
    return pollOom(() => oomKillCount(c), onOom, opts, () => underOom(c));
  }
}
