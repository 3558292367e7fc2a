// The Node transport of spawnInit (vitest runs on Node; the integration tests
// drive the Bun executable, which takes the Bun.spawn path): a socket at fd
// 3 + preserveFds both ways, the exit recorded, kill delivered.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnInit } from '../../src/runtime/init-process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-init-process-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

function collect(t: ReturnType<typeof spawnInit>['transport']): Promise<string> {
  let text = '';
  return new Promise((resolve) => t.listen((c) => (text += c.toString()), () => resolve(text)));
}

describe('spawnInit', () => {
  it('passes the socket as the last fd, argument and fd agree, and both ways work', async () => {
    const bin = script('echo-init', 'printf "fd=$1 " >&$1; read line <&$1; printf "got=$line" >&$1');
    const { proc, transport } = spawnInit(bin, 0);
    const text = collect(transport);
    transport.write(Buffer.from('ping\n'));
    expect(await text).toBe('fd=3 got=ping');
    await new Promise((r) => setTimeout(r, 50));
    expect(proc.exit).toEqual({ code: 0, signal: null });
  });

  const open = (fd: number) => {
    try {
      fs.fstatSync(fd);
      return true;
    } catch {
      return false;
    }
  };
  // the preserved fds are this process's 3 and 4, which vitest's worker may or may not hold
  it.skipIf(!open(3) || !open(4))('puts the socket after preserved fds', async () => {
    const bin = script('fd-init', 'printf "fd=$1" >&$1');
    const { transport } = spawnInit(bin, 2);
    expect(await collect(transport)).toBe('fd=5');
  });

  it('reports an init killed by a signal', async () => {
    const bin = script('sleep-init', 'exec sleep 100');
    const { proc, transport } = spawnInit(bin, 0);
    const ended = collect(transport);
    proc.kill('SIGKILL');
    await ended;
    for (let i = 0; i < 50 && !proc.exit; i++) await new Promise((r) => setTimeout(r, 10));
    expect(proc.exit).toEqual({ code: null, signal: 'SIGKILL' });
  });
});
