// A lock per container, so that parallel create, start, delete, pause,
// resume and update on one container take turns. The lock is a file,
// <root>/.lock-<id>, holding its owner's pid and start time; it appears
// whole (written aside, then linked into place, which fails if it exists).
// A lock whose owner died (a crash, SIGKILL) is stale: the next taker moves
// it aside, checks it moved the stale one, and takes the lock. The container's
// init never holds it, so it cannot outlive the command that took it.
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError, sysError } from '../errors';
import { isSameLiveProcess, readProcStat } from './proc';
import { sleepAsync } from './sleep';

export interface Lock {
  release(): void;
}

let selfStamp: string | undefined;
function stamp(): string {
  selfStamp ??= `${process.pid} ${readProcStat(process.pid)?.startTime ?? ''}`;
  return selfStamp;
}

function readHolder(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // released meanwhile
  }
}

function holderAlive(content: string): boolean {
  const [pid, start] = content.split(' ');
  return /^\d+$/.test(pid) && isSameLiveProcess(Number(pid), start || undefined);
}

/** Moves a stale lock aside; true if the lock path may be retried at once. */
function breakStale(file: string, seen: string): boolean {
  const aside = `${file}.stale.${process.pid}.${Date.now()}`;
  try {
    renameSync(file, aside);
  } catch {
    return true; // someone else broke it first
  }
  if (readHolder(aside) !== seen) {
    // a fresh lock was taken between our read and the rename: put it back
    try {
      linkSync(aside, file);
    } catch {
      // a third process took the lock meanwhile; the moved one stays with its owner
    }
  }
  rmSync(aside, { force: true });
  return true;
}

function tryTake(file: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, stamp());
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw sysError(`take lock ${file}`, e);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export async function lockContainer(root: string, id: string, timeoutMs = 60_000): Promise<Lock> {
  try {
    mkdirSync(root, { recursive: true, mode: 0o711 });
  } catch (e) {
    throw sysError(`create state root ${root}`, e);
  }
  const file = path.join(root, `.lock-${id}`);
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    if (tryTake(file)) {
      const mine = stamp();
      return {
        release: () => {
          if (readHolder(file) === mine) rmSync(file, { force: true });
        },
      };
    }
    const holder = readHolder(file);
    if (holder !== undefined && !holderAlive(holder) && breakStale(file, holder)) continue;
    if (Date.now() > deadline) throw new TsrunError(`container ${id} is busy: another tsrun process holds its lock`);
    await sleepAsync(pause);
    pause = Math.min(pause * 2, 20);
  }
}

/** Runs fn while holding the container's lock. */
export async function withLock<T>(root: string, id: string, fn: () => T | Promise<T>): Promise<T> {
  const lock = await lockContainer(root, id);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
