// End to end without the container runtime: a compiled filter loaded by a small C program (built here with
// gcc) makes blocked syscalls fail with the configured errno. Needs no root (no_new_privs is set first).
import { afterAll, describe, expect, it } from 'vitest';
import { precondition } from '../helpers/harness';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileSeccomp } from '../../src/seccomp/compile';
import { loadLibseccomp } from '../../src/seccomp/libseccomp';
import type { Seccomp } from '../../src/spec/types';

const SRC = path.join(__dirname, '../fixtures/seccomp/load-filter.c');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-seccomp-'));
const helper = path.join(tmp, 'load-filter');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function buildHelper(): boolean {
  const gcc = spawnSync('gcc', ['-O1', '-Wall', '-Werror', '-o', helper, SRC], { encoding: 'utf8' });
  return precondition(!gcc.error && gcc.status === 0, `seccomp load tests: cannot build the helper with gcc (${gcc.error?.message ?? gcc.stderr?.trim()})`);
}
const haveHelper = buildHelper();

const nr = (name: string) => {
  const n = loadLibseccomp().syscallResolveName(name);
  if (n < 0) throw new Error(`no syscall ${name} on this architecture`);
  return n;
};

/** Runs the helper with the filter; each call is [syscall name or number, ...args]. */
function runFiltered(s: Seccomp, calls: (string | number)[][], extraFlags = 0n) {
  const c = compileSeccomp(s, { cacheDir: false });
  const bpfFile = path.join(tmp, `f${Math.random().toString(16).slice(2)}.bpf`);
  fs.writeFileSync(bpfFile, c.bpf);
  const argv = calls.map(([name, ...args]) => [typeof name === 'number' ? name : nr(name), ...args].join(','));
  const r = spawnSync(helper, [bpfFile, String(c.flags | extraFlags), ...argv], { encoding: 'utf8' });
  const results = r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').map(Number) as [number, number]);
  return { status: r.status, signal: r.signal, stderr: r.stderr, results };
}

const AT_FDCWD = -100;

describe.skipIf(!haveHelper)('a compiled filter in a real process', () => {
  it('blocked syscalls fail with the configured errno; arguments select', () => {
    const dir = path.join(tmp, 'made-by-mkdirat');
    const r = runFiltered(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 },
          { names: ['getpgid'], action: 'SCMP_ACT_ERRNO', errnoRet: 43, args: [{ index: 0, value: 0xff00, valueTwo: 0x1200, op: 'SCMP_CMP_MASKED_EQ' }] },
          {
            names: ['dup3'],
            action: 'SCMP_ACT_ERRNO',
            errnoRet: 44,
            args: [{ index: 0, value: 100, op: 'SCMP_CMP_EQ' }, { index: 0, value: 101, op: 'SCMP_CMP_EQ' }],
          },
        ],
      },
      [
        ['mkdirat', AT_FDCWD, `@${dir}`, 0o700],
        ['getpgid', 0x7fff12ff], // (pid & 0xff00) == 0x1200: blocked
        ['getpgid', 0x7ffff0ff], // no such process: ESRCH from the kernel
        ['dup3', 100, 200, 0],
        ['dup3', 101, 200, 0],
        ['dup3', 102, 200, 0], // EBADF from the kernel
      ],
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.results).toEqual([
      [-1, 42],
      [-1, 43],
      [-1, 3],
      [-1, 44],
      [-1, 44],
      [-1, 9],
    ]);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('deny by default: EPERM below the largest listed syscall, ENOSYS above it; flags accepted', () => {
    const r = runFiltered(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'],
        syscalls: [{ names: ['write', 'exit_group', 'getppid'], action: 'SCMP_ACT_ALLOW' }],
      },
      [['getpid'], ['getppid'], [1000]],
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.results[0]).toEqual([-1, 1]);
    expect(r.results[1][0]).toBeGreaterThan(0);
    expect(r.results[2]).toEqual([-1, 38]);
  });

  it('the docker-like default profile', () => {
    const profile = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/seccomp/default-profile.json'), 'utf8'));
    const r = runFiltered(profile, [['getppid'], ['mount', 0, 0, 0, 0, 0], ['unshare', 0x20000], ['clone3', 0, 0], [1000], ['personality', 0xffffffff]]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.results[0][0]).toBeGreaterThan(0);
    expect(r.results.slice(1, 5)).toEqual([
      [-1, 1],
      [-1, 1],
      [-1, 38],
      [-1, 38],
    ]);
    expect(r.results[5][1]).toBe(0); // personality(0xffffffff) queries: allowed
  });

  it('a NOTIFY filter loads with NEW_LISTENER and WAIT_KILLABLE_RECV', () => {
    const r = runFiltered(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
        syscalls: [{ names: ['mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      },
      [['getppid']],
      0x8n, // SECCOMP_FILTER_FLAG_NEW_LISTENER, which the init adds
    );
    expect(r.stderr).toBe('');
    expect(r.results[0][0]).toBeGreaterThan(0);
  });

  it('SCMP_ACT_KILL_PROCESS kills with SIGSYS', () => {
    const r = runFiltered({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_KILL_PROCESS' }] }, [['getppid']]);
    expect(r.signal).toBe('SIGSYS');
  });
});
