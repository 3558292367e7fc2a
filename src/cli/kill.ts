import { killContainer } from '../runtime/kill';
import { requireId, str, type CommandContext } from './context';

export default function kill(ctx: CommandContext): number {
  killContainer(ctx.root, requireId(ctx), str(ctx.positionals.signal), Boolean(ctx.flags.all));
  return 0;
}
