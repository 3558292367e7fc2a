// The compiled-filter cache: a hit does not touch libseccomp (nor, in a fresh process, load koffi), a corrupt
// entry is ignored and rewritten, and the key follows the parts of the config that change the program.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { cacheKey, canonicalJson } from '../../src/seccomp/cache';
import { crc32hex } from '../../src/state/crc32';
import { compileSeccomp } from '../../src/seccomp/compile';
import { loadLibseccomp, type SeccompLib } from '../../src/seccomp/libseccomp';
import type { Seccomp } from '../../src/spec/types';

const REPO = path.resolve(__dirname, '../..');
const PROFILE = path.join(REPO, 'test/fixtures/seccomp/default-profile.json');
const made: string[] = [];
const tmpdir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-scache-'));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A loader that counts how often it is asked for the library and how many library calls are made. */
function countingLoader() {
  const counts = { loads: 0, calls: 0 };
  const real = loadLibseccomp();
  const wrapped = Object.fromEntries(
    Object.entries(real).map(([k, fn]) => [k, (...a: unknown[]) => (counts.calls++, (fn as (...x: unknown[]) => unknown)(...a))]),
  ) as unknown as SeccompLib;
  return {
    counts,
    loader: () => {
      counts.loads++;
      return wrapped;
    },
  };
}

const profile = (): Seccomp => JSON.parse(fs.readFileSync(PROFILE, 'utf8'));
const entries = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('seccomp cache', () => {
  it('a second compile of the same profile does not call libseccomp', () => {
    const dir = tmpdir();
    const { counts, loader } = countingLoader();
    const cold = compileSeccomp(profile(), { cacheDir: dir, loader });
    expect(cold.cached).toBe(false);
    expect(counts.loads).toBeGreaterThan(0);
    expect(entries(dir)).toHaveLength(1);
    expect(fs.statSync(path.join(dir, entries(dir)[0])).mode & 0o777).toBe(0o600);

    const before = { ...counts };
    const hit = compileSeccomp(profile(), { cacheDir: dir, loader });
    expect(hit.cached).toBe(true);
    expect(counts).toEqual(before);
    expect(Buffer.from(hit.bpf).equals(Buffer.from(cold.bpf))).toBe(true);
    expect(hit.flags).toBe(cold.flags);
    expect(hit.notify).toBe(cold.notify);
    expect(hit.warnings).toEqual(cold.warnings);
  });

  it('ignores a corrupt entry, recompiles and rewrites it', () => {
    const dir = tmpdir();
    const first = compileSeccomp(profile(), { cacheDir: dir });
    const file = path.join(dir, entries(dir)[0]);
    const good = fs.readFileSync(file, 'utf8');
    const flipped = JSON.parse(good);
    flipped.bpf = Buffer.from(Buffer.from(flipped.bpf, 'base64').map((b, i) => (i === 100 ? b ^ 1 : b))).toString('base64');
    const corruptions = ['', '{not json', good.slice(0, good.length / 2), JSON.stringify(flipped), JSON.stringify({ ...JSON.parse(good), flags: 'x' })];
    for (const bad of corruptions) {
      fs.writeFileSync(file, bad);
      const { counts, loader } = countingLoader();
      const r = compileSeccomp(profile(), { cacheDir: dir, loader });
      expect(r.cached).toBe(false);
      expect(counts.loads).toBeGreaterThan(0);
      expect(Buffer.from(r.bpf).equals(Buffer.from(first.bpf))).toBe(true);
      expect(fs.readFileSync(file, 'utf8')).toBe(good);
      expect(compileSeccomp(profile(), { cacheDir: dir }).cached).toBe(true);
    }
    expect(fs.readdirSync(dir)).toHaveLength(1); // no temporary files left
  });

  it('an entry whose key text differs (a hash collision) is a miss, never another profile\'s filter', () => {
    const dir = tmpdir();
    const a = compileSeccomp(profile(), { cacheDir: dir });
    const file = path.join(dir, entries(dir)[0]);
    const e = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...e, key: e.key.replace('SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW') }));
    const r = compileSeccomp(profile(), { cacheDir: dir });
    expect(r.cached).toBe(false);
    expect(Buffer.from(r.bpf).equals(Buffer.from(a.bpf))).toBe(true);
  });

  it('compiles without a cache when the directory cannot be written', () => {
    const file = path.join(tmpdir(), 'a-file');
    fs.writeFileSync(file, '');
    const r = compileSeccomp(profile(), { cacheDir: path.join(file, 'cache') });
    expect(r.cached).toBe(false);
    expect(r.bpf.length).toBeGreaterThan(0);
  });

  it('keys on what changes the program, not on key order or the listener', () => {
    const env = { lib: 'l', arch: 'x64', kernel: '6.8.0', build: 'b' };
    const s: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };
    const k = cacheKey(s, env);
    expect(k.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]+$/);
    expect(cacheKey({ syscalls: [{ action: 'SCMP_ACT_ALLOW', names: ['read'] }], defaultAction: 'SCMP_ACT_ERRNO' }, env)).toEqual(k);
    expect(cacheKey({ ...s, listenerPath: '/run/agent.sock', listenerMetadata: 'x' }, env)).toEqual(k);
    expect(cacheKey({ ...s, defaultErrnoRet: 38 }, env).name).not.toBe(k.name);
    expect(cacheKey({ ...s, flags: [] }, env).name).not.toBe(k.name);
    expect(cacheKey(s, { ...env, kernel: '4.9.0' }).name).not.toBe(k.name);
    expect(cacheKey(s, { ...env, lib: 'other' }).name).not.toBe(k.name);
    expect(crc32hex('a')).not.toBe(crc32hex('b'));
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: 3n }] })).toBe('{"a":[2,{"c":"3"}],"b":1}');
  });

  it('in a fresh process, a hit does not load koffi', async () => {
    const dir = tmpdir();
    const bundle = path.join(dir, 'compile.cjs');
    await build({ entryPoints: [path.join(REPO, 'src/seccomp/compile.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, external: ['koffi'], logLevel: 'silent' });
    const script = `
      const t0 = performance.now();
      const { compileSeccomp } = require(${JSON.stringify(bundle)});
      const r = compileSeccomp(JSON.parse(require('fs').readFileSync(${JSON.stringify(PROFILE)}, 'utf8')), { cacheDir: ${JSON.stringify(path.join(dir, 'cache'))} });
      const koffi = Object.keys(require.cache).some((k) => k.includes('/node_modules/koffi/'));
      const crypto = process.moduleLoadList.some((m) => m === 'NativeModule crypto');
      console.log(JSON.stringify({ cached: r.cached, koffi, crypto, ms: performance.now() - t0 }));`;
    // A script file, not node -e: -e preloads modules (crypto among them) that a real tsrun run does not.
    const scriptFile = path.join(dir, 'run.cjs');
    fs.writeFileSync(scriptFile, script);
    const runOnce = () => {
      const p = spawnSync(process.execPath, [scriptFile], { encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') } });
      expect(p.stderr).toBe('');
      return JSON.parse(p.stdout) as { cached: boolean; koffi: boolean; ms: number };
    };
    const cold = runOnce();
    const hit = runOnce();
    expect(cold).toMatchObject({ cached: false, koffi: true });
    expect(hit).toMatchObject({ cached: true, koffi: false, crypto: false });
    console.log(`seccomp default profile in a fresh process: cold ${cold.ms.toFixed(1)} ms, cache hit ${hit.ms.toFixed(1)} ms`);
  });
});
