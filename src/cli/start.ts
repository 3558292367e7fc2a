import { startContainer } from '../runtime/start';
import { TsrunError } from '../errors';
import { requireId, type CommandContext } from './context';

export default async function start(ctx: CommandContext): Promise<number> {
  // the launcher started it (native/launcher-start.c) and the init said why it failed: told here, in the log's format
  const handed = process.env.TSRUN_START_ERROR;
  if (handed !== undefined) {
    delete process.env.TSRUN_START_ERROR;
    throw new TsrunError(handed);
  }
  await startContainer(ctx.root, requireId(ctx));
  return 0;
}
