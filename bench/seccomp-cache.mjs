#!/usr/bin/env node
// What the seccomp cache saves: compiling the docker-like default profile (test/fixtures/seccomp/default-profile.json)
// cold (koffi + libseccomp) against a cache hit, each in fresh Node processes as `tsrun create` would run it,
// and in one warm process.
//
//   node bench/seccomp-cache.mjs [--runs N] [--profile FILE]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const RUNS = Number(opt('--runs', 20));
const PROFILE = path.resolve(opt('--profile', path.join(REPO, 'test/fixtures/seccomp/default-profile.json')));

// Inside node_modules/.cache, so that the bundle's require('koffi') resolves.
fs.mkdirSync(path.join(REPO, 'node_modules/.cache'), { recursive: true });
const dir = fs.mkdtempSync(path.join(REPO, 'node_modules/.cache/tsrun-seccomp-bench-'));
const bundle = path.join(dir, 'compile.cjs');
await build({
  entryPoints: [path.join(REPO, 'src/seccomp/compile.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: bundle,
  external: ['koffi'],
  logLevel: 'warning',
});
const cacheDir = path.join(dir, 'cache');

// One fresh process: require the compiler, compile once, report the times.
const child = (cache) => `
  const fs = require('fs');
  const profile = JSON.parse(fs.readFileSync(${JSON.stringify(PROFILE)}, 'utf8'));
  const t0 = performance.now();
  const { compileSeccomp } = require(${JSON.stringify(bundle)});
  const t1 = performance.now();
  const r = compileSeccomp(profile, { cacheDir: ${cache ? JSON.stringify(cacheDir) : 'false'} });
  const t2 = performance.now();
  console.log(JSON.stringify({ cached: r.cached, require: t1 - t0, compile: t2 - t1, total: t2 - t0, insns: r.bpf.length / 8 }));`;

// Script files, not node -e: -e preloads modules that a real tsrun process does not.
const scripts = [false, true].map((cache) => {
  const f = path.join(dir, `child-${cache}.cjs`);
  fs.writeFileSync(f, child(cache));
  return f;
});
function fresh(cache) {
  const p = spawnSync(process.execPath, [scripts[cache ? 1 : 0]], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(p.stderr);
  return JSON.parse(p.stdout);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs, k) => `${median(xs.map((x) => x[k])).toFixed(2)}`.padStart(7);

fresh(true); // fill the cache
const cold = [];
const hit = [];
for (let i = 0; i < RUNS; i++) {
  cold.push(fresh(false));
  const h = fresh(true);
  if (!h.cached) throw new Error('expected a cache hit');
  hit.push(h);
}

// One warm process: koffi and libseccomp already loaded.
const { compileSeccomp } = (await import(bundle)).default;
const profile = JSON.parse(fs.readFileSync(PROFILE, 'utf8'));
compileSeccomp(profile, { cacheDir: false });
const warm = { cold: [], hit: [] };
for (let i = 0; i < RUNS; i++) {
  let t = performance.now();
  compileSeccomp(profile, { cacheDir: false });
  warm.cold.push({ ms: performance.now() - t });
  t = performance.now();
  compileSeccomp(profile, { cacheDir });
  warm.hit.push({ ms: performance.now() - t });
}

const names = profile.syscalls.reduce((n, r) => n + r.names.length, 0);
console.log(`profile: ${path.relative(REPO, PROFILE)} (${profile.syscalls.length} rules, ${names} names, ${cold[0].insns} BPF instructions)`);
console.log(`node ${process.version}, ${os.release()}, ${RUNS} runs, medians in ms`);
console.log('');
console.log('fresh process             require  compile    total');
console.log(`  cold (koffi+libseccomp) ${fmt(cold, 'require')}  ${fmt(cold, 'compile')}  ${fmt(cold, 'total')}`);
console.log(`  cache hit               ${fmt(hit, 'require')}  ${fmt(hit, 'compile')}  ${fmt(hit, 'total')}`);
console.log('warm process (libseccomp loaded)        compile');
console.log(`  cold                                  ${fmt(warm.cold, 'ms')}`);
console.log(`  cache hit                             ${fmt(warm.hit, 'ms')}`);
fs.rmSync(dir, { recursive: true, force: true });
