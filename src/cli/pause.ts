import { pauseContainer } from '../runtime/pause';
import { withLock } from '../state/lock';
import { requireId, type CommandContext } from './context';

export default async function pause(ctx: CommandContext): Promise<number> {
  const id = requireId(ctx);
  await withLock(ctx.root, id, () => pauseContainer(ctx.root, id));
  return 0;
}
