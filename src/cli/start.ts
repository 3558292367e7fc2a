import { startContainer } from '../runtime/start';
import { requireId, type CommandContext } from './context';

export default async function start(ctx: CommandContext): Promise<number> {
  await startContainer(ctx.root, requireId(ctx));
  return 0;
}
