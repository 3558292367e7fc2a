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

export const ANSWERS_FORMAT = 'tsrun-answers 1';
/** The order of the documents, which the launcher's STATUS table follows. */
export const ANSWER_STATUSES: readonly Status[] = ['running', 'created', 'paused', 'stopped'];

/**
 * The answers for `rec` (whose state.json is `recordBytes`), or undefined when Bun must answer every call: a
 * container still being created, one with no process, or a path the line format cannot carry.
 */
export function answersText(rec: ContainerRecord, recordBytes: Buffer, fifo: string, crc32hex: (b: Uint8Array) => string): Buffer | undefined {
  if (rec.status === 'creating' || !(rec.pid > 0)) return undefined;
  if (rec.pidStartTime !== undefined && !/^\d+$/.test(rec.pidStartTime)) return undefined;
  const paths = rec.cgroupPaths ?? {};
  // isFrozenAt(): a v1 host (any key besides "unified") asks its freezer, a v2 host its cgroup
  const v1 = Object.keys(paths).some((k) => k !== 'unified');
  const freezer = v1 ? (paths.freezer ? `v1 ${paths.freezer}` : 'none') : paths.unified ? `v2 ${paths.unified}` : 'none';
  if (![fifo, freezer].every((s) => !s.includes('\n') && !s.includes('\0')) || !fifo.startsWith('/')) return undefined;
  if (freezer !== 'none' && !freezer.slice(3).startsWith('/')) return undefined;
  const head = [
    ANSWERS_FORMAT,
    `record ${crc32hex(recordBytes)} ${recordBytes.length}`,
    `pid ${rec.pid}`,
    `start ${rec.pidStartTime ?? '-'}`,
    `fifo ${fifo}`,
    `freezer ${freezer}`,
    // start.ts's work, when it is only the exec fifo: a process to run, no poststart hook to run after it
    `startable ${!rec.noProcess && !(rec.hooks?.poststart?.length ?? 0) ? 1 : 0}`,
  ];
  const parts: Buffer[] = [Buffer.from(head.join('\n') + '\n')];
  for (const status of ANSWER_STATUSES) {
    // as cli/state.ts prints it
    const doc = Buffer.from(JSON.stringify(stateDocument(rec, status), null, 2) + '\n');
    parts.push(Buffer.from(`doc ${status} ${doc.length}\n`), doc);
  }
  return Buffer.concat(parts);
}
