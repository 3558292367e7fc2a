import type { FlagValues } from './fastparse';

/** What every command handler receives. */
export interface CommandContext {
  root: string;
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
