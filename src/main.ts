// Entry point: parse the command line (fast path first), configure logging,
// and run one command. Command modules are required lazily, so a call pays
// only for what it uses.
import { writeOut } from './cli/output';
import { fastParse, type Parsed } from './cli/fastparse';
import { globalFlags } from './cli/table';
import { configureLog, log } from './log/logger';
import { TsrunError } from './errors';
import { mark } from './log/timing';
import type { CommandContext } from './cli/context';
import { VERSION, COMMIT, SPEC_VERSION } from './version';


type Handler = (ctx: CommandContext) => Promise<number> | number;

/* eslint-disable @typescript-eslint/no-require-imports */
const handlers: Record<string, () => Handler> = {
  create: () => require('./cli/create').default,
  start: () => require('./cli/start').default,
  run: () => require('./cli/run').default,
  state: () => require('./cli/state').default,
  kill: () => require('./cli/kill').default,
  delete: () => require('./cli/delete').default,
  exec: () => require('./cli/exec').default,
  ps: () => require('./cli/ps').default,
  pause: () => require('./cli/pause').default,
  resume: () => require('./cli/resume').default,
  update: () => require('./cli/update').default,
  events: () => require('./cli/events').default,
  list: () => require('./cli/list').default,
  spec: () => require('./cli/spec').default,
  features: () => require('./cli/features').default,
  check: () => require('./cli/check').default,
};
/* eslint-enable @typescript-eslint/no-require-imports */

function versionText(): string {
  return `tsrun version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\n`;
}

/** --version or -v among the global flags, before any command (as runc). */
function wantsVersion(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--version' || a === '-v' || a === '-version') return true;
    if (!a.startsWith('-')) return false; // the command
    const name = a.replace(/^--?/, '');
    if (globalFlags[name] && globalFlags[name].type !== 'boolean') i++; // skip its value
  }
  return false;
}

async function main(argv: string[]): Promise<number> {
  mark('main');
  if (wantsVersion(argv)) {
    writeOut(versionText());
    return 0;
  }
  let parsed: Parsed | null = fastParse(argv);
  if (!parsed) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    parsed = (require('./cli/yargs') as typeof import('./cli/yargs')).yargsParse(argv);
    if (!parsed) return 0; // help was printed
  }
  const g = parsed.globals;
  configureLog({
    file: g.log ? String(g.log) : undefined,
    format: g['log-format'] === 'json' ? 'json' : 'text',
    debug: Boolean(g.debug),
  });
  if (g['systemd-cgroup']) {
    throw new TsrunError('--systemd-cgroup: the systemd cgroup driver is not supported yet; use the cgroupfs driver (the default)');
  }
  if (g.rootless !== undefined && g.rootless !== 'false' && g.rootless !== 'auto') {
    throw new TsrunError(`--rootless ${String(g.rootless)}: rootless containers are not supported yet`);
  }
  const ctx: CommandContext = {
    root: String(g.root),
    globals: g,
    flags: parsed.flags,
    positionals: parsed.positionals,
    rest: parsed.rest,
  };
  mark('parsed');
  const name = parsed.command.name;
  if (name === 'create' || name === 'run' || name === 'exec') {
    // before the command's modules load: see startInitEarly
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./runtime/init-channel') as typeof import('./runtime/init-channel')).startInitEarly(Number(parsed.flags['preserve-fds'] ?? 0));
    mark('init started');
  }
  const handler = handlers[name];
  if (!handler) throw new TsrunError(`${parsed.command.name}: this command is not available in this build`);
  const run = handler();
  mark('command loaded');
  return await run(ctx);
}

main(process.argv.slice(2)).then(
  (code) => {
    mark('done');
    process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof TsrunError) {
      log.error(err.message);
      for (const d of err.details.slice(1)) log.debug(d);
      process.exit(err.exitCode);
    }
    const e = err as Error;
    log.error(`internal error: ${e && e.message ? e.message : String(err)}`);
    if (log.debugEnabled && e && e.stack) log.debug(e.stack);
    process.exit(1);
  },
);
