import { createContainer } from '../runtime/create';
import { requireId, str, type CommandContext } from './context';

export default async function create(ctx: CommandContext): Promise<number> {
  const { channel } = await createContainer({
    root: ctx.root,
    id: requireId(ctx),
    bundle: str(ctx.flags.bundle) ?? '.',
    pidFile: str(ctx.flags['pid-file']),
    consoleSocket: str(ctx.flags['console-socket']),
    noPivot: Boolean(ctx.flags['no-pivot']),
    noNewKeyring: Boolean(ctx.flags['no-new-keyring']),
    preserveFds: Number(ctx.flags['preserve-fds'] ?? 0),
  });
  channel.detach();
  return 0;
}
