// pids (v1 and v2 have the same files): pids.max. A limit of 0 is a real
// limit (spec 1.3: "0 is a valid limit value ... and SHOULD be treated as
// such"), written as "0" (runc >= 1.2 writes "1" to match systemd); -1, or any
// negative value, is "max".

import type { Stats } from '../stats';
import { CtlCtx, cgWrite, field, readU64Opt, tryRead } from '../util';

export function pidsMaxValue(limit: number): string {
  return limit < 0 ? 'max' : String(Math.trunc(limit));
}

export function applyPids(c: CtlCtx, pids: { limit?: number } | undefined): void {
  if (!pids || pids.limit === undefined) return;
  cgWrite(c.fs, c.dir, 'pids.max', pidsMaxValue(pids.limit), field('pids.limit'));
}

export function pidsStats(c: CtlCtx, s: Stats): void {
  if (!c.fs.exists(`${c.dir}/pids.current`)) return;
  s.pids.current = readU64Opt(c.fs, `${c.dir}/pids.current`);
  const max = (tryRead(c.fs, `${c.dir}/pids.max`) ?? 'max').trim();
  s.pids.limit = max === 'max' ? 0 : Number(max);
}
