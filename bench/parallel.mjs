// Parallel load, as an engine starting many containers at once puts it: W workers each create, start and
// delete --force containers of /bin/true until TOTAL are done, for tsrun, runc and crun in turn, at 1, 2, 4 and
// 8 workers; then `list` and `state` with 500 running containers present (hyperfine). Every command is a fresh
// process, as engines run them. Any failed command or anything left (state, cgroup) is an error.
//
//   node bench/parallel.mjs WORK TRUE_BUNDLE SLEEP_BUNDLE OUT.json tsrun=BIN runc=BIN crun=BIN [tsrun+bun=BIN]
// tsrun's first two creates in a root are Bun's (they mark the config and leave its recipe), the rest replay it;
// tsrun+bun is tsrun with TSRUN_RECIPES=0, Bun's create every time.
// env: PAR_TOTAL (400), PAR_SMALL (containers at 1, 2 and 4 workers, 100), PAR_PRESENT (500), BENCH_RUNS (20)
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const [work, trueBundle, sleepBundle, outFile, ...bins] = process.argv.slice(2);
const runtimes = Object.fromEntries(bins.map((b) => b.split('=')));
const TOTAL = Number(process.env.PAR_TOTAL ?? 400);
const SMALL = Number(process.env.PAR_SMALL ?? 100);
const PRESENT = Number(process.env.PAR_PRESENT ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);

/**
 * Runs one command; resolves with its exit code, stderr and wall time (ms) when it exits: a create's container
 * keeps the stderr it was given, so the pipe is closed on our side then rather than waited for.
 */
function run(argv, env = process.env) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const ms = performance.now() - t0;
      setImmediate(() => {
        p.stderr.destroy();
        resolve({ code, err, ms });
      });
    });
  });
}

/** Runs job(i) for i in [0, n) on `workers` concurrent loops. */
async function pool(n, workers, job) {
  let next = 0;
  const loop = async () => {
    while (next < n) await job(next++);
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** What a runtime left of containers whose ids start with prefix: state entries and cgroup directories. */
function leftovers(root, prefix) {
  const left = fs.existsSync(root) ? fs.readdirSync(root).filter((e) => e.includes(prefix)) : [];
  for (const top of fs.readdirSync('/sys/fs/cgroup')) {
    const base = path.join('/sys/fs/cgroup', top);
    const scan = (dir, depth) => {
      let entries = [];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name.includes(prefix)) left.push(path.join(dir, e.name));
        else if (depth < 2) scan(path.join(dir, e.name), depth + 1);
      }
    };
    scan(base, 0);
  }
  return left;
}

/** A runtime named NAME+bun is tsrun with TSRUN_RECIPES=0: Bun's create every time, no recipe replayed. */
const envOf = (rt) => (rt.endsWith('+bun') ? { ...process.env, TSRUN_RECIPES: '0' } : process.env);

async function lifecycle(rt, bin, workers, n) {
  const root = path.join(work, `par-root-${rt}`);
  const prefix = `par-${rt.replace('+', '-')}-w${workers}-`;
  const env = envOf(rt);
  const creates = [];
  const errors = [];
  const t0 = performance.now();
  await pool(n, workers, async (i) => {
    const id = `${prefix}${i}`;
    const c = await run([bin, '--root', root, 'create', '--bundle', trueBundle, id], env);
    creates.push(c.ms);
    if (c.code !== 0) errors.push(`create ${id}: ${c.err.trim()}`);
    else {
      const s = await run([bin, '--root', root, 'start', id], env);
      if (s.code !== 0) errors.push(`start ${id}: ${s.err.trim()}`);
    }
    const d = await run([bin, '--root', root, 'delete', '--force', id], env);
    if (d.code !== 0) errors.push(`delete ${id}: ${d.err.trim()}`);
  });
  const wallMs = performance.now() - t0;
  const left = leftovers(root, prefix);
  return {
    runtime: rt, workers, containers: n, wallMs,
    perSecond: n / (wallMs / 1000),
    createMeanMs: mean(creates), createP50Ms: pct(creates, 50), createP99Ms: pct(creates, 99),
    errors: errors.slice(0, 5), errorCount: errors.length, left: left.slice(0, 5), leftCount: left.length,
  };
}

/** `list` and `state` with PRESENT running containers of this runtime (made and removed on 8 workers). */
async function withMany(rt, bin) {
  const root = path.join(work, `par-many-${rt}`);
  const prefix = `many-${rt}-`;
  const errors = [];
  await pool(PRESENT, 8, async (i) => {
    const id = `${prefix}${i}`;
    const c = await run([bin, '--root', root, 'create', '--bundle', sleepBundle, id]);
    const s = c.code === 0 ? await run([bin, '--root', root, 'start', id]) : c;
    if (s.code !== 0) errors.push(`${id}: ${s.err.trim()}`);
  });
  const json = path.join(work, `par-many-${rt}.json`);
  const hf = spawnSync('hyperfine', ['-N', '--style', 'none', '--warmup', '2', '--runs', String(RUNS), '--export-json', json,
    '-n', 'list', `${bin} --root ${root} list`, '-n', 'state', `${bin} --root ${root} state ${prefix}${PRESENT - 1}`], { encoding: 'utf8' });
  if (hf.status !== 0) errors.push(`hyperfine: ${hf.stderr}`);
  const results = hf.status === 0 ? JSON.parse(fs.readFileSync(json, 'utf8')).results : [];
  const ms = (name) => (results.find((r) => r.command === name)?.mean ?? NaN) * 1000;
  await pool(PRESENT, 8, async (i) => {
    const d = await run([bin, '--root', root, 'delete', '--force', `${prefix}${i}`]);
    if (d.code !== 0) errors.push(`delete ${prefix}${i}: ${d.err.trim()}`);
  });
  const left = leftovers(root, prefix);
  return { runtime: rt, present: PRESENT, listMs: ms('list'), stateMs: ms('state'), errors: errors.slice(0, 5), errorCount: errors.length, leftCount: left.length, left: left.slice(0, 5) };
}

const load = [];
for (const workers of [1, 2, 4, 8]) {
  for (const [rt, bin] of Object.entries(runtimes)) {
    load.push(await lifecycle(rt, bin, workers, workers === 8 ? TOTAL : SMALL));
    console.error(`bench: parallel ${rt} ${workers} workers done`);
  }
}
const many = [];
for (const [rt, bin] of Object.entries(runtimes).filter(([rt]) => !rt.endsWith('+bun'))) {
  many.push(await withMany(rt, bin));
  console.error(`bench: ${PRESENT} present, ${rt} done`);
}
fs.writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), load, many }, null, 2));
const bad = [...load, ...many].filter((r) => r.errorCount || r.leftCount);
for (const r of bad) console.error(`bench: ${r.runtime}: ${r.errorCount} failed commands, ${r.leftCount} left: ${[...r.errors, ...r.left].join('; ')}`);
process.exit(bad.length ? 1 : 0);
