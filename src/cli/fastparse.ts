// A small parser for the command line described in table.ts. It handles the
// well-formed calls engines make on every container (create, start, state,
// kill, delete ...) without loading yargs; anything it is unsure of (help,
// an unknown flag, a missing argument) returns null and yargs takes over,
// so help and error messages come from one place.
import { commands, findCommand, globalFlags, type CommandDef, type FlagDef } from './table';

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface Parsed {
  command: CommandDef;
  globals: FlagValues;
  flags: FlagValues;
  positionals: Record<string, string | undefined>;
  /** Arguments after the positionals, for pass-through commands. */
  rest: string[];
}

function lookup(defs: Record<string, FlagDef>, name: string): [string, FlagDef] | undefined {
  if (defs[name]) return [name, defs[name]];
  for (const [key, def] of Object.entries(defs)) {
    if (def.alias?.includes(name)) return [key, def];
  }
  return undefined;
}

function parseBool(v: string): boolean | undefined {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}

/**
 * Reads one flag at argv[i] into out. Returns the number of argv entries used,
 * or -1 when the token is not a flag of `defs`.
 */
function takeFlag(argv: string[], i: number, defs: Record<string, FlagDef>, out: FlagValues): number {
  const tok = argv[i];
  const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(tok);
  if (!m) return -1;
  const found = lookup(defs, m[1]);
  if (!found) return -1;
  const [key, def] = found;
  let value = m[2];
  let used = 1;
  if (def.type === 'boolean') {
    if (value === undefined) {
      out[key] = true;
    } else {
      const b = parseBool(value);
      if (b === undefined) return -1;
      out[key] = b;
    }
    return used;
  }
  if (value === undefined) {
    if (i + 1 >= argv.length) return -1;
    value = argv[i + 1];
    used = 2;
  }
  if (def.type === 'number') {
    if (!/^-?\d+$/.test(value)) return -1;
    out[key] = Number(value);
  } else if (def.type === 'array') {
    const prev = out[key];
    out[key] = [...(Array.isArray(prev) ? prev : []), value];
  } else {
    if (def.choices && !def.choices.includes(value)) return -1;
    out[key] = value;
  }
  return used;
}

function withDefaults(defs: Record<string, FlagDef>, out: FlagValues): FlagValues {
  for (const [key, def] of Object.entries(defs)) {
    if (out[key] === undefined && def.default !== undefined) out[key] = def.default;
  }
  return out;
}

export function fastParse(argv: string[]): Parsed | null {
  const globals: FlagValues = {};
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) {
    const used = takeFlag(argv, i, globalFlags, globals);
    if (used < 0) return null;
    i += used;
  }
  if (i >= argv.length) return null;
  const command = findCommand(argv[i]);
  if (!command) return null;
  i++;
  const flags: FlagValues = {};
  const args: string[] = [];
  let rest: string[] = [];
  for (; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (tok.startsWith('-') && tok !== '-' && !/^-\d+$/.test(tok)) {
      const used = takeFlag(argv, i, command.flags, flags);
      if (used < 0) {
        // runc-style global flags after the command are accepted too
        const g = takeFlag(argv, i, globalFlags, globals);
        if (g < 0) {
          if (command.passThrough && args.length >= command.positionals.length) {
            rest = argv.slice(i);
            break;
          }
          return null;
        }
        i += g - 1;
        continue;
      }
      i += used - 1;
      continue;
    }
    args.push(tok);
    if (command.passThrough && args.length === command.positionals.length) {
      rest = argv.slice(i + 1);
      break;
    }
  }
  const positionals: Record<string, string | undefined> = {};
  command.positionals.forEach((p, n) => {
    positionals[p.name] = args[n];
  });
  if (command.positionals.some((p, n) => p.required && args[n] === undefined)) return null;
  if (args.length > command.positionals.length && !command.passThrough) return null;
  return { command, globals: withDefaults(globalFlags, globals), flags: withDefaults(command.flags, flags), positionals, rest };
}

export { commands };
