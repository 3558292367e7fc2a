// The flags checkpoint and restore share (runc's), as the runtime takes them.
import * as path from 'node:path';
import type { CriuFlags } from '../runtime/criu';
import { str, type CommandContext } from './context';

export function criuFlagsOf(ctx: CommandContext): CriuFlags {
  const f = ctx.flags;
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
  const work = str(f['work-path']);
  return {
    criu: str(ctx.globals.criu) ?? 'criu',
    // runc's default: ./checkpoint
    imagePath: path.resolve(str(f['image-path']) ?? 'checkpoint'),
    workPath: work ? path.resolve(work) : undefined,
    tcpEstablished: Boolean(f['tcp-established']),
    extUnixSk: Boolean(f['ext-unix-sk']),
    shellJob: Boolean(f['shell-job']),
    fileLocks: Boolean(f['file-locks']),
    manageCgroupsMode: str(f['manage-cgroups-mode']),
    emptyNs: list(f['empty-ns']).flatMap((s) => s.split(',')).filter(Boolean),
    autoDedup: Boolean(f['auto-dedup']),
  };
}
