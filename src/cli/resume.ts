import { resumeContainer } from '../runtime/pause';
import { requireId, type CommandContext } from './context';

export default async function resume(ctx: CommandContext): Promise<number> {
  await resumeContainer(ctx.root, requireId(ctx));
  return 0;
}
