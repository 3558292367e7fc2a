import { restoreContainer } from '../runtime/restore';
import { requireId, str, type CommandContext } from './context';
import { criuFlagsOf } from './criu-flags';

export default async function restore(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  return restoreContainer({
    ...criuFlagsOf(ctx),
    root: ctx.root,
    id: requireId(ctx),
    bundle: str(f.bundle) ?? '.',
    detach: Boolean(f.detach),
    pidFile: str(f['pid-file']),
    consoleSocket: str(f['console-socket']),
    noPivot: Boolean(f['no-pivot']),
    lsmProfile: str(f['lsm-profile']),
    lsmMountContext: str(f['lsm-mount-context']),
    systemdCgroup: Boolean(ctx.globals['systemd-cgroup']),
  });
}
