import { runContainer } from '../runtime/run';
import { createOptionsOf, type CommandContext } from './context';

export default async function run(ctx: CommandContext): Promise<number> {
  return runContainer({ ...createOptionsOf(ctx), detach: Boolean(ctx.flags.detach), keep: Boolean(ctx.flags.keep) });
}
