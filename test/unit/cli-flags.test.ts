// Nothing on the command line is accepted and ignored: for every flag of
// every command in the command table, the handler given the flag either does
// something different (different arguments to the runtime, different output)
// or refuses it. The runtime is replaced by recorders, so this runs anywhere.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, globalFlags, type FlagDef } from '../../src/cli/table';
import type { CommandContext } from '../../src/cli/context';
import { TsrunError } from '../../src/errors';

const calls: unknown[][] = [];
const record =
  (name: string, result: unknown = undefined) =>
  (...args: unknown[]) => {
    calls.push([name, ...args]);
    return typeof result === 'function' ? (result as (...a: unknown[]) => unknown)(...args) : result;
  };
const aState = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/b', created: 'then', owner: '' };

vi.mock('../../src/cli/output', () => ({ writeOut: record('writeOut') }));
vi.mock('../../src/runtime/create', () => ({ createContainer: record('createContainer', async () => ({ channel: { detach: () => undefined } })) }));
vi.mock('../../src/runtime/run', () => ({ runContainer: record('runContainer', async () => 0) }));
vi.mock('../../src/runtime/start', () => ({ startContainer: record('startContainer', async () => undefined) }));
vi.mock('../../src/runtime/state', () => ({ containerState: record('containerState', aState), listContainers: record('listContainers', [aState]) }));
vi.mock('../../src/runtime/kill', () => ({ killContainer: record('killContainer') }));
vi.mock('../../src/runtime/delete', () => ({ deleteContainer: record('deleteContainer', async () => undefined) }));
vi.mock('../../src/runtime/exec', () => ({ execProcess: record('execProcess', async () => 0) }));
vi.mock('../../src/runtime/ps', () => ({ containerPids: record('containerPids', [1, 2]), psTable: record('psTable', 'table\n') }));
vi.mock('../../src/runtime/pause', () => ({
  pauseContainer: record('pauseContainer', async () => undefined),
  resumeContainer: record('resumeContainer', async () => undefined),
}));
vi.mock('../../src/runtime/update', async (actual) => ({
  ...(await actual<typeof import('../../src/runtime/update')>()),
  updateContainer: record('updateContainer', async () => ({})),
}));
vi.mock('../../src/runtime/events', () => ({
  parseDuration: record('parseDuration', (s: string) => s.length),
  statsEvent: record('statsEvent', '{}\n'),
  streamEvents: record('streamEvents', async () => undefined),
}));
vi.mock('../../src/runtime/checkpoint', () => ({ checkpointContainer: record('checkpointContainer', async () => undefined) }));
vi.mock('../../src/runtime/restore', () => ({ restoreContainer: record('restoreContainer', async () => undefined) }));
vi.mock('../../src/runtime/features', () => ({ features: record('features', {}) }));
vi.mock('../../src/runtime/default-spec', () => ({ defaultSpec: record('defaultSpec', {}) }));
vi.mock('../../src/spec/load', () => ({ checkBundle: record('checkBundle', []) }));
vi.mock('node:fs', async (actual) => ({ ...(await actual<typeof import('node:fs')>()), writeFileSync: record('writeFileSync') }));

const handlerFiles: Record<string, string> = { features: 'features', ls: 'list' };

async function handlerOf(name: string): Promise<(ctx: CommandContext) => unknown> {
  return (await import(`../../src/cli/${handlerFiles[name] ?? name}.ts`)).default;
}

/** A value for the flag unlike its default. */
function valueFor(name: string, def: FlagDef): unknown {
  if (def.choices) return def.choices.find((c) => c !== def.default);
  switch (def.type) {
    case 'boolean':
      return true;
    case 'number':
      return 7;
    case 'array':
      return name === 'env' ? ['A=1'] : ['v1'];
    default:
      return `v-${name}`;
  }
}

function defaults(flags: Record<string, FlagDef>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(flags).flatMap(([k, d]) => (d.default === undefined ? [] : [[k, d.default]])));
}

// restore runs only detached (its process is no child of tsrun): -d is in its base, and leaving it out is refused
const baseOf: Record<string, Record<string, unknown>> = { restore: { detach: true } };

type Outcome = { refused: string } | { calls: string };

async function runWith(name: string, flags: Record<string, unknown>): Promise<Outcome> {
  calls.length = 0;
  const ctx: CommandContext = {
    root: '/run/tsrun-test',
    rootless: false,
    globals: {},
    flags: flags as CommandContext['flags'],
    positionals: { 'container-id': 'c1', signal: 'KILL' },
    rest: name === 'exec' ? ['sh'] : [],
  };
  try {
    await (await handlerOf(name))(ctx);
  } catch (e) {
    if (e instanceof TsrunError) return { refused: e.message };
    throw e;
  }
  return { calls: JSON.stringify(calls) };
}

describe('every flag in the command table', () => {
  beforeEach(() => {
    calls.length = 0;
  });

  for (const cmd of commands) {
    for (const [flag, def] of Object.entries(cmd.flags)) {
      if (def.ignored) continue; // the test below names each one and why
      it(`${cmd.name} --${flag} reaches the runtime or is refused`, async () => {
        const start = { ...defaults(cmd.flags), ...baseOf[cmd.name] };
        const base = await runWith(cmd.name, start);
        if (!('calls' in base)) throw new Error(`${cmd.name} fails with its defaults: ${base.refused}`);
        const value = baseOf[cmd.name]?.[flag] === true ? false : valueFor(flag, def);
        const given = await runWith(cmd.name, { ...start, [flag]: value });
        if ('refused' in given) {
          expect(given.refused).toMatch(new RegExp(`--${flag}|${flag}`));
          return;
        }
        expect(given.calls, `--${flag} changed nothing the runtime or the output sees`).not.toEqual(base.calls);
      });
    }
  }

  it('ignored flags are only those that name a mechanism tsrun does not have', () => {
    const ignored = [...Object.entries(globalFlags), ...commands.flatMap((c) => Object.entries(c.flags))]
      .filter(([, d]) => d.ignored)
      .map(([n]) => n);
    // restore --no-subreaper: containerd's shim passes it; runc's subreaper serves a foreground restore only
    expect(ignored).toEqual(['no-subreaper']);
  });

  it('the recorders see a difference where there is one (the test can fail)', async () => {
    const a = await runWith('delete', {});
    const b = await runWith('delete', { force: true });
    const c = await runWith('delete', {});
    expect(a).not.toEqual(b);
    expect(a).toEqual(c);
  });
});
