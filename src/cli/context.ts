import type { FlagValues } from './fastparse';

/** What every command handler receives. */
export interface CommandContext {
  root: string;
  /** --rootless, resolved (runtime/rootless.ts): cgroups the caller cannot make are done without. */
  rootless: boolean;
  globals: FlagValues;
  flags: FlagValues;
  positionals: Record<string, string | undefined>;
  rest: string[];
}

export function str(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

export function requireId(ctx: CommandContext): string {
  return ctx.positionals['container-id'] as string;
}

/** The options create and run share, from their flags. */
export function createOptionsOf(ctx: CommandContext) {
  return {
    root: ctx.root,
    id: requireId(ctx),
    bundle: str(ctx.flags.bundle) ?? '.',
    pidFile: str(ctx.flags['pid-file']),
    consoleSocket: str(ctx.flags['console-socket']),
    noPivot: Boolean(ctx.flags['no-pivot']),
    noNewKeyring: Boolean(ctx.flags['no-new-keyring']),
    preserveFds: Number(ctx.flags['preserve-fds'] ?? 0),
    systemdCgroup: Boolean(ctx.globals['systemd-cgroup']),
    rootless: ctx.rootless,
  };
}
