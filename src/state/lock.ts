// A lock per container, so that parallel create, start, delete, pause,
// resume and update on one container take turns. The lock is a symlink,
// <root>/.lock-<id>, whose target is its owner's pid and start time: it
// appears whole, in one symlink(2) that fails if it exists, and costs every
// command two syscalls to take and two to release. A lock whose owner died
// (a crash, SIGKILL) is stale: the next taker moves it aside, checks it moved
// the stale one, and takes the lock. The container's init never holds it, so
// it cannot outlive the command that took it.
import { linkSync, mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError, sysError } from '../errors';
import { checkId } from './store';
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
    return readlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') return undefined; // released meanwhile
  }
  try {
    return readFileSync(file, 'utf8'); // a regular file: the lock of an older tsrun
  } catch {
    return undefined;
  }
}

function holderAlive(content: string): boolean {
  const [pid, start] = content.split(' ');
  return /^\d+$/.test(pid) && isSameLiveProcess(Number(pid), start || undefined);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
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
  unlinkQuietly(aside);
  return true;
}

/** A state root the caller may not write (a user who is not root with --root /run/tsrun, say) says so first. */
function rootError(root: string, err: TsrunError, code: string | undefined): TsrunError {
  if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return err;
  return new TsrunError(`--root ${root}: not writable by uid ${process.geteuid?.() ?? '?'} (${err.message})`, { cause: err });
}

function tryTake(root: string, file: string): boolean {
  for (let attempt = 0; ; attempt++) {
    try {
      symlinkSync(stamp(), file);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'ENOENT' || attempt > 0) throw rootError(root, sysError(`take lock ${file}`, e), code);
    }
    // the first command under this root
    try {
      mkdirSync(root, { recursive: true, mode: 0o711 });
    } catch (e) {
      throw rootError(root, sysError(`create state root ${root}`, e), (e as NodeJS.ErrnoException).code);
    }
  }
}

export async function lockContainer(root: string, id: string, timeoutMs = 60_000): Promise<Lock> {
  const file = path.join(root, `.lock-${checkId(id)}`);
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    if (tryTake(root, file)) {
      const mine = stamp();
      return {
        release: () => {
          if (readHolder(file) === mine) unlinkQuietly(file);
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
