import { parseDuration, statsEvent, streamEvents } from '../runtime/events';
import { requireId, str, type CommandContext } from './context';
import { writeOut } from './output';
import { log } from '../log/logger';

export default async function events(ctx: CommandContext): Promise<number> {
  const id = requireId(ctx);
  if (ctx.flags.stats) {
    writeOut(statsEvent(ctx.root, id));
    return 0;
  }
  const write = (line: string) => {
    try {
      writeOut(line);
    } catch (e) {
      // the reader went away (EPIPE): nobody is listening any more
      log.error(`events: write to stdout: ${(e as Error).message}`);
      process.exit(1);
    }
  };
  await streamEvents({ root: ctx.root, id, intervalMs: parseDuration(str(ctx.flags.interval) ?? '5s'), write });
  return 0;
}
