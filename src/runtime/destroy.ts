// Removes every trace of a container: its processes, cgroup, the mounts it
// made in the runtime's namespace (no mount namespace), state directory;
// runs poststop when asked. Used by delete and by a failed create,
// so it must cope with a container at any stage of its life.
import { cgroupManagerFromPaths, type CgroupManager } from '../cgroups/manager';
import { isSameLiveProcess, readProcStat } from '../state/proc';
import type { ContainerDir, ContainerRecord } from '../state/store';
import { runHooksCollectingErrors } from '../hooks/run';
import { hookState } from './hook-state';
import { backoff } from '../state/sleep';
import { faultPoint } from './fault';
import { removeHostMounts } from './host-mounts';
import { removeIntelRdt } from './intel-rdt';
import { TsrunError } from '../errors';
import { mark } from '../log/timing';

/** Waits until pid is gone or a zombie (or is another process now). */
export function waitForExit(pid: number, startTime: string | undefined, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  const pause = backoff(20);
  while (isSameLiveProcess(pid, startTime, readProcStat(pid))) {
    if (Date.now() > deadline) return false;
    pause();
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Returns problems that did not stop the removal (for warnings). Throws, keeping the state, when mounts of the
 * container stay in the runtime's namespace.
 */
export async function destroyContainer(
  dir: ContainerDir,
  rec: ContainerRecord,
  opts: { runPoststop: boolean; /** create's own manager, which knows what it made */ cgroup?: CgroupManager },
): Promise<string[]> {
  mark('delete: destroying');
  const problems: string[] = [];
  const cgroup =
    opts.cgroup ?? (Object.keys(rec.cgroupPaths).length > 0 ? cgroupManagerFromPaths(rec.cgroupPaths, { systemd: rec.systemd, id: rec.id }) : undefined);
  const initAlive = rec.pid > 0 && isSameLiveProcess(rec.pid, rec.pidStartTime);
  const killCgroup = () => {
    try {
      cgroup!.killAll('SIGKILL'); // freezes first (v1), so that nothing forks past it
      if (cgroup!.isFrozen()) cgroup!.thaw(); // a paused container dies only once thawed
    } catch (e) {
      problems.push((e as Error).message);
    }
  };
  const frozen = cgroup ? cgroup.isFrozen() : false;
  if (initAlive) signal(rec.pid, 'SIGKILL');
  // with its own pid namespace the init's death takes every process with it;
  // the whole cgroup is signalled when that is not enough
  if (cgroup && (frozen || (initAlive && !rec.pidNamespace))) killCgroup();
  if (initAlive && !waitForExit(rec.pid, rec.pidStartTime, 10_000)) {
    problems.push(`container init ${rec.pid} did not exit after SIGKILL`);
  }
  if (cgroup && cgroup.pids().length > 0) killCgroup(); // processes put there from outside
  mark('delete: killed');
  faultPoint('delete:killed');
  if (cgroup) {
    try {
      await cgroup.destroy();
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  mark('delete: cgroup removed');
  if (rec.intelRdt) problems.push(...removeIntelRdt(rec.intelRdt));
  if (rec.hostMounts) {
    // no mount namespace: the container's mounts are the runtime's, under its state directory. Until they are
    // gone the state stays (ContainerDir.remove would refuse anyway), so that delete can be tried again.
    const left = removeHostMounts(dir, rec.hostMounts);
    if (left) throw new TsrunError(`${left} (container ${rec.id} is kept: delete it again)`);
  }
  if (opts.runPoststop) {
    problems.push(...runHooksCollectingErrors('poststop', rec.hooks?.poststop, hookState(rec, 'stopped')));
  }
  faultPoint('delete:before-remove');
  dir.remove();
  return problems;
}
