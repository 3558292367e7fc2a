import { execProcess } from '../runtime/exec';
import { requireId, str, type CommandContext } from './context';

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

export default async function exec(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  return execProcess({
    root: ctx.root,
    id: requireId(ctx),
    processFile: str(f.process),
    args: ctx.rest,
    tty: f.tty === undefined ? undefined : Boolean(f.tty),
    consoleSocket: str(f['console-socket']),
    detach: Boolean(f.detach),
    pidFile: str(f['pid-file']),
    env: list(f.env),
    cwd: str(f.cwd),
    user: str(f.user),
    additionalGids: list(f['additional-gids']).flatMap((g) => g.split(',')),
    caps: list(f.cap),
    noNewPrivs: Boolean(f['no-new-privs']),
    preserveFds: Number(f['preserve-fds'] ?? 0),
    processLabel: str(f['process-label']),
    apparmor: str(f.apparmor),
    ignorePaused: Boolean(f['ignore-paused']),
    subCgroups: list(f.cgroup),
  });
}
