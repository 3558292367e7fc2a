import { pauseContainer } from '../runtime/pause';
import { requireId, type CommandContext } from './context';

export default async function pause(ctx: CommandContext): Promise<number> {
  await pauseContainer(ctx.root, requireId(ctx));
  return 0;
}
