// v2 memory: memory.max, memory.low (reservation), memory.swap.max. The spec's
// swap is memory+swap, v2's swap.max is swap alone: swap.max = swap - limit
// (runc's conversion). v2 has no per-cgroup swappiness, no OOM-killer switch,
// no kernel memory limits and is always hierarchical; asking for those is an
// error (the neutral values -1 / false / true are accepted).

import { readOomKill } from '../oom-counter';
import { TsrunError } from '../../errors';
import type { Memory } from '../../spec/types';
import type { MemoryEntry, Stats } from '../stats';
import { CtlCtx, U64, cannotApply, cgWrite, errCode, field, int, parseFlatKeyed, parseU64, toBig, tryRead, u64 } from '../util';

const F = (k: string) => field(`memory.${k}`);
const MAX = 18446744073709551615n;

export function memoryFieldsSet(m: Memory | undefined): string[] {
  if (!m) return [];
  return (['limit', 'reservation', 'swap'] as const).filter((k) => m[k] !== undefined && m[k] !== 0).map(F);
}

/** swap.max for the spec's memory+swap `swap` and memory `limit` (0 = not set); -1 is "max". */
export function swapMaxValue(swap: number, limit: number): number | undefined {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap === 0 ? undefined : -1;
  if (limit === -1) return swap;
  if (limit === 0) throw new TsrunError(`${F('swap')}: unable to set a swap limit without a memory limit`);
  if (limit < 0) throw new TsrunError(`${F('limit')}: invalid value ${limit}`);
  if (swap < limit) throw new TsrunError(`${F('swap')}: memory+swap limit ${swap} must not be below the memory limit ${limit}`);
  return swap - limit;
}

const numStr = (v: number) => (v === -1 ? 'max' : String(v));

export function applyMemoryV2(c: CtlCtx, m: Memory | undefined): void {
  if (!m) return;
  if (m.swappiness !== undefined && m.swappiness !== -1) throw cannotApply(F('swappiness'), 'cgroup v2 has no per-cgroup swappiness');
  if (m.disableOOMKiller) throw cannotApply(F('disableOOMKiller'), 'cgroup v2 cannot disable the OOM killer');
  if (m.useHierarchy === false) throw cannotApply(F('useHierarchy'), 'cgroup v2 is always hierarchical');
  for (const k of ['kernel', 'kernelTCP'] as const) {
    if (m[k] !== undefined && m[k] !== -1 && m[k] !== 0) {
      throw cannotApply(F(k), 'cgroup v2 has no kernel memory limits (the spec marks them NOT RECOMMENDED)');
    }
  }
  if (c.update && m.checkBeforeUpdate) {
    const cur = tryRead(c.fs, `${c.dir}/memory.current`);
    if (cur !== undefined) {
      const usage = BigInt(cur.trim());
      for (const k of ['limit', 'swap'] as const) {
        const v = m[k];
        if (v !== undefined && v > 0 && BigInt(v) <= usage) {
          throw new TsrunError(`${F(k)}: rejecting new limit ${v}: it is not above the current usage ${usage} (checkBeforeUpdate)`);
        }
      }
    }
  }
  let limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  if (swap > 0 && limit === 0 && c.update) {
    // update --memory-swap alone: relative to the limit in force.
    const cur = (tryRead(c.fs, `${c.dir}/memory.max`) ?? 'max').trim();
    limit = cur === 'max' ? -1 : Number(cur);
  }
  const swapMax = swapMaxValue(swap, limit);
  if (swapMax !== undefined) {
    const v = numStr(swapMax);
    try {
      cgWrite(c.fs, c.dir, 'memory.swap.max', v, F('swap'), 'no swap accounting on this kernel');
    } catch (e) {
      if (!(errCode((e as Error).cause) === 'ENOENT' && (v === 'max' || v === '0'))) throw e;
    }
  }
  if (m.limit !== undefined && m.limit !== 0) {
    cgWrite(c.fs, c.dir, 'memory.max', m.limit === -1 ? 'max' : int(m.limit, F('limit')), F('limit'));
  }
  if (m.reservation !== undefined && m.reservation !== 0) {
    cgWrite(c.fs, c.dir, 'memory.low', m.reservation === -1 ? 'max' : int(m.reservation, F('reservation')), F('reservation'));
  }
}

function entry(c: CtlCtx, prefix: string): MemoryEntry {
  const read = (f: string): U64 => {
    const t = tryRead(c.fs, `${c.dir}/${f}`);
    return t === undefined ? 0 : parseU64(t);
  };
  const events = tryRead(c.fs, `${c.dir}/${prefix}.events`);
  return {
    usage: read(`${prefix}.current`),
    limit: read(`${prefix}.max`),
    max: read(`${prefix}.peak`),
    failcnt: events === undefined ? 0 : parseFlatKeyed(events).max ?? 0,
  };
}

export function memoryStatsV2(c: CtlCtx, s: Stats): void {
  const raw = tryRead(c.fs, `${c.dir}/memory.stat`);
  if (raw === undefined) return;
  s.memory.raw = parseFlatKeyed(raw);
  s.memory.cache = s.memory.raw.file ?? 0;
  s.memory.usage = entry(c, 'memory');
  const swap = entry(c, 'memory.swap');
  // runc reports swap as memory+swap, like v1's memsw.
  swap.usage = u64(toBig(swap.usage) + toBig(s.memory.usage.usage));
  if (toBig(swap.limit) !== MAX && toBig(s.memory.usage.limit) !== MAX) {
    swap.limit = u64(toBig(swap.limit) + toBig(s.memory.usage.limit));
  } else {
    swap.limit = MAX;
  }
  swap.max = 0;
  s.memory.swap = swap;
}

/** memory.events' oom_kill counter; a counter that cannot be read is an error, never 0. */
export function oomKillCountV2(c: CtlCtx): U64 {
  return readOomKill(c.fs, `${c.dir}/memory.events`);
}
