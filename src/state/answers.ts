// The answers file, <root>/<id>/answers: what `state` and `kill` may answer
// without starting Bun (native/launcher-fast.c reads it). Written beside
// every state.json, from the record alone: the state document of each
// status, pre-rendered exactly as `state` prints it, and the facts that
// choose between them, in the order deriveStatus() asks them (the init alive
// with its start time, then frozen, then the exec fifo). The record's CRC-32
// and length come first, so that answers older than state.json are never
// used. The policy is here; the launcher only checks the listed facts, and
// leaves anything it is unsure of to Bun.
import { stateDocument, type Status } from './status';
import type { ContainerRecord } from './store';
import { crc32hex } from './crc32';

export const ANSWERS_FORMAT = 'tsrun-answers 1';
/** The order of the documents, which the launcher's STATUS table follows. */
export const ANSWER_STATUSES: readonly Status[] = ['running', 'created', 'paused', 'stopped'];

/**
 * The answers for `rec` (whose state.json is `recordBytes`), or undefined when Bun must answer every call: a
 * container still being created, one with no process, or a path the line format cannot carry.
 */
export function answersText(rec: ContainerRecord, recordBytes: Buffer, fifo: string): Buffer | undefined {
  if (rec.status === 'creating' || !(rec.pid > 0)) return undefined;
  if (rec.pidStartTime !== undefined && !/^\d+$/.test(rec.pidStartTime)) return undefined;
  const paths = rec.cgroupPaths ?? {};
  // isFrozenAt(): a v1 host (any key besides "unified") asks its freezer, a v2 host its cgroup
  const v1 = Object.keys(paths).some((k) => k !== 'unified');
  const freezer = v1 ? (paths.freezer ? `v1 ${paths.freezer}` : 'none') : paths.unified ? `v2 ${paths.unified}` : 'none';
  if (![fifo, freezer].every((s) => !s.includes('\n') && !s.includes('\0')) || !fifo.startsWith('/')) return undefined;
  if (freezer !== 'none' && !freezer.slice(3).startsWith('/')) return undefined;
  if (!Object.values(paths).every((d) => d.startsWith('/') && !d.includes('\n') && !d.includes('\0'))) return undefined;
  const head = [
    ANSWERS_FORMAT,
    `record ${crc32hex(recordBytes)} ${recordBytes.length}`,
    `pid ${rec.pid}`,
    `start ${rec.pidStartTime ?? '-'}`,
    `fifo ${fifo}`,
    `freezer ${freezer}`,
    // start.ts's work, when it is only the exec fifo: a process to run, no poststart hook to run after it
    `startable ${!rec.noProcess && !(rec.hooks?.poststart?.length ?? 0) ? 1 : 0}`,
    ...deleteFacts(rec),
  ];
  const parts: Buffer[] = [Buffer.from(head.join('\n') + '\n')];
  for (const status of ANSWER_STATUSES) {
    // as cli/state.ts prints it
    const doc = Buffer.from(JSON.stringify(stateDocument(rec, status), null, 2) + '\n');
    parts.push(Buffer.from(`doc ${status} ${doc.length}\n`), doc);
  }
  return Buffer.concat(parts);
}

/**
 * destroy.ts's work for a stopped container, when it is only removing: the cgroup directories (each manager's
 * own: every v1 hierarchy's, or the one v2 directory) after a look at the cgroup.procs its pids() reads, then the
 * state directory. A systemd unit, a resctrl group, host mounts or a poststop hook are Bun's.
 */
function deleteFacts(rec: ContainerRecord): string[] {
  const paths = rec.cgroupPaths ?? {};
  const v1 = Object.keys(paths).some((k) => k !== 'unified');
  const dirs = v1 ? [...new Set(Object.values(paths))] : paths.unified ? [paths.unified] : [];
  const first = v1 ? (['pids', 'memory', 'devices', 'freezer', 'cpu', 'name=systemd'].map((k) => paths[k]).find(Boolean) ?? dirs[0]) : dirs[0];
  const onlyRemoving = !rec.systemd && !rec.intelRdt && !rec.hostMounts && !(rec.hooks?.poststop?.length ?? 0) && dirs.length <= 16;
  return [`deletable ${onlyRemoving ? 1 : 0}`, `procs ${first ? `${first}/cgroup.procs` : '-'}`, `rmdirs ${onlyRemoving ? dirs.length : 0}`, ...(onlyRemoving ? dirs : [])];
}
