import { containerState } from '../runtime/state';
import { requireId, type CommandContext } from './context';
import { writeOut } from './output';

export default function state(ctx: CommandContext): number {
  writeOut(JSON.stringify(containerState(ctx.root, requireId(ctx)), null, 2) + '\n');
  return 0;
}
