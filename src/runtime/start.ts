// `start`: release a created container's init through the exec fifo, then
// run poststart. The init writes "0" to the fifo right before execve and the
// write end closes on exec, so reading to EOF tells us the exec happened;
// "E<message>" means a startContainer hook (or the exec setup) failed.
import { closeSync, constants as fsConstants, openSync, readSync, unlinkSync } from 'node:fs';
import { ContainerDir, type ContainerRecord } from '../state/store';
import { statusOf } from '../state/status';
import { isSameLiveProcess } from '../state/proc';
import { runHooks } from '../hooks/run';
import { hookState } from './hook-state';
import { backoff } from '../state/sleep';
import { faultPoint } from './fault';
import { withLock } from '../state/lock';
import { TsrunError } from '../errors';
import { mark } from '../log/timing';

export async function startContainer(root: string, id: string): Promise<void> {
  const dir = new ContainerDir(root, id);
  mark('start: modules loaded');
  await withLock(root, id, () => {
    mark('start: locked');
    const rec = dir.load();
    const status = statusOf(rec, dir.fifo);
    if (status !== 'created') throw notStartable(id, status);
    // runtime.md "start": with no process the runtime MUST generate an error; the container stays as it was
    if (rec.noProcess) throw new TsrunError(`cannot start container ${id}: its config has no process ($.process) to run`);
    mark('start: status read');
    releaseInit(dir, rec);
    mark('start: init released');
    afterStart(rec);
    mark('start: poststart run');
  });
}

export function notStartable(id: string, status: string): TsrunError {
  switch (status) {
    case 'stopped':
      return new TsrunError(`cannot start a container that has stopped: ${id}`);
    case 'running':
      return new TsrunError(`cannot start an already running container: ${id}`);
    case 'paused':
      return new TsrunError(`cannot start a paused container: ${id}`);
    default:
      return new TsrunError(`cannot start container ${id} in status ${status}`);
  }
}

/** Opens the fifo without blocking, so a dead init is reported, not waited on. */
export function releaseInit(dir: ContainerDir, rec: ContainerRecord): void {
  let fd: number;
  try {
    fd = openSync(dir.fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TsrunError(`cannot start container ${rec.id}: it was already started`);
    throw new TsrunError(`open exec fifo ${dir.fifo}: ${(e as Error).message}`);
  }
  faultPoint('start:fifo-opened');
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  let sawWriter = false;
  // the init reaches execve well within a millisecond unless a startContainer
  // hook runs: poll finely at first, so as not to add a doubled pause to every start
  const fine = backoff(0.2);
  const coarse = backoff(10);
  const fineUntil = Date.now() + 50;
  const pause = () => (Date.now() < fineUntil ? fine() : coarse());
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        sawWriter = true; // a writer holds the fifo open: keep waiting
        pause();
        continue;
      }
      if (n > 0) {
        sawWriter = true;
        chunks.push(Buffer.from(buf.subarray(0, n)));
        continue;
      }
      // EOF: either the init has not opened its end yet, or it is done
      if (sawWriter || chunks.length > 0) break;
      if (!isSameLiveProcess(rec.pid, rec.pidStartTime)) {
        throw new TsrunError(`cannot start container ${rec.id}: its init process has exited`);
      }
      pause();
    }
  } finally {
    closeSync(fd);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  faultPoint('start:released');
  try {
    unlinkSync(dir.fifo);
  } catch {
    // already gone
  }
  const failed = text.indexOf('E');
  if (failed >= 0) throw new TsrunError(text.slice(failed + 1).trim() || 'container init failed to start the process');
  if (text.startsWith('0')) return;
  throw new TsrunError(`cannot start container ${rec.id}: its init process exited before running the process`);
}

/**
 * Runs poststart; a failing hook stops the container. Nothing is written:
 * "running" is derived (a live init without its exec fifo), and only
 * "creating" in state.json means anything.
 */
export function afterStart(rec: ContainerRecord): void {
  try {
    runHooks('poststart', rec.hooks?.poststart, hookState(rec, 'running'));
  } catch (e) {
    try {
      process.kill(rec.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    throw e;
  }
}
