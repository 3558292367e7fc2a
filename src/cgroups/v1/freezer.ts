// v1 freezer: freezer.state FROZEN / THAWED. Freezing can stall in FREEZING
// (a task in an uninterruptible sleep); as runc does, keep asking, and now and
// then thaw and try again, for about 10 s before giving up.

import { TsrunError } from '../../errors';
import type { CgroupFs } from '../fs';
import { readTrim, sleepMs, tryRead, writeError } from '../util';

function write(fs: CgroupFs, dir: string, state: string): void {
  try {
    fs.writeFile(`${dir}/freezer.state`, state);
  } catch (e) {
    throw writeError('freezer', state, `${dir}/freezer.state`, e);
  }
}

export function freezeV1(fs: CgroupFs, dir: string): void {
  try {
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        write(fs, dir, 'THAWED');
        sleepMs(10);
      }
      write(fs, dir, 'FROZEN');
      const state = readTrim(fs, `${dir}/freezer.state`);
      if (state === 'FROZEN') return;
      if (state !== 'FREEZING') throw new TsrunError(`freeze ${dir}: unexpected freezer.state ${state}`);
      sleepMs(i < 25 ? 0 : 1);
    }
  } catch (e) {
    try { write(fs, dir, 'THAWED'); } catch { /* keep the first error */ }
    throw e;
  }
  write(fs, dir, 'THAWED');
  throw new TsrunError(`freeze ${dir}: the cgroup stayed in FREEZING`);
}

export function thawV1(fs: CgroupFs, dir: string): void {
  write(fs, dir, 'THAWED');
  for (let i = 0; i < 1000; i++) {
    const state = readTrim(fs, `${dir}/freezer.state`);
    if (state === 'THAWED') return;
    sleepMs(1);
  }
  throw new TsrunError(`thaw ${dir}: freezer.state did not become THAWED`);
}

/** Frozen by us (not merely because a parent cgroup is frozen). */
export function isFrozenV1(fs: CgroupFs, dir: string): boolean {
  for (let i = 0; ; i++) {
    const state = tryRead(fs, `${dir}/freezer.state`)?.trim();
    if (state === undefined || state === 'THAWED') return false;
    if (state === 'FROZEN') {
      const self = tryRead(fs, `${dir}/freezer.self_freezing`);
      return self === undefined || self.trim() === '1';
    }
    if (i > 1000) return false; // FREEZING for over a second: not (yet) frozen
    sleepMs(1);
  }
}
