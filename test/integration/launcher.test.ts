// build/tsrun, the libc-free launcher (native/launcher.c): it must start the
// tsrun-bun beside its real file with the caller's arguments and environment,
// adding only BUN_JSC_useJIT=0 when the caller has not chosen, and fail
// clearly when the runtime is missing. A fake tsrun-bun reports what it got.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, precondition } from '../helpers/harness';

const LAUNCHER = path.join(REPO, 'build/tsrun');
const isBunBuild = precondition(fs.existsSync(path.join(REPO, 'build/tsrun-bun')), 'build/tsrun-bun is missing (make build)');

describe.skipIf(!isBunBuild)('the launcher', () => {
  let dir: string;
  let launcher: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-launcher-'));
    launcher = path.join(dir, 'tsrun');
    fs.copyFileSync(LAUNCHER, launcher);
    fs.chmodSync(launcher, 0o755);
    // prints its arguments one per line, then its environment (NUL-separated, as /proc has it)
    fs.writeFileSync(
      path.join(dir, 'tsrun-bun'),
      '#!/bin/sh\nfor a in "$@"; do printf "arg:%s\\n" "$a"; done\nprintf "env:"; cat /proc/$$/environ\n',
      { mode: 0o755 },
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[], env: Record<string, string>, file = launcher) => {
    const r = spawnSync(file, args, { env, encoding: 'utf8' });
    const [argPart, envPart = ''] = r.stdout.split('env:');
    return {
      code: r.status,
      stderr: r.stderr,
      args: argPart.split('\n').filter((l) => l.startsWith('arg:')).map((l) => l.slice(4)),
      env: envPart.split('\0').filter(Boolean),
    };
  };

  it('passes every argument through, as it got them', () => {
    const r = run(['--root', '/x y', 'state', '', 'é'], { PATH: '/usr/bin:/bin' });
    expect(r.code).toBe(0);
    expect(r.args).toEqual(['--root', '/x y', 'state', '', 'é']);
  });

  it('adds BUN_JSC_useJIT=0 and keeps the rest of the environment', () => {
    const r = run([], { PATH: '/usr/bin:/bin', FOO: 'a=b', EMPTY: '' });
    expect(r.env).toContain('BUN_JSC_useJIT=0');
    expect(r.env).toContain('FOO=a=b');
    expect(r.env).toContain('EMPTY=');
    expect(r.env.filter((e) => e.startsWith('BUN_JSC_useJIT='))).toHaveLength(1);
  });

  it('leaves a BUN_JSC_useJIT the caller set', () => {
    const r = run([], { PATH: '/usr/bin:/bin', BUN_JSC_useJIT: '1' });
    expect(r.env.filter((e) => e.startsWith('BUN_JSC_useJIT='))).toEqual(['BUN_JSC_useJIT=1']);
  });

  it('finds the runtime beside its real file when started through a symlink elsewhere', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-launcher-link-'));
    try {
      fs.symlinkSync(launcher, path.join(other, 'tsrun'));
      const r = run(['x'], { PATH: '/usr/bin:/bin' }, path.join(other, 'tsrun'));
      expect(r.code).toBe(0);
      expect(r.args).toEqual(['x']);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('says which runtime it could not start, and exits 1', () => {
    const lone = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-launcher-lone-'));
    try {
      fs.copyFileSync(launcher, path.join(lone, 'tsrun'));
      fs.chmodSync(path.join(lone, 'tsrun'), 0o755);
      const r = spawnSync(path.join(lone, 'tsrun'), ['--version'], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`tsrun: cannot run ${fs.realpathSync(lone)}/tsrun-bun: no such file or directory\n`);
    } finally {
      fs.rmSync(lone, { recursive: true, force: true });
    }
  });

  it('names by number an error it has no text for', () => {
    const busy = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-launcher-busy-'));
    const runtime = path.join(busy, 'tsrun-bun');
    fs.copyFileSync(launcher, path.join(busy, 'tsrun'));
    fs.chmodSync(path.join(busy, 'tsrun'), 0o755);
    fs.writeFileSync(runtime, '#!/bin/sh\n', { mode: 0o755 });
    const fd = fs.openSync(runtime, 'r+'); // open for writing: execve fails with ETXTBSY (26)
    try {
      const r = spawnSync(path.join(busy, 'tsrun'), [], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`tsrun: cannot run ${fs.realpathSync(busy)}/tsrun-bun: errno 26\n`);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(busy, { recursive: true, force: true });
    }
  });

  it('is static and links no libc: its own start-up is a few system calls', () => {
    const elf = fs.readFileSync(LAUNCHER);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.includes('ld-linux')).toBe(false); // no program interpreter
    expect(elf.includes('GLIBC')).toBe(false);
    expect(elf.length).toBeLessThan(64 * 1024);
  });

  it('the real one starts the real runtime', () => {
    const r = spawnSync(LAUNCHER, ['--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^tsrun version /);
  });
});
