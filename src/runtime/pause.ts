// `pause` and `resume`: freeze and thaw every process of a container through
// its cgroup (v1 freezer.state, v2 cgroup.freeze). `state` then derives
// "paused" from the frozen cgroup (state/status.ts). The errors are runc
// 1.1.5's own words: "container not running" (pause of a stopped or already
// paused container), "container not paused" (resume of one that is not).
import { ContainerDir, type ContainerRecord } from '../state/store';
import { statusOf, type Status } from '../state/status';
import { cgroupManagerFromPaths, type CgroupManager } from '../cgroups/manager';
import { TsrunError } from '../errors';
import { withLock } from '../state/lock';

interface Opened {
  rec: ContainerRecord;
  status: Status;
}

function open(root: string, id: string): Opened {
  const dir = new ContainerDir(root, id);
  const rec = dir.load();
  return { rec, status: statusOf(rec, dir.fifo) };
}

function cgroupOf(id: string, rec: ContainerRecord): CgroupManager {
  if (Object.keys(rec.cgroupPaths).length === 0) throw new TsrunError(`container ${id} has no cgroup to freeze`);
  return cgroupManagerFromPaths(rec.cgroupPaths);
}

/** Freezes a running (or created) container, under its lock. */
export function pauseContainer(root: string, id: string): Promise<void> {
  return withLock(root, id, () => {
    const { rec, status } = open(root, id);
    // runc pauses created containers too (only the init is there to freeze)
    if (status !== 'running' && status !== 'created') throw new TsrunError('container not running');
    cgroupOf(id, rec).freeze();
  });
}

/** Thaws a paused container, under its lock. */
export function resumeContainer(root: string, id: string): Promise<void> {
  return withLock(root, id, () => {
    const { rec, status } = open(root, id);
    if (status !== 'paused') throw new TsrunError('container not paused');
    cgroupOf(id, rec).thaw();
  });
}
