import { resumeContainer } from '../runtime/pause';
import { withLock } from '../state/lock';
import { requireId, type CommandContext } from './context';

export default async function resume(ctx: CommandContext): Promise<number> {
  const id = requireId(ctx);
  await withLock(ctx.root, id, () => resumeContainer(ctx.root, id));
  return 0;
}
