// Entry point: parse the command line (fast path first), configure logging,
// and run one command. Command modules load by import() when their command
// runs, so a call pays only for what it uses.
import { resolve } from 'node:path';
import { writeOut } from './cli/output';
import { fastParse, type Parsed } from './cli/fastparse';
import { globalFlags } from './cli/table';
import { configureLog, log } from './log/logger';
import { TsrunError } from './errors';
import { mark } from './log/timing';
import type { CommandContext } from './cli/context';
import { VERSION, COMMIT, SPEC_VERSION } from './version';
import { defaultRoot, parseRootlessFlag, resolveRootless } from './runtime/rootless';


type Handler = (ctx: CommandContext) => Promise<number> | number;

// import(), not require(): under Bun the first require() in a process costs
// more (figures in bench/levers.md)
const handlers: Record<string, () => Promise<{ default: Handler }>> = {
  create: () => import('./cli/create'),
  start: () => import('./cli/start'),
  run: () => import('./cli/run'),
  state: () => import('./cli/state'),
  kill: () => import('./cli/kill'),
  delete: () => import('./cli/delete'),
  exec: () => import('./cli/exec'),
  ps: () => import('./cli/ps'),
  pause: () => import('./cli/pause'),
  resume: () => import('./cli/resume'),
  update: () => import('./cli/update'),
  events: () => import('./cli/events'),
  list: () => import('./cli/list'),
  spec: () => import('./cli/spec'),
  features: () => import('./cli/features'),
  check: () => import('./cli/check'),
  checkpoint: () => import('./cli/checkpoint'),
  restore: () => import('./cli/restore'),
};

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
    parsed = (await import('./cli/yargs')).yargsParse(argv);
    if (!parsed) return 0; // help was printed
  }
  const g = parsed.globals;
  configureLog({
    file: g.log ? String(g.log) : undefined,
    format: g['log-format'] === 'json' ? 'json' : 'text',
    debug: Boolean(g.debug),
  });
  const rootlessFlag = parseRootlessFlag(g.rootless);
  let rootless: boolean | undefined;
  const ctx: CommandContext = {
    // absolute, as runc makes it: the plan's paths (the exec fifo) must not depend on the init's directory
    root: g.root !== undefined && g.root !== '' ? resolve(String(g.root)) : defaultRoot(),
    get rootless() {
      return (rootless ??= resolveRootless(rootlessFlag, Boolean(g['systemd-cgroup'])));
    },
    globals: g,
    flags: parsed.flags,
    positionals: parsed.positionals,
    rest: parsed.rest,
  };
  mark('parsed');
  const name = parsed.command.name;
  if (name === 'create' || name === 'run' || name === 'exec') {
    // before the command's modules load: see startInitEarly
    // create and run pass socket-activation fds on first (runtime/listen-fds.ts); exec does not, as in runc
    const listen = name === 'exec' ? 0 : (await import('./runtime/listen-fds')).listenFdCount();
    (await import('./runtime/init-channel')).startInitEarly(listen + Number(parsed.flags['preserve-fds'] ?? 0));
    mark('init started');
  }
  const handler = handlers[name];
  if (!handler) throw new TsrunError(`${parsed.command.name}: this command is not available in this build`);
  const run = (await handler()).default;
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
