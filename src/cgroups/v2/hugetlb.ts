// v2 hugetlb (also used for the unified mount of hybrid hosts, where hugetlb
// often has no v1 hierarchy): hugetlb.<size>.max and hugetlb.<size>.rsvd.max.

import type { HugepageLimit } from '../../spec/types';
import type { Stats } from '../stats';
import { hugePageSizes, writeHugetlb } from '../v1/hugetlb';
import { CtlCtx, parseFlatKeyed, readU64Opt, tryRead } from '../util';

export function applyHugetlbV2(c: CtlCtx, limits: HugepageLimit[] | undefined): void {
  writeHugetlb(c, limits, (size, rsvd) => `hugetlb.${size}.${rsvd ? 'rsvd.' : ''}max`);
}

export function hugetlbStatsV2(c: CtlCtx, s: Stats): void {
  for (const size of hugePageSizes(c.fs)) {
    const p = `${c.dir}/hugetlb.${size}`;
    if (!c.fs.exists(`${p}.current`)) continue;
    const usage = c.fs.exists(`${p}.rsvd.current`) ? readU64Opt(c.fs, `${p}.rsvd.current`) : readU64Opt(c.fs, `${p}.current`);
    const events = tryRead(c.fs, `${p}.events`);
    s.hugetlb[size] = { usage, max: 0, failcnt: events === undefined ? 0 : parseFlatKeyed(events).max ?? 0 };
  }
}
