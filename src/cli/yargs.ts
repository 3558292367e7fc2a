// yargs, built from table.ts: help, usage errors, and any call the fast
// parser declined. Loaded only when needed (it costs 30-60 ms to import).
import { commands, globalFlags, type CommandDef, type FlagDef } from './table';
import type { FlagValues, Parsed } from './fastparse';
import { TsrunError } from '../errors';

function toOption(def: FlagDef): Record<string, unknown> {
  const o: Record<string, unknown> = { type: def.type, describe: def.describe };
  if (def.alias) o.alias = def.alias;
  if (def.default !== undefined) o.default = def.default;
  if (def.choices) o.choices = def.choices;
  if (def.ignored) o.hidden = true;
  return o;
}

function usageOf(c: CommandDef): string {
  const pos = c.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  const rest = c.restUsage ? ` ${c.restUsage}` : '';
  return [c.name, ...(c.aliases ?? [])].map((n, i) => (i === 0 ? `${n} ${pos}${rest}`.trim() : n))[0];
}

function pick(argv: Record<string, unknown>, defs: Record<string, FlagDef>): FlagValues {
  const out: FlagValues = {};
  for (const key of Object.keys(defs)) out[key] = argv[key] as FlagValues[string];
  return out;
}

function takesValue(defs: Record<string, FlagDef>, tok: string): boolean {
  const m = /^--?([\w-]+)$/.exec(tok);
  if (!m) return false;
  const def = defs[m[1]] ?? Object.values(defs).find((d) => d.alias?.includes(m[1]));
  return !!def && def.type !== 'boolean';
}

/**
 * For exec and ps everything after the container id belongs to the command
 * (`exec ID sh -c ...`): cut it off before yargs sees it.
 */
export function splitPassThrough(argv: string[]): { head: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) i += takesValue(globalFlags, argv[i]) ? 2 : 1;
  const c = commands.find((d) => d.name === argv[i] || d.aliases?.includes(argv[i]));
  if (!c || !c.passThrough) return { head: argv, rest: [] };
  for (i++; i < argv.length; i++) {
    if (argv[i] === '--') return { head: [...argv.slice(0, i), ...argv.slice(i + 1, i + 2)], rest: argv.slice(i + 2) };
    if (!argv[i].startsWith('-')) return { head: argv.slice(0, i + 1), rest: argv.slice(i + 1) };
    if (takesValue(c.flags, argv[i]) || takesValue(globalFlags, argv[i])) i++;
  }
  return { head: argv, rest: [] };
}

/** Parses argv with yargs. Returns null when yargs handled it (help). */
export function yargsParse(fullArgv: string[]): Parsed | null {
  const { head: argv, rest } = splitPassThrough(fullArgv);
  const yargs = require('yargs/yargs') as typeof import('yargs/yargs');
  let result: Parsed | null = null;
  let failure: string | undefined;
  const y = yargs(argv)
    .scriptName('tsrun')
    .usage('tsrun: an OCI container runtime\n\nUsage: tsrun [global options] <command> [options]')
    .parserConfiguration({ 'camel-case-expansion': false, 'halt-at-non-option': false })
    .version(false)
    .help('help')
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'a command is required')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      failure = msg || (err && err.message) || 'invalid arguments';
    });
  for (const [name, def] of Object.entries(globalFlags)) y.option(name, toOption(def));
  y.group(Object.keys(globalFlags), 'Global options:');
  for (const c of commands) {
    y.command(
      [usageOf(c), ...(c.aliases ?? [])],
      c.describe,
      (b) => {
        for (const p of c.positionals) b.positional(p.name, { type: 'string', describe: p.describe });
        for (const [name, def] of Object.entries(c.flags)) b.option(name, toOption(def));
        return b;
      },
      (args) => {
        const positionals: Record<string, string | undefined> = {};
        for (const p of c.positionals) positionals[p.name] = args[p.name] === undefined ? undefined : String(args[p.name]);
        result = { command: c, globals: pick(args, globalFlags), flags: pick(args, c.flags), positionals, rest };
      },
    );
  }
  y.parseSync();
  if (failure !== undefined) throw new TsrunError(`${failure}\nRun 'tsrun --help' for usage.`);
  return result;
}
