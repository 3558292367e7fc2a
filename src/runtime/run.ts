// `run`: create + start; in the foreground, wait for the container process
// (its parent, tsrun-init stage 0, reports the wait status), forward signals
// to it, then delete the container. Exit status: the process's own, or
// 128+N after a death by signal N.
import { createContainer, type CreateOptions } from './create';
import { releaseInit, afterStart } from './start';
import { deleteContainer } from './delete';
import { TsrunError } from '../errors';
import { followInit } from './init-messages';
import { withLock } from '../state/lock';
import { forwardSignals } from './signals';
import { mark } from '../log/timing';

export function exitCodeOf(waitStatus: number): number {
  const sig = waitStatus & 0x7f;
  if (sig === 0) return (waitStatus >> 8) & 0xff;
  return 128 + sig;
}

export async function runContainer(o: CreateOptions & { detach?: boolean; keep?: boolean }): Promise<number> {
  const created = await createContainer({ ...o, wait: !o.detach, requireProcess: true });
  const { dir, record, channel } = created;
  if (o.detach) {
    channel.detach();
    await withLock(o.root, record.id, () => {
      releaseInit(dir, record);
      afterStart(record);
    });
    return 0;
  }
  const stopForwarding = forwardSignals(() => record.pid);
  let code = 1;
  try {
    await withLock(o.root, record.id, () => {
      releaseInit(dir, record);
      afterStart(record);
    });
    mark('run: started');
    let status: number | undefined;
    // after start an error of the process is followed by its exit status: log it and wait for that
    await followInit(channel, {
      on: {
        started: () => undefined,
        exit: (e) => {
          status = e.status;
        },
      },
      errors: 'log',
      closed: () => undefined,
    });
    mark('run: container exited');
    if (status === undefined) throw new TsrunError(`lost track of the process of container ${record.id}`);
    code = exitCodeOf(status);
  } finally {
    stopForwarding();
    if (!o.keep) await deleteContainer(o.root, record.id, true);
    mark('run: deleted');
  }
  return code;
}
