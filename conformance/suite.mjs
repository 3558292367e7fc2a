// The conformance runner: RUNTIME=/path/to/runtime conformance/run [options]
// Prints TAP version 13, one line per check, and ends with "N passed, M failed".
// With --jobs N (default 2) the checks run in N worker processes; the TAP
// stays in check order.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CHECKS, Ctx, Env, Failure, Skip } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);

const USAGE = `usage: RUNTIME=/path/to/runtime conformance/run [options]
  --allow-fail            exit 0 even when checks fail (to run another runtime side by side)
  --known-failures FILE   lines "<check name><TAB><reason>": reported as TODO, not counted as failures
  --filter REGEX          run only the checks whose name matches
  --jobs N                run N checks at a time (default 2; every check is independent)
  --list                  list the checks and exit
  --verbose               log every runtime call on stderr
  --keep                  keep the work directory
environment: RUNTIME (required), CONFORMANCE_TMP (where the work directory goes, default the system temp)`;

function parseArgs(argv) {
  const o = { allowFail: false, known: null, filter: null, list: false, verbose: false, keep: false, jobs: 2, worker: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--allow-fail') o.allowFail = true;
    else if (a === '--known-failures') o.known = argv[++i];
    else if (a === '--filter') o.filter = argv[++i];
    else if (a === '--jobs') o.jobs = Math.max(1, Math.floor(Number(argv[++i])) || 1);
    else if (a === '--list') o.list = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--worker') o.worker = argv[++i]; // internal: "K/N", the work directory in CONFORMANCE_WORKDIR
    else if (a === '-h' || a === '--help') { console.log(USAGE); process.exit(0); }
    else { console.error(`unknown argument ${a}\n${USAGE}`); process.exit(2); }
  }
  return o;
}

function readKnown(file) {
  const known = new Map();
  if (!file) return known;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [name, reason = 'known failure'] = line.split('\t');
    known.set(name.trim(), reason.trim());
  }
  return known;
}

/** A diagnostic as a TAP 13 YAML block; values are JSON (a subset of YAML). */
function yaml(obj) {
  const lines = ['  ---'];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    lines.push(`  ${k}: ${JSON.stringify(v)}`);
  }
  lines.push('  ...');
  return lines.join('\n');
}

let interrupted = false;

/** Runs check number n (1-based); returns { n, result: pass|fail|skip, message, diag, ms }. */
async function runCheck(env, c, n) {
  if (interrupted) return { n, result: 'skip', message: 'interrupted', ms: 0 };
  const ctx = new Ctx(env, n);
  let result = 'pass', error = null;
  const start = Date.now();
  try {
    await c.fn(ctx);
  } catch (e) {
    result = e instanceof Skip ? 'skip' : 'fail';
    error = e;
  }
  let cleanupError;
  try { ctx.cleanup(); } catch (e) { cleanupError = e.message; }
  const ms = Date.now() - start;
  if (result === 'skip') return { n, result, message: error.message, ms };
  if (result === 'pass') return { n, result, ms, cleanupError };
  const diag = error instanceof Failure
    ? { message: error.message, ...error.details }
    : { message: `error in the check: ${error && error.message}`, stack: String(error && error.stack).split('\n').slice(1, 4).join(' | ') };
  return { n, result, diag: { ...diag, ms }, ms, cleanupError };
}

async function loadChecks(filter) {
  for (const f of fs.readdirSync(path.join(HERE, 'checks')).filter((f) => f.endsWith('.mjs')).sort()) {
    await import(path.join(HERE, 'checks', f));
  }
  const re = filter ? new RegExp(filter) : null;
  return CHECKS.filter((c) => !re || re.test(c.name));
}

function resolveRuntime() {
  let runtime = process.env.RUNTIME;
  if (!runtime) return null;
  if (runtime.includes('/')) runtime = path.resolve(runtime);
  return runtime;
}

/** Worker: runs its share of the checks, one JSON line per result on stdout. */
async function worker(opts) {
  const [k, n] = opts.worker.split('/').map(Number);
  const checks = await loadChecks(opts.filter);
  const env = new Env({ runtime: resolveRuntime(), workdir: process.env.CONFORMANCE_WORKDIR, verbose: opts.verbose, shard: k });
  for (const [i, c] of checks.entries()) {
    if (i % n !== k) continue;
    const r = await runCheck(env, c, i + 1);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  return 0;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  process.on('SIGINT', () => { interrupted = true; });
  process.on('SIGTERM', () => { interrupted = true; });
  if (opts.worker) return worker(opts);

  const checks = await loadChecks(opts.filter);
  if (opts.list) {
    for (const c of checks) console.log(`${c.name} [${c.level}]`);
    console.log(`${checks.length} checks`);
    return 0;
  }
  const runtime = resolveRuntime();
  if (!runtime) { console.error(`RUNTIME is not set\n${USAGE}`); return 2; }
  const known = readKnown(opts.known);
  for (const name of known.keys()) {
    if (!CHECKS.some((c) => c.name === name)) console.error(`warning: known failure "${name}" names no check`);
  }

  const base = process.env.CONFORMANCE_TMP || os.tmpdir();
  const workdir = fs.mkdtempSync(path.join(base, 'conformance-'));
  fs.chmodSync(workdir, 0o755);
  const env = new Env({ runtime, workdir, rootfsScript: path.join(HERE, '..', 'scripts', 'busybox-rootfs.sh'), verbose: opts.verbose });

  console.log('TAP version 13');
  console.log(`# runtime: ${runtime}`);
  console.log(`1..${checks.length}`);
  const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
  const t0 = Date.now();

  const print = (r) => {
    const c = checks[r.n - 1];
    const knownReason = known.get(c.name);
    const level = c.level === 'MUST' ? '' : ` [${c.level}]`;
    if (r.cleanupError) console.log(`# cleanup of check ${r.n} failed: ${r.cleanupError}`);
    if (r.result === 'skip') {
      counts.skip++;
      console.log(`ok ${r.n} - ${c.name}${level} # SKIP ${r.message}`);
    } else if (r.result === 'pass') {
      if (knownReason) {
        counts.todo++;
        console.log(`ok ${r.n} - ${c.name}${level} # TODO known failure (${knownReason}); it passes now: remove it from the list`);
      } else {
        counts.pass++;
        console.log(`ok ${r.n} - ${c.name}${level}`);
      }
    } else {
      if (knownReason) {
        counts.todo++;
        console.log(`not ok ${r.n} - ${c.name}${level} # TODO known failure: ${knownReason}`);
      } else {
        counts.fail++;
        console.log(`not ok ${r.n} - ${c.name}${level}`);
      }
      console.log(yaml(r.diag));
    }
  };

  const jobs = Math.min(opts.jobs, checks.length || 1);
  if (jobs === 1) {
    for (const [i, c] of checks.entries()) print(await runCheck(env, c, i + 1));
  } else {
    // workers report in any order; print in check order
    const pending = new Map();
    let next = 1;
    const flush = () => { while (pending.has(next)) { print(pending.get(next)); pending.delete(next); next++; } };
    const args = ['--filter', opts.filter ?? '', ...(opts.verbose ? ['--verbose'] : [])];
    await Promise.all(Array.from({ length: jobs }, (_, k) => new Promise((resolve) => {
      const w = spawn(process.execPath, [SELF, '--worker', `${k}/${jobs}`, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, RUNTIME: runtime, CONFORMANCE_WORKDIR: workdir },
      });
      const seen = new Set();
      readline.createInterface({ input: w.stdout }).on('line', (line) => {
        let r;
        try { r = JSON.parse(line); } catch { console.log(`# worker ${k}: ${line}`); return; }
        seen.add(r.n);
        pending.set(r.n, r);
        flush();
      });
      w.on('close', (code, signal) => {
        // a worker that died leaves its checks unanswered: they fail
        for (let i = k; i < checks.length; i += jobs) {
          if (!seen.has(i + 1)) pending.set(i + 1, { n: i + 1, result: 'fail', diag: { message: `the worker running this check died (${signal ?? code})` } });
        }
        flush();
        resolve();
      });
    })));
    flush();
  }

  if (!opts.keep) fs.rmSync(workdir, { recursive: true, force: true, maxRetries: 3 });
  else console.log(`# work directory kept: ${workdir}`);
  console.log(`# ${checks.length} checks in ${((Date.now() - t0) / 1000).toFixed(1)} s with ${jobs} jobs; `
    + `${counts.todo} known failures (TODO), ${counts.skip} skipped`);
  console.log(`${counts.pass} passed, ${counts.fail} failed`);
  if (interrupted) return 130;
  return counts.fail > 0 && !opts.allowFail ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(2); });
