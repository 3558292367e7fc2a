// Applying a v1 container's resources and reading its stats: the code that
// needs every controller module. The manager requires this file only when
// it applies, updates or reads stats, so that delete, kill and pause load none.

import type { Resources } from '../../spec/types';
import type { CgroupFs } from '../fs';
import { Stats, emptyStats } from '../stats';
import { CtlCtx, cannotApply, field, parentDir, readControllers } from '../util';
import { enableControllers, findCgroup2Root, requireController } from '../v2/create';
import { applyHugetlbV2, hugetlbStatsV2 } from '../v2/hugetlb';
import { applyUnified } from '../v2/unified';
import { applyBlkio, blkioStats } from './blkio';
import { applyCpu, cpuStats, cpuacctStats } from './cpu';
import { applyCpuset, cpusetStats } from './cpuset';
import { applyDevices } from './devices';
import { applyHugetlbV1, hugetlbStatsV1 } from './hugetlb';
import { applyMemory, memoryStats } from './memory';
import { applyNetCls, applyNetPrio } from './net';
import { applyPids, pidsStats } from './pids';
import { applyRdma } from './rdma';
import { fieldsFor } from './fields';

export class V1Resources {
  constructor(
    private readonly fs: CgroupFs,
    private readonly paths: Record<string, string>,
    private readonly opts: { unifiedMount?: string },
  ) {}

  private ctx(ctrl: string, r: Resources, update: boolean): CtlCtx | undefined {
    const dir = this.paths[ctrl];
    if (dir) return { fs: this.fs, dir, update };
    const fields = fieldsFor(ctrl, r);
    if (fields.length) throw cannotApply(fields[0], `no ${ctrl} cgroup hierarchy is mounted on this host`);
    return undefined;
  }

  set(r: Resources, update: boolean): void {
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

}
