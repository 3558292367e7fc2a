import type { ContainerRecord } from '../state/store';
import type { State } from '../spec/types';

/** The state document hooks get on stdin (spec fields only). */
export function hookState(rec: ContainerRecord, status: State['status']): State {
  const s: State = { ociVersion: rec.ociVersion, id: rec.id, status, pid: rec.pid, bundle: rec.bundle };
  if (rec.annotations) s.annotations = rec.annotations;
  return s;
}
