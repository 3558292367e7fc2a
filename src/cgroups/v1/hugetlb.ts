// v1 hugetlb: hugetlb.<size>.limit_in_bytes, and the reservation limit
// hugetlb.<size>.rsvd.limit_in_bytes where the kernel has it (the spec prefers
// reservations). Page sizes are named as the kernel names them: 2MB, 1GB, 64KB.

import { TsrunError } from '../../errors';
import type { HugepageLimit } from '../../spec/types';
import type { CgroupFs } from '../fs';
import type { Stats } from '../stats';
import { CtlCtx, cgWrite, field, readU64Opt } from '../util';

/** "hugepages-2048kB" -> "2MB", as the cgroup file names have it. */
export function pageSizeName(kb: number): string {
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = kb;
  let u = 0;
  while (v >= 1024 && v % 1024 === 0 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v}${units[u]}`;
}

/** The huge page sizes the kernel has, from /sys/kernel/mm/hugepages. */
export function hugePageSizes(fs: CgroupFs): string[] {
  let names: string[];
  try {
    names = fs.readdir('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  return names
    .map((n) => /^hugepages-(\d+)kB$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
    .map(pageSizeName);
}

export function sizesHint(fs: CgroupFs): string {
  const sizes = hugePageSizes(fs);
  return sizes.length ? `huge page sizes on this host: ${sizes.join(', ')}` : 'this host has no huge pages';
}

/** Write each limit as `<prefix><size><suffix>` and, if present, the reservation file. */
export function writeHugetlb(
  c: CtlCtx,
  limits: HugepageLimit[] | undefined,
  file: (size: string, rsvd: boolean) => string,
): void {
  (limits ?? []).forEach((l, i) => {
    const name = field(`hugepageLimits[${i}]`);
    if (!/^\d+[KMGT]B$/.test(l.pageSize)) {
      throw new TsrunError(`${name}.pageSize: invalid page size ${JSON.stringify(l.pageSize)} (like 2MB; ${sizesHint(c.fs)})`);
    }
    cgWrite(c.fs, c.dir, file(l.pageSize, false), String(l.limit), name, sizesHint(c.fs));
    const rsvd = file(l.pageSize, true);
    if (c.fs.exists(`${c.dir}/${rsvd}`)) cgWrite(c.fs, c.dir, rsvd, String(l.limit), name);
  });
}

export function applyHugetlbV1(c: CtlCtx, limits: HugepageLimit[] | undefined): void {
  writeHugetlb(c, limits, (size, rsvd) => `hugetlb.${size}.${rsvd ? 'rsvd.' : ''}limit_in_bytes`);
}

export function hugetlbStatsV1(c: CtlCtx, s: Stats): void {
  for (const size of hugePageSizes(c.fs)) {
    const p = `${c.dir}/hugetlb.${size}`;
    if (!c.fs.exists(`${p}.usage_in_bytes`)) continue;
    s.hugetlb[size] = {
      usage: readU64Opt(c.fs, `${p}.usage_in_bytes`),
      max: readU64Opt(c.fs, `${p}.max_usage_in_bytes`),
      failcnt: readU64Opt(c.fs, `${p}.failcnt`),
    };
  }
}
