import { containerPids, psTable } from '../runtime/ps';
import { requireId, type CommandContext } from './context';
import { writeOut } from './output';

export default function ps(ctx: CommandContext): number {
  const pids = containerPids(ctx.root, requireId(ctx));
  if (ctx.flags.format === 'json') writeOut(JSON.stringify(pids) + '\n');
  else writeOut(psTable(pids, ctx.rest));
  return 0;
}
