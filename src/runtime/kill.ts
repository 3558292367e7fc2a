// `kill`: signal the container's init, or with --all every process in its cgroup (without one, ns-pids.ts).
import { SIGNAL_NUMBERS } from './signal-numbers';
import { ContainerDir } from '../state/store';
import { statusOf } from '../state/status';
import { load } from '../cgroups/lazy';
import { TsrunError } from '../errors';
import { pidsWithoutCgroup } from './ns-pids';

/** "9", "KILL", "SIGKILL", "sigkill" -> 9; "0" only checks that the init exists, as kill(2) and runc do. */
export function parseSignal(text: string | undefined): number {
  if (text === undefined || text === '') return SIGNAL_NUMBERS.SIGTERM;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 0 && n <= 64) return n;
    throw new TsrunError(`invalid signal "${text}": out of range 0-64`);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) || /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? 34 + off : 64 - off;
    if (n >= 34 && n <= 64) return n;
  }
  if (!Object.hasOwn(SIGNAL_NUMBERS, name)) throw new TsrunError(`invalid signal "${text}"`);
  return SIGNAL_NUMBERS[name];
}

export function killContainer(root: string, id: string, signalText: string | undefined, all: boolean): void {
  const sig = parseSignal(signalText);
  const dir = new ContainerDir(root, id);
  const rec = dir.load();
  const status = statusOf(rec, dir.fifo);
  if (status === 'stopped') throw new TsrunError(`container ${id} is not running: container not running`);
  if (status === 'creating') throw new TsrunError(`container ${id} is still being created`);
  if (all && Object.keys(rec.cgroupPaths).length > 0) {
    load.manager().cgroupManagerFromPaths(rec.cgroupPaths).killAll(sig);
    return;
  }
  if (all) {
    // no cgroup (rootless): the processes ns-pids.ts finds; the init last, so that none is orphaned first
    const pids = pidsWithoutCgroup(rec.pid, rec.pidNamespace).filter((p) => p !== rec.pid);
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // gone meanwhile
      }
    }
  }
  try {
    process.kill(rec.pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new TsrunError(`container ${id}: no such process`);
    throw new TsrunError(`kill container ${id}: ${(e as Error).message}`);
  }
}
