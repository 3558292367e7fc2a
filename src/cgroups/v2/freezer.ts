// v2 freezer: cgroup.freeze 1/0; "frozen 1" in cgroup.events says when every
// task has stopped.

import { TsrunError } from '../../errors';
import type { CgroupFs } from '../fs';
import { parseFlatKeyed, sleepMs, tryRead, writeError } from '../util';

function events(fs: CgroupFs, dir: string): Record<string, unknown> {
  return parseFlatKeyed(tryRead(fs, `${dir}/cgroup.events`) ?? '');
}

function setFreeze(fs: CgroupFs, dir: string, v: '0' | '1'): void {
  const path = `${dir}/cgroup.freeze`;
  try {
    fs.writeFile(path, v);
  } catch (e) {
    throw writeError(v === '1' ? 'freeze' : 'thaw', v, path, e);
  }
  // Wait (up to ~10 s) for the kernel to report the new state.
  for (let i = 0; i < 2000; i++) {
    if (String(events(fs, dir).frozen ?? '0') === v) return;
    sleepMs(i < 20 ? 1 : 5);
  }
  throw new TsrunError(`${v === '1' ? 'freeze' : 'thaw'} ${dir}: cgroup.events did not show "frozen ${v}"`);
}

export function freezeV2(fs: CgroupFs, dir: string): void {
  setFreeze(fs, dir, '1');
}

export function thawV2(fs: CgroupFs, dir: string): void {
  setFreeze(fs, dir, '0');
}

export function isFrozenV2(fs: CgroupFs, dir: string): boolean {
  const want = tryRead(fs, `${dir}/cgroup.freeze`)?.trim();
  return want === '1' && String(events(fs, dir).frozen ?? '0') === '1';
}
