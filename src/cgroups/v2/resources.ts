// Applying a v2 container's resources and reading its stats: the code that
// needs every controller module (and bpf for devices). The manager requires
// this file only when it applies, updates or reads stats.

import type { Resources } from '../../spec/types';
import type { CgroupFs } from '../fs';
import { Stats, emptyStats } from '../stats';
import { CtlCtx, cannotApply, field, readControllers } from '../util';
import { applyPids, pidsStats } from '../v1/pids';
import { applyRdma } from '../v1/rdma';
import { BpfSys, realBpf } from './bpf-sys';
import { applyCpuV2, cpuFieldsSet, cpuStatsV2 } from './cpu';
import { applyCpusetV2, cpusetFieldsSet, cpusetStatsV2 } from './cpuset';
import { EnableFailures, requireController } from './create';
import { applyDevicesV2 } from './devices';
import { applyHugetlbV2, hugetlbStatsV2 } from './hugetlb';
import { applyIo, ioFieldsSet, ioStatsV2 } from './io';
import { applyMemoryV2, memoryFieldsSet, memoryStatsV2 } from './memory';
import { applyUnified } from './unified';

export class V2Resources {
  constructor(
    private readonly fs: CgroupFs,
    private readonly dir: string,
    private readonly opts: { bpf?: BpfSys; failures: EnableFailures },
  ) {}

  set(r: Resources, update: boolean): void {
    const c: CtlCtx = { fs: this.fs, dir: this.dir, update };
    const need = (ctrl: string, fields: string[]) => requireController(this.fs, this.dir, ctrl, fields, this.opts.failures);
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

}
