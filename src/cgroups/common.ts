// What the v1 and v2 managers do the same way: joining, listing processes,
// removal with retries, killing everything, and watching for OOM kills.

import { TsrunError } from '../errors';
import type { CgroupFs } from './fs';
import { U64, errCode, reasonOf, sleepMs, toBig, tryRead, writeError } from './util';

export function procsFilesOf(dirs: string[]): string[] {
  return dirs.map((d) => `${d}/cgroup.procs`);
}

export function addProcessTo(fs: CgroupFs, dirs: string[], pid: number): void {
  for (const f of procsFilesOf(dirs)) {
    try {
      fs.writeFile(f, String(pid));
    } catch (e) {
      throw writeError('join cgroup', String(pid), f, e);
    }
  }
}

/** Sub-cgroups of `dir`, deepest first, then `dir` itself. */
function treeDeepestFirst(fs: CgroupFs, dir: string): string[] {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = fs.subdirs(dir);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return [];
    throw e;
  }
  for (const n of names) out.push(...treeDeepestFirst(fs, `${dir}/${n}`));
  out.push(dir);
  return out;
}

/**
 * Remove each directory with its sub-cgroups, deepest first. rmdir fails with
 * EBUSY while a dying process is still leaving; retry for up to ~1 s in all. No
 * process is killed here.
 */
export function removeDirs(fs: CgroupFs, dirs: string[], budgetMs = 1000): void {
  const errors: string[] = [];
  const deadline = Date.now() + budgetMs; // one budget for the whole removal
  for (const top of dirs) {
    // the usual case, a leaf cgroup with nobody left in it: one rmdir
    try {
      fs.rmdir(top);
      continue;
    } catch (e) {
      if (errCode(e) === 'ENOENT') continue;
    }
    for (const d of treeDeepestFirst(fs, top)) {
      for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
        try {
          fs.rmdir(d);
          break;
        } catch (e) {
          const code = errCode(e);
          if (code === 'ENOENT') break;
          if (code === 'EBUSY' && Date.now() < deadline) {
            sleepMs(Math.min(delay, Math.max(1, deadline - Date.now())));
            continue;
          }
          const procs = (tryRead(fs, `${d}/cgroup.procs`) ?? '').trim().split('\n').filter(Boolean);
          const reason = reasonOf(e);
          errors.push(`remove cgroup ${d}: ${reason}${procs.length ? ` (processes still in it: ${procs.join(' ')})` : ''}`);
          break;
        }
      }
    }
  }
  if (errors.length) throw new TsrunError(errors[0], { details: errors.slice(1) });
}

/** Pids in `dir` and every sub-cgroup of it. */
export function pidsIn(fs: CgroupFs, dir: string): number[] {
  const out: number[] = [];
  for (const d of treeDeepestFirst(fs, dir)) {
    const t = tryRead(fs, `${d}/cgroup.procs`);
    if (t) for (const l of t.split('\n')) if (l.trim()) out.push(Number(l));
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Send `signal` to every pid (ESRCH, a process that has just gone, is fine). */
export function signalAll(pids: number[], signal: NodeJS.Signals | number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if (errCode(e) !== 'ESRCH') throw new TsrunError(`kill ${pid}: ${reasonOf(e)}`, { cause: e });
    }
  }
}

export interface OomWatchOptions {
  /** How often to look, in ms (default 200). */
  intervalMs?: number;
}

/**
 * Poll an OOM counter and call `onOom` once per new OOM kill (and, on v1,
 * when the cgroup enters under_oom with the killer disabled). Returns stop().
 */
export function pollOom(count: () => U64, onOom: () => void, opts: OomWatchOptions = {}, underOom?: () => boolean): () => void {
  // the first read throws: a counter that cannot be read cannot be watched (the caller says so)
  let last = Number(toBig(count()));
  let wasUnder = underOom?.() ?? false;
  const timer = setInterval(() => {
    let now: number;
    let under: boolean;
    try {
      now = Number(toBig(count()));
      under = underOom?.() ?? false;
    } catch {
      return; // the cgroup is going away with the container; what was counted stands
    }
    for (let i = last; i < now; i++) onOom();
    last = now > last ? now : last;
    if (under && !wasUnder) onOom();
    wasUnder = under;
  }, opts.intervalMs ?? 200);
  return () => clearInterval(timer);
}
