// `delete`: remove a stopped container; --force kills it first.
import { ContainerDir } from '../state/store';
import { statusOf } from '../state/status';
import { destroyContainer } from './destroy';
import { TsrunError } from '../errors';
import { log } from '../log/logger';
import { withLock } from '../state/lock';
import { mark } from '../log/timing';

export async function deleteContainer(root: string, id: string, force: boolean): Promise<void> {
  mark('delete: modules loaded');
  await withLock(root, id, () => deleteLocked(root, id, force));
}

async function deleteLocked(root: string, id: string, force: boolean): Promise<void> {
  mark('delete: locked');
  const dir = new ContainerDir(root, id);
  const rec = dir.read();
  if (!rec) {
    // --force, as runc's: no container is success (containerd's shim cleanup deletes once more after its
    // Delete); a directory without state.json is a create that died before writing it
    if (force) {
      if (dir.exists()) dir.remove();
      return;
    }
    throw new TsrunError(`container ${id} does not exist`);
  }
  dir.checkOwner(); // its poststop hooks would run as this user
  // runtime.md#delete: deleting a container that is not stopped MUST fail and
  // change nothing; a created one too (runc kills it). --force kills first,
  // whatever the status (even one that cannot be read).
  if (!force) {
    const status = statusOf(rec, dir.fifo);
    if (status !== 'stopped') throw new TsrunError(`cannot delete container ${id} that is not stopped: ${status} (use --force to kill it first)`);
  }
  for (const p of await destroyContainer(dir, rec, { runPoststop: true })) log.warn(p);
}
