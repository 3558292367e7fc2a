import { startContainer } from '../runtime/start';
import { requireId, type CommandContext } from './context';

export default function start(ctx: CommandContext): number {
  startContainer(ctx.root, requireId(ctx));
  return 0;
}
