import { deleteContainer } from '../runtime/delete';
import { requireId, type CommandContext } from './context';

export default function del(ctx: CommandContext): number {
  deleteContainer(ctx.root, requireId(ctx), Boolean(ctx.flags.force));
  return 0;
}
