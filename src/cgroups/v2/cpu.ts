// v2 cpu: cpu.weight (from shares), cpu.max "QUOTA|max PERIOD", cpu.max.burst,
// cpu.idle. cgroup v2 has no realtime group scheduling: realtimeRuntime and
// realtimePeriod are errors there.

import type { CPU } from '../../spec/types';
import type { Stats } from '../stats';
import { CtlCtx, cannotApply, cgWrite, errCode, field, int, parseFlatKeyed, toBig, tryRead, u64 } from '../util';

const F = (k: string) => field(`cpu.${k}`);

/**
 * runc 1.1.5's shares -> weight: 1 + ((shares - 2) * 9999) / 262142, which maps
 * [2, 262144] onto [1, 10000] (shares outside that range are clamped first).
 */
export function sharesToWeight(shares: number): number {
  const s = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** The cpu fields that are set, for the controller check. */
export function cpuFieldsSet(cpu: CPU | undefined): string[] {
  if (!cpu) return [];
  const out: string[] = [];
  if (cpu.shares) out.push('shares');
  if (cpu.quota) out.push('quota');
  if (cpu.period) out.push('period');
  if (cpu.burst !== undefined) out.push('burst');
  if (cpu.idle !== undefined) out.push('idle');
  return out.map(F);
}

export function applyCpuV2(c: CtlCtx, cpu: CPU | undefined): void {
  if (!cpu) return;
  for (const k of ['realtimeRuntime', 'realtimePeriod'] as const) {
    if (cpu[k] !== undefined && cpu[k] !== 0) throw cannotApply(F(k), 'cgroup v2 has no realtime group scheduling (cpu.rt_*)');
  }
  if (cpu.idle !== undefined) cgWrite(c.fs, c.dir, 'cpu.idle', int(cpu.idle, F('idle')), F('idle'));
  if (cpu.shares) cgWrite(c.fs, c.dir, 'cpu.weight', String(sharesToWeight(cpu.shares)), F('shares'));
  const quotaSet = cpu.quota !== undefined && cpu.quota !== 0;
  const periodSet = cpu.period !== undefined && cpu.period !== 0;
  let burstLeft: string | undefined;
  if (cpu.burst !== undefined) {
    const v = int(cpu.burst, F('burst'));
    try {
      cgWrite(c.fs, c.dir, 'cpu.max.burst', v, F('burst'));
    } catch (e) {
      // A burst above the current quota is refused until the new quota is in.
      if (!(quotaSet && errCode((e as Error).cause) === 'EINVAL')) throw e;
      burstLeft = v;
    }
  }
  if (quotaSet || periodSet) {
    // Keep the half of cpu.max that is not being set (runc resets the period to 100000).
    const [curQuota, curPeriod] = (tryRead(c.fs, `${c.dir}/cpu.max`) ?? 'max 100000').trim().split(/\s+/);
    const quota = quotaSet ? (cpu.quota! > 0 ? int(cpu.quota!, F('quota')) : 'max') : curQuota ?? 'max';
    const period = periodSet ? int(cpu.period!, F('period')) : curPeriod ?? '100000';
    cgWrite(c.fs, c.dir, 'cpu.max', `${quota} ${period}`, quotaSet ? F('quota') : F('period'));
    if (burstLeft !== undefined) cgWrite(c.fs, c.dir, 'cpu.max.burst', burstLeft, F('burst'));
  }
}

export function cpuStatsV2(c: CtlCtx, s: Stats): void {
  const t = tryRead(c.fs, `${c.dir}/cpu.stat`);
  if (t === undefined) return;
  const kv = parseFlatKeyed(t);
  const ns = (k: string) => u64(toBig(kv[k] ?? 0) * 1000n);
  s.cpu.usage.total = ns('usage_usec');
  s.cpu.usage.user = ns('user_usec');
  s.cpu.usage.kernel = ns('system_usec');
  s.cpu.throttling.periods = kv.nr_periods ?? 0;
  s.cpu.throttling.throttledPeriods = kv.nr_throttled ?? 0;
  s.cpu.throttling.throttledTime = ns('throttled_usec');
}
