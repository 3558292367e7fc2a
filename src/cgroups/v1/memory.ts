// v1 memory: memory.limit_in_bytes, memory.memsw.limit_in_bytes (swap is
// memory+swap, as in the spec), memory.soft_limit_in_bytes, memory.swappiness,
// memory.oom_control, memory.use_hierarchy, and the deprecated kernel memory
// limits (memory.kmem[.tcp].limit_in_bytes) where the kernel still has them.
// Limit and memsw are written in the order the kernel accepts (memsw >= limit).

import { readOomKill } from '../oom-counter';
import { TsrunError } from '../../errors';
import type { Memory } from '../../spec/types';
import type { MemoryEntry, Stats } from '../stats';
import {
  CtlCtx, U64, cgWrite, errCode, field, int, parseFlatKeyed, readU64, readU64Opt, toBig, tryRead,
} from '../util';

const F = (k: string) => field(`memory.${k}`);
const LIMIT = 'memory.limit_in_bytes';
const MEMSW = 'memory.memsw.limit_in_bytes';

function setLimit(c: CtlCtx, v: number): void {
  try {
    cgWrite(c.fs, c.dir, LIMIT, int(v, F('limit')), F('limit'));
  } catch (e) {
    if (errCode((e as Error).cause) !== 'EBUSY') throw e;
    const usage = readU64Opt(c.fs, `${c.dir}/memory.usage_in_bytes`);
    const peak = readU64Opt(c.fs, `${c.dir}/memory.max_usage_in_bytes`);
    throw new TsrunError(`${F('limit')}: unable to set memory limit to ${v} (current usage: ${usage}, peak usage: ${peak})`, { cause: e });
  }
}

function setSwap(c: CtlCtx, v: number): void {
  if (v === -1 && !c.fs.exists(`${c.dir}/${MEMSW}`)) return; // unlimited is what there is without swap accounting
  cgWrite(c.fs, c.dir, MEMSW, int(v, F('swap')), F('swap'), 'no swap accounting on this kernel; it needs swapaccount=1');
}

/** checkBeforeUpdate: refuse a new limit at or below the current usage. */
function checkUsage(c: CtlCtx, m: Memory): void {
  const usage = tryRead(c.fs, `${c.dir}/memory.usage_in_bytes`);
  if (usage === undefined) return;
  const u = BigInt(usage.trim());
  for (const k of ['limit', 'swap'] as const) {
    const v = m[k];
    if (v !== undefined && v > 0 && BigInt(v) <= u) {
      throw new TsrunError(`${F(k)}: rejecting new limit ${v}: it is not above the current usage ${u} (checkBeforeUpdate)`);
    }
  }
}

export function applyMemory(c: CtlCtx, m: Memory | undefined): void {
  if (!m) return;
  if (c.update && m.checkBeforeUpdate) checkUsage(c, m);
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  if (limit === -1 && swap === 0 && c.fs.exists(`${c.dir}/${MEMSW}`)) swap = -1;
  let done = false;
  if (limit !== 0 && swap !== 0) {
    const cur = readU64(c.fs, `${c.dir}/${LIMIT}`);
    if (swap === -1 || toBig(cur) < BigInt(swap)) {
      setSwap(c, swap);
      setLimit(c, limit);
      done = true;
    }
  }
  if (!done) {
    if (limit !== 0) setLimit(c, limit);
    if (swap !== 0) setSwap(c, swap);
  }
  if (m.reservation !== undefined && m.reservation !== 0) {
    cgWrite(c.fs, c.dir, 'memory.soft_limit_in_bytes', int(m.reservation, F('reservation')), F('reservation'));
  }
  const kmemHint = 'kernel memory limits are gone from this kernel; the spec marks them NOT RECOMMENDED';
  if (m.kernel !== undefined && m.kernel !== 0 && !(m.kernel === -1 && !c.fs.exists(`${c.dir}/memory.kmem.limit_in_bytes`))) {
    cgWrite(c.fs, c.dir, 'memory.kmem.limit_in_bytes', int(m.kernel, F('kernel')), F('kernel'), kmemHint);
  }
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0 && !(m.kernelTCP === -1 && !c.fs.exists(`${c.dir}/memory.kmem.tcp.limit_in_bytes`))) {
    cgWrite(c.fs, c.dir, 'memory.kmem.tcp.limit_in_bytes', int(m.kernelTCP, F('kernelTCP')), F('kernelTCP'), kmemHint);
  }
  if (m.disableOOMKiller !== undefined) {
    cgWrite(c.fs, c.dir, 'memory.oom_control', m.disableOOMKiller ? '1' : '0', F('disableOOMKiller'));
  }
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    if (!Number.isInteger(m.swappiness) || m.swappiness < 0 || m.swappiness > 100) {
      throw new TsrunError(`${F('swappiness')}: invalid value ${m.swappiness} (valid range is 0-100)`);
    }
    cgWrite(c.fs, c.dir, 'memory.swappiness', String(m.swappiness), F('swappiness'));
  }
  if (m.useHierarchy !== undefined) {
    cgWrite(c.fs, c.dir, 'memory.use_hierarchy', m.useHierarchy ? '1' : '0', F('useHierarchy'));
  }
}

function entry(c: CtlCtx, prefix: string, optional: boolean): MemoryEntry {
  const e: MemoryEntry = { limit: 0, usage: 0, max: 0, failcnt: 0 };
  if (optional && !c.fs.exists(`${c.dir}/${prefix}.usage_in_bytes`)) return e;
  e.usage = readU64(c.fs, `${c.dir}/${prefix}.usage_in_bytes`);
  e.max = readU64Opt(c.fs, `${c.dir}/${prefix}.max_usage_in_bytes`);
  e.failcnt = readU64Opt(c.fs, `${c.dir}/${prefix}.failcnt`);
  e.limit = readU64Opt(c.fs, `${c.dir}/${prefix}.limit_in_bytes`);
  return e;
}

export function memoryStats(c: CtlCtx, s: Stats): void {
  const raw = tryRead(c.fs, `${c.dir}/memory.stat`);
  if (raw === undefined) return;
  s.memory.raw = parseFlatKeyed(raw);
  s.memory.cache = s.memory.raw.cache ?? 0;
  s.memory.usage = entry(c, 'memory', false);
  s.memory.swap = entry(c, 'memory.memsw', true);
  s.memory.kernel = entry(c, 'memory.kmem', true);
  s.memory.kernelTCP = entry(c, 'memory.kmem.tcp', true);
}

/** The oom_kill counter of memory.oom_control; a counter that cannot be read is an error, never 0. */
export function oomKillCount(c: CtlCtx): U64 {
  return readOomKill(c.fs, `${c.dir}/memory.oom_control`);
}

/** memory.oom_control's under_oom: tasks are stuck because the OOM killer is disabled. */
export function underOom(c: CtlCtx): boolean {
  const t = tryRead(c.fs, `${c.dir}/memory.oom_control`);
  return t !== undefined && Number(parseFlatKeyed(t).under_oom ?? 0) === 1;
}
