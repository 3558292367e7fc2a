// `state` and `list`: what each container is, derived from its process.
import { ContainerDir, listIds } from '../state/store';
import { stateDocument, statusOf } from '../state/status';
import type { State } from '../spec/types';

export function containerState(root: string, id: string): State {
  const dir = new ContainerDir(root, id);
  const rec = dir.load();
  return stateDocument(rec, statusOf(rec, dir.fifo));
}

/**
 * Every container under root. A directory whose state cannot be read (corrupt, unreadable, a freezer that cannot
 * be read) is reported through onError, as runc reports it on stderr, and the others are still listed. A directory
 * with no state file yet is a container still being created: not listed.
 */
export function listContainers(root: string, onError: (id: string, message: string) => void = () => undefined): State[] {
  const out: State[] = [];
  for (const id of listIds(root)) {
    const dir = new ContainerDir(root, id);
    try {
      const rec = dir.read();
      if (rec) out.push(stateDocument(rec, statusOf(rec, dir.fifo)));
    } catch (e) {
      onError(id, (e as Error).message);
    }
  }
  return out;
}
