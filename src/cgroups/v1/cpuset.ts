// v1 cpuset. A new cpuset cgroup starts with empty cpuset.cpus and
// cpuset.mems, and no process may join it until both are set; so every
// directory on the way down, new or found empty, gets its parent's values
// first. Some systems mount cpuset with "noprefix" (files "cpus", "mems").

import type { CPU } from '../../spec/types';
import type { CgroupFs } from '../fs';
import type { Stats } from '../stats';
import { CtlCtx, cgWrite, field, parentDir, readU64Opt, tryRead, writeError } from '../util';

function prefix(fs: CgroupFs, dir: string): string {
  return fs.exists(`${dir}/cpuset.cpus`) || !fs.exists(`${dir}/cpus`) ? 'cpuset.' : '';
}

const isEmpty = (s: string | undefined) => s === undefined || s.trim() === '';

/** mkdir -p `leaf`, copying cpus and mems into each directory that has none. Returns the created dirs. */
export function createCpuset(fs: CgroupFs, leaf: string): string[] {
  // Walk up to the first directory that exists with both values set.
  const chain: string[] = [];
  for (let d = leaf; ; d = parentDir(d)) {
    chain.unshift(d);
    const p = prefix(fs, d);
    if (d === '/' || (fs.exists(d) && !isEmpty(tryRead(fs, `${d}/${p}cpus`)) && !isEmpty(tryRead(fs, `${d}/${p}mems`)))) break;
  }
  const created: string[] = [];
  for (let i = 1; i < chain.length; i++) {
    const dir = chain[i];
    const parent = chain[i - 1];
    created.push(...fs.mkdirp(dir));
    const p = prefix(fs, dir);
    for (const f of ['cpus', 'mems']) {
      if (!isEmpty(tryRead(fs, `${dir}/${p}${f}`))) continue;
      const value = (tryRead(fs, `${parent}/${p}${f}`) ?? '').trim();
      try {
        fs.writeFile(`${dir}/${p}${f}`, value);
      } catch (e) {
        throw writeError(`cpuset cgroup ${dir}`, value, `${dir}/${p}${f}`, e);
      }
    }
  }
  return created;
}

export function applyCpuset(c: CtlCtx, cpu: CPU | undefined): void {
  if (!cpu) return;
  const p = prefix(c.fs, c.dir);
  if (cpu.cpus) cgWrite(c.fs, c.dir, `${p}cpus`, cpu.cpus, field('cpu.cpus'));
  if (cpu.mems) cgWrite(c.fs, c.dir, `${p}mems`, cpu.mems, field('cpu.mems'));
}

/** "0-3,7" -> [0,1,2,3,7] */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

export function cpusetStats(c: CtlCtx, s: Stats): void {
  const p = prefix(c.fs, c.dir);
  const read = (f: string) => readU64Opt(c.fs, `${c.dir}/${p}${f}`);
  s.cpuset.cpus = parseCpuList(tryRead(c.fs, `${c.dir}/${p}cpus`) ?? '');
  s.cpuset.mems = parseCpuList(tryRead(c.fs, `${c.dir}/${p}mems`) ?? '');
  s.cpuset.cpu_exclusive = read('cpu_exclusive');
  s.cpuset.mem_hardwall = read('mem_hardwall');
  s.cpuset.mem_exclusive = read('mem_exclusive');
  s.cpuset.memory_migrate = read('memory_migrate');
  s.cpuset.memory_spread_page = read('memory_spread_page');
  s.cpuset.memory_spread_slab = read('memory_spread_slab');
  s.cpuset.memory_pressure = read('memory_pressure');
  s.cpuset.sched_load_balance = read('sched_load_balance');
  s.cpuset.sched_relax_domain_level = Number(tryRead(c.fs, `${c.dir}/${p}sched_relax_domain_level`) ?? 0);
}
