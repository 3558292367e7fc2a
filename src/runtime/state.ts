// `state` and `list`: what each container is, derived from its process.
import { ContainerDir, listIds } from '../state/store';
import { stateDocument, statusOf } from '../state/status';
import type { State } from '../spec/types';

export function containerState(root: string, id: string): State {
  const dir = new ContainerDir(root, id);
  const rec = dir.load();
  return stateDocument(rec, statusOf(rec, dir.fifo));
}

/** Every container under root; directories without a readable state are skipped. */
export function listContainers(root: string): State[] {
  const out: State[] = [];
  for (const id of listIds(root)) {
    const dir = new ContainerDir(root, id);
    try {
      const rec = dir.read();
      if (rec) out.push(stateDocument(rec, statusOf(rec, dir.fifo)));
    } catch {
      // a corrupt or half-written state: not a container to list
    }
  }
  return out;
}
