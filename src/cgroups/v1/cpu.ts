// v1 cpu (and cpuacct statistics): cpu.shares, cpu.cfs_{period,quota,burst}_us,
// cpu.idle, cpu.rt_{period,runtime}_us. Order and retries as runc: the kernel
// checks a new period/burst against the current quota (and the rt runtime
// against the period), so a rejected first write is retried after its partner.

import { TsrunError } from '../../errors';
import type { CPU } from '../../spec/types';
import type { Stats } from '../stats';
import { CtlCtx, cgWrite, errCode, field, int, parseFlatKeyed, readTrim, readU64, tryRead, u64, toBig } from '../util';

const F = (k: string) => field(`cpu.${k}`);

/** Write `value`, or report EINVAL to the caller (to retry later) when `retryLater`. */
function writeOrDefer(c: CtlCtx, file: string, value: string, name: string, retryLater: boolean): boolean {
  try {
    cgWrite(c.fs, c.dir, file, value, name);
    return true;
  } catch (e) {
    if (retryLater && errCode((e as Error).cause) === 'EINVAL') return false;
    throw e;
  }
}

export function applyCpu(c: CtlCtx, cpu: CPU | undefined): void {
  if (!cpu) return;
  if (cpu.shares !== undefined && cpu.shares !== 0) {
    cgWrite(c.fs, c.dir, 'cpu.shares', int(cpu.shares, F('shares')), F('shares'));
    const got = Number(readTrim(c.fs, `${c.dir}/cpu.shares`));
    if (cpu.shares > got) throw new TsrunError(`${F('shares')}: ${cpu.shares} is above the maximum allowed cpu-shares, ${got}`);
    if (cpu.shares < got) throw new TsrunError(`${F('shares')}: ${cpu.shares} is below the minimum allowed cpu-shares, ${got}`);
  }
  const quotaSet = cpu.quota !== undefined && cpu.quota !== 0;
  let periodLeft: string | undefined;
  if (cpu.period !== undefined && cpu.period !== 0) {
    const v = int(cpu.period, F('period'));
    if (!writeOrDefer(c, 'cpu.cfs_period_us', v, F('period'), quotaSet)) periodLeft = v;
  }
  let burstLeft: string | undefined;
  if (cpu.burst !== undefined) {
    const v = int(cpu.burst, F('burst'));
    if (!writeOrDefer(c, 'cpu.cfs_burst_us', v, F('burst'), quotaSet)) burstLeft = v;
  }
  if (quotaSet) {
    cgWrite(c.fs, c.dir, 'cpu.cfs_quota_us', int(cpu.quota!, F('quota')), F('quota'));
    if (periodLeft !== undefined) cgWrite(c.fs, c.dir, 'cpu.cfs_period_us', periodLeft, F('period'));
    if (burstLeft !== undefined) cgWrite(c.fs, c.dir, 'cpu.cfs_burst_us', burstLeft, F('burst'));
  }
  if (cpu.idle !== undefined) cgWrite(c.fs, c.dir, 'cpu.idle', int(cpu.idle, F('idle')), F('idle'));
  applyRt(c, cpu);
}

function applyRt(c: CtlCtx, cpu: CPU): void {
  const hint = 'the kernel has no CONFIG_RT_GROUP_SCHED';
  const runtimeSet = cpu.realtimeRuntime !== undefined && cpu.realtimeRuntime !== 0;
  let periodLeft: string | undefined;
  if (cpu.realtimePeriod !== undefined && cpu.realtimePeriod !== 0) {
    const v = int(cpu.realtimePeriod, F('realtimePeriod'));
    try {
      cgWrite(c.fs, c.dir, 'cpu.rt_period_us', v, F('realtimePeriod'), hint);
    } catch (e) {
      if (!(runtimeSet && errCode((e as Error).cause) === 'EINVAL')) throw e;
      periodLeft = v;
    }
  }
  if (runtimeSet) {
    cgWrite(c.fs, c.dir, 'cpu.rt_runtime_us', int(cpu.realtimeRuntime!, F('realtimeRuntime')), F('realtimeRuntime'), hint);
    if (periodLeft !== undefined) cgWrite(c.fs, c.dir, 'cpu.rt_period_us', periodLeft, F('realtimePeriod'), hint);
  }
}

export function cpuStats(c: CtlCtx, s: Stats): void {
  const t = tryRead(c.fs, `${c.dir}/cpu.stat`);
  if (t === undefined) return;
  const kv = parseFlatKeyed(t);
  s.cpu.throttling.periods = kv.nr_periods ?? 0;
  s.cpu.throttling.throttledPeriods = kv.nr_throttled ?? 0;
  s.cpu.throttling.throttledTime = kv.throttled_time ?? 0;
}

const NS_PER_TICK = 10_000_000n; // USER_HZ is 100 on Linux

export function cpuacctStats(c: CtlCtx, s: Stats): void {
  if (tryRead(c.fs, `${c.dir}/cpuacct.usage`) === undefined) return;
  s.cpu.usage.total = readU64(c.fs, `${c.dir}/cpuacct.usage`);
  const percpu = tryRead(c.fs, `${c.dir}/cpuacct.usage_percpu`);
  if (percpu) s.cpu.usage.percpu = percpu.trim().split(/\s+/).filter(Boolean).map((x) => u64(BigInt(x)));
  const all = tryRead(c.fs, `${c.dir}/cpuacct.usage_all`);
  if (all) {
    // "cpu user system" header, then one line per cpu.
    for (const line of all.trim().split('\n').slice(1)) {
      const [, user, sys] = line.trim().split(/\s+/);
      if (user === undefined || sys === undefined) continue;
      s.cpu.usage.percpu_user.push(u64(BigInt(user)));
      s.cpu.usage.percpu_kernel.push(u64(BigInt(sys)));
    }
  }
  const st = tryRead(c.fs, `${c.dir}/cpuacct.stat`);
  if (st) {
    const kv = parseFlatKeyed(st);
    s.cpu.usage.user = u64(toBig(kv.user ?? 0) * NS_PER_TICK);
    s.cpu.usage.kernel = u64(toBig(kv.system ?? 0) * NS_PER_TICK);
  }
}
