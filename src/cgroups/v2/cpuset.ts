// v2 cpuset: cpuset.cpus, cpuset.mems (an empty value means "the parent's").

import type { CPU } from '../../spec/types';
import type { Stats } from '../stats';
import { parseCpuList } from '../v1/cpuset';
import { CtlCtx, cgWrite, field, tryRead } from '../util';

export function cpusetFieldsSet(cpu: CPU | undefined): string[] {
  return [cpu?.cpus ? field('cpu.cpus') : '', cpu?.mems ? field('cpu.mems') : ''].filter(Boolean);
}

export function applyCpusetV2(c: CtlCtx, cpu: CPU | undefined): void {
  if (cpu?.cpus) cgWrite(c.fs, c.dir, 'cpuset.cpus', cpu.cpus, field('cpu.cpus'));
  if (cpu?.mems) cgWrite(c.fs, c.dir, 'cpuset.mems', cpu.mems, field('cpu.mems'));
}

export function cpusetStatsV2(c: CtlCtx, s: Stats): void {
  const cpus = tryRead(c.fs, `${c.dir}/cpuset.cpus.effective`);
  const mems = tryRead(c.fs, `${c.dir}/cpuset.mems.effective`);
  if (cpus !== undefined) s.cpuset.cpus = parseCpuList(cpus);
  if (mems !== undefined) s.cpuset.mems = parseCpuList(mems);
}
