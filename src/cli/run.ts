import { runContainer } from '../runtime/run';
import { requireId, str, type CommandContext } from './context';

export default async function run(ctx: CommandContext): Promise<number> {
  return runContainer({
    root: ctx.root,
    id: requireId(ctx),
    bundle: str(ctx.flags.bundle) ?? '.',
    pidFile: str(ctx.flags['pid-file']),
    consoleSocket: str(ctx.flags['console-socket']),
    noPivot: Boolean(ctx.flags['no-pivot']),
    noNewKeyring: Boolean(ctx.flags['no-new-keyring']),
    preserveFds: Number(ctx.flags['preserve-fds'] ?? 0),
    detach: Boolean(ctx.flags.detach),
    keep: Boolean(ctx.flags.keep),
  });
}
