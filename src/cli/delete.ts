import { deleteContainer } from '../runtime/delete';
import { requireId, type CommandContext } from './context';

export default async function del(ctx: CommandContext): Promise<number> {
  await deleteContainer(ctx.root, requireId(ctx), Boolean(ctx.flags.force));
  return 0;
}
