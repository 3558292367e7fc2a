// `ps`: the processes of a container, from its cgroup (without one, ns-pids.ts). JSON is the list of
// host pids (what containerd reads); the table is the host's ps output
// filtered to those pids, as runc prints it.
import { spawnSync } from 'node:child_process';
import { cgroupManagerFromPaths } from '../cgroups/manager';
import { ContainerDir } from '../state/store';
import { TsrunError } from '../errors';
import { pidsWithoutCgroup } from './ns-pids';

export function containerPids(root: string, id: string): number[] {
  const rec = new ContainerDir(root, id).load();
  if (Object.keys(rec.cgroupPaths).length === 0) return rec.pid ? pidsWithoutCgroup(rec.pid, rec.pidNamespace) : [];
  return cgroupManagerFromPaths(rec.cgroupPaths).pids();
}

/** Runs `ps ARGS` (default -ef) and keeps the header and the lines of these pids. */
export function psTable(pids: number[], psArgs: string[]): string {
  const args = psArgs.length > 0 ? psArgs : ['-ef'];
  const r = spawnSync('ps', args, { encoding: 'utf8' });
  if (r.error) throw new TsrunError(`ps ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new TsrunError(`ps ${args.join(' ')}: ${String(r.stderr).trim() || `exit status ${r.status}`}`);
  const lines = String(r.stdout).split('\n');
  const header = lines[0] ?? '';
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new TsrunError(`ps ${args.join(' ')}: its output has no PID column`);
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((l) => l.trim() && wanted.has(Number(l.trim().split(/\s+/)[col])));
  return [header, ...rows].join('\n') + '\n';
}
