import * as path from 'node:path';
import { checkpointContainer } from '../runtime/checkpoint';
import { requireId, str, type CommandContext } from './context';
import { criuFlagsOf } from './criu-flags';

export default async function checkpoint(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const parent = str(f['parent-path']);
  await checkpointContainer({
    ...criuFlagsOf(ctx),
    root: ctx.root,
    id: requireId(ctx),
    leaveRunning: Boolean(f['leave-running']),
    preDump: Boolean(f['pre-dump']),
    parentPath: parent && path.isAbsolute(parent) ? path.relative(path.resolve(str(f['image-path']) ?? 'checkpoint'), parent) : parent,
  });
  return 0;
}
