// Status is derived, never trusted: the recorded pid must still be the same
// live process (start time), a frozen cgroup means paused, and only then
// does the exec fifo mean created.
import { existsSync } from 'node:fs';
import type { ContainerRecord } from './store';
import { isSameLiveProcess, readProcStat, type ProcStat } from './proc';
import type { State } from '../spec/types';
import { isFrozenAt } from '../cgroups/frozen';
import { TsrunError } from '../errors';

export type Status = State['status'];

export interface StatusFacts {
  stat: ProcStat | undefined;
  fifoExists: boolean;
  frozen: boolean;
  /** The tsrun process of a "creating" record still runs. */
  creatorAlive?: boolean;
}

export function deriveStatus(rec: ContainerRecord, facts: StatusFacts): Status {
  // a create whose tsrun died never finishes: its init exits with the channel
  if (rec.status === 'creating') return facts.creatorAlive ? 'creating' : 'stopped';
  if (rec.pid <= 0) return 'stopped';
  if (!isSameLiveProcess(rec.pid, rec.pidStartTime, facts.stat)) return 'stopped';
  if (facts.frozen) return 'paused';
  if (facts.fifoExists) return 'created';
  return 'running';
}

/** A cgroup without a freezer (or gone) is not frozen; a freezer that cannot be read is an error, not "running". */
function frozenOnHost(rec: ContainerRecord): boolean {
  try {
    return isFrozenAt(rec.cgroupPaths);
  } catch (e) {
    throw new TsrunError(`container ${rec.id}: cannot tell whether it is paused: ${(e as Error).message}`);
  }
}

export function statusOf(rec: ContainerRecord, fifo: string): Status {
  const stat = readProcStat(rec.pid);
  const live = isSameLiveProcess(rec.pid, rec.pidStartTime, stat);
  return deriveStatus(rec, {
    stat,
    fifoExists: live && existsSync(fifo),
    frozen: live && frozenOnHost(rec),
    creatorAlive: rec.status === 'creating' && !!rec.creator && isSameLiveProcess(rec.creator.pid, rec.creator.startTime),
  });
}

/** The spec's state document plus runc's extra fields (created, rootfs, owner). */
export function stateDocument(rec: ContainerRecord, status: Status): State {
  const doc: State = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
  };
  if (rec.annotations && Object.keys(rec.annotations).length > 0) doc.annotations = rec.annotations;
  return doc;
}
