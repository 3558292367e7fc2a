// The cgroup v2 driver: one directory (paths.unified). Controllers must be
// enabled in every ancestor (create.ts); a resource whose controller is not in
// the cgroup's cgroup.controllers is an error that names the field.

import { TsrunError } from '../../errors';
import type { Resources } from '../../spec/types';
import { OomWatchOptions, addProcessTo, pidsIn, pollOom, removeDirs, signalAll } from '../common';
import type { CgroupFs } from '../fs';
import type { CgroupManager } from '../manager';
import { Stats, emptyStats } from '../stats';
import { CtlCtx, U64, cannotApply, field, readControllers, writeError } from '../util';
import { applyPids, pidsStats } from '../v1/pids';
import { applyRdma } from '../v1/rdma';
import { BpfSys, realBpf } from './bpf-sys';
import { applyCpuV2, cpuFieldsSet, cpuStatsV2 } from './cpu';
import { applyCpusetV2, cpusetFieldsSet, cpusetStatsV2 } from './cpuset';
import { EnableFailures, createV2, requireController } from './create';
import { applyDevicesV2 } from './devices';
import { freezeV2, isFrozenV2, thawV2 } from './freezer';
import { applyHugetlbV2, hugetlbStatsV2 } from './hugetlb';
import { applyIo, ioFieldsSet, ioStatsV2 } from './io';
import { applyMemoryV2, memoryFieldsSet, memoryStatsV2, oomKillCountV2 } from './memory';
import { applyUnified } from './unified';

export class V2Manager implements CgroupManager {
  readonly version = 'v2' as const;
  private failures: EnableFailures = new Map();

  constructor(
    private readonly fs: CgroupFs,
    readonly paths: Record<string, string>,
    private readonly opts: { mountPoint?: string; bpf?: BpfSys } = {},
  ) {
    if (!paths.unified) throw new TsrunError('cgroup v2 paths need a "unified" directory');
  }

  private get dir(): string {
    return this.paths.unified;
  }

  procsFiles(): string[] {
    return [`${this.dir}/cgroup.procs`];
  }

  create(): void {
    this.failures = createV2(this.fs, this.dir, this.opts.mountPoint);
  }

  addProcess(pid: number): void {
    addProcessTo(this.fs, [this.dir], pid);
  }

  apply(resources: Resources | undefined): void {
    if (resources) this.set(resources, false);
  }

  update(resources: Resources): void {
    this.set(resources, true);
  }

  private set(r: Resources, update: boolean): void {
    const c: CtlCtx = { fs: this.fs, dir: this.dir, update };
    const need = (ctrl: string, fields: string[]) => requireController(this.fs, this.dir, ctrl, fields, this.failures);
    if (r.network?.classID !== undefined) throw cannotApply(field('network.classID'), 'cgroup v2 has no net_cls controller');
    if (r.network?.priorities?.length) throw cannotApply(field('network.priorities'), 'cgroup v2 has no net_prio controller');
    need('pids', r.pids?.limit !== undefined ? [field('pids.limit')] : []);
    applyPids(c, r.pids);
    need('memory', memoryFieldsSet(r.memory));
    applyMemoryV2(c, r.memory);
    need('io', ioFieldsSet(r.blockIO));
    applyIo(c, r.blockIO);
    need('cpu', cpuFieldsSet(r.cpu));
    applyCpuV2(c, r.cpu);
    applyDevicesV2(this.dir, r.devices, this.opts.bpf ?? realBpf);
    need('cpuset', cpusetFieldsSet(r.cpu));
    applyCpusetV2(c, r.cpu);
    need('hugetlb', r.hugepageLimits?.length ? [field('hugepageLimits')] : []);
    applyHugetlbV2(c, r.hugepageLimits);
    need('rdma', r.rdma && Object.keys(r.rdma).length ? [field('rdma')] : []);
    applyRdma(c, r.rdma);
    if (r.unified) applyUnified(c, r.unified, readControllers(this.fs, this.dir));
  }

  destroy(): void {
    removeDirs(this.fs, [this.dir]);
  }

  exists(): boolean {
    return this.fs.exists(this.dir);
  }

  pids(): number[] {
    return pidsIn(this.fs, this.dir);
  }

  killAll(signal: NodeJS.Signals | number = 'SIGKILL'): void {
    const isKill = signal === 'SIGKILL' || signal === 9;
    if (isKill && this.fs.exists(`${this.dir}/cgroup.kill`)) {
      try {
        this.fs.writeFile(`${this.dir}/cgroup.kill`, '1');
        return;
      } catch (e) {
        throw writeError('kill --all', '1', `${this.dir}/cgroup.kill`, e);
      }
    }
    const canFreeze = this.fs.exists(`${this.dir}/cgroup.freeze`);
    if (canFreeze) freezeV2(this.fs, this.dir);
    try {
      signalAll(this.pids(), signal);
    } finally {
      if (canFreeze) thawV2(this.fs, this.dir);
    }
  }

  freeze(): void {
    freezeV2(this.fs, this.dir);
  }

  thaw(): void {
    thawV2(this.fs, this.dir);
  }

  isFrozen(): boolean {
    return isFrozenV2(this.fs, this.dir);
  }

  stats(): Stats {
    const s = emptyStats();
    if (!this.fs.exists(this.dir)) return s;
    const c: CtlCtx = { fs: this.fs, dir: this.dir, update: false };
    cpuStatsV2(c, s);
    cpusetStatsV2(c, s);
    memoryStatsV2(c, s);
    pidsStats(c, s);
    ioStatsV2(c, s);
    hugetlbStatsV2(c, s);
    return s;
  }

  oomKillCount(): U64 {
    return oomKillCountV2({ fs: this.fs, dir: this.dir, update: false });
  }

  watchOom(onOom: () => void, opts?: OomWatchOptions): () => void {
    const c: CtlCtx = { fs: this.fs, dir: this.dir, update: false };
    return pollOom(() => oomKillCountV2(c), onOom, opts);
  }
}
