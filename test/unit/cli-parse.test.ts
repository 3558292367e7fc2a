import { describe, expect, it } from 'vitest';
import { fastParse } from '../../src/cli/fastparse';
import { yargsParse } from '../../src/cli/yargs';

describe('fast parser', () => {
  it('parses containerd-style calls with global flags first', () => {
    const p = fastParse(['--root', '/r', '--log', '/l.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/p', 'c1']);
    expect(p).not.toBeNull();
    expect(p!.command.name).toBe('create');
    expect(p!.globals).toMatchObject({ root: '/r', log: '/l.json', 'log-format': 'json' });
    expect(p!.flags).toMatchObject({ bundle: '/b', 'pid-file': '/p', 'preserve-fds': 0 });
    expect(p!.positionals['container-id']).toBe('c1');
  });

  it('accepts --flag=value, single-dash long flags and short aliases', () => {
    const p = fastParse(['--log-format=json', 'create', '-bundle=/b', '-b', '/c', 'x']);
    expect(p!.globals['log-format']).toBe('json');
    expect(p!.flags.bundle).toBe('/c');
    expect(fastParse(['delete', '-f', 'x'])!.flags.force).toBe(true);
    expect(fastParse(['delete', '--force=false', 'x'])!.flags.force).toBe(false);
  });

  it('gives defaults', () => {
    const p = fastParse(['state', 'x'])!;
    // no --root: main.ts picks /run/tsrun or $XDG_RUNTIME_DIR/tsrun (runtime/rootless.ts)
    expect(p.globals.root).toBeUndefined();
    expect(p.globals['log-format']).toBe('text');
  });

  it('reads kill signals, including negative-looking numbers as arguments', () => {
    const p = fastParse(['kill', '--all', 'x', '9'])!;
    expect(p.flags.all).toBe(true);
    expect(p.positionals).toEqual({ 'container-id': 'x', signal: '9' });
  });

  it('stops reading flags at the id for exec and ps: the rest is the command', () => {
    const p = fastParse(['exec', '-t', '-e', 'A=1', '--env', 'B=2', 'ctr', 'sh', '-c', 'echo -n hi', '--cap'])!;
    expect(p.flags.tty).toBe(true);
    expect(p.flags.env).toEqual(['A=1', 'B=2']);
    expect(p.positionals['container-id']).toBe('ctr');
    expect(p.rest).toEqual(['sh', '-c', 'echo -n hi', '--cap']);
    expect(fastParse(['ps', '--format', 'json', 'ctr'])!.rest).toEqual([]);
    expect(fastParse(['ps', 'ctr', '-ef'])!.rest).toEqual(['-ef']);
  });

  it('declines what yargs must handle: help, unknown flags, missing ids, bad choices', () => {
    expect(fastParse(['--help'])).toBeNull();
    expect(fastParse(['create', '--no-such-flag', 'x'])).toBeNull();
    expect(fastParse(['start'])).toBeNull();
    expect(fastParse(['state', 'a', 'b'])).toBeNull();
    expect(fastParse(['--log-format', 'xml', 'state', 'a'])).toBeNull();
    expect(fastParse(['nonsense'])).toBeNull();
  });
});

describe('yargs parser', () => {
  it('parses the same calls to the same result', () => {
    const argv = ['--root', '/r', 'create', '--bundle', '/b', 'c1'];
    const f = fastParse(argv)!;
    const y = yargsParse(argv)!;
    expect(y.command.name).toBe('create');
    expect(y.flags.bundle).toBe(f.flags.bundle);
    expect(y.globals.root).toBe('/r');
    expect(y.positionals['container-id']).toBe('c1');
  });

  it('gives exec the command after the id, flags and all', () => {
    const y = yargsParse(['exec', '-t', 'ctr', 'sh', '-c', 'echo -n hi'])!;
    expect(y.flags.tty).toBe(true);
    expect(y.positionals['container-id']).toBe('ctr');
    expect(y.rest).toEqual(['sh', '-c', 'echo -n hi']);
  });

  it('reports unknown flags and missing arguments as errors', () => {
    expect(() => yargsParse(['create', '--no-such-flag', 'x'])).toThrow(/Unknown argument/i);
    expect(() => yargsParse(['start'])).toThrow(/container-id/);
    expect(() => yargsParse(['nonsense'])).toThrow();
  });
});
