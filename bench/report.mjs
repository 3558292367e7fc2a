// Prints the table of bench/run.sh from the hyperfine JSON it exported:
// means, and the ratios of tsrun to runc and to crun (below 1: tsrun is faster).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execSync } from 'node:child_process';

const dir = process.argv[2] ?? 'bench/results';
const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')).results;
const ms = (s) => (s * 1000).toFixed(s < 0.01 ? 2 : 1);
const sh = (c) => {
  try {
    return execSync(c, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
};

const figures = [
  ['run-true', '`run` of /bin/true'],
  ['lifecycle', 'create + start + wait + delete'],
  ['state', '`state` of a created container'],
  ['start', '`start` of a created container'],
  ['kill', '`kill` of a running container'],
  ['delete', '`delete` of a stopped container'],
  ['kill-delete', '`kill` + `delete --force` of a running container'],
  ['version', '`--version`'],
  ['create', '`create` (tsrun: a recipe replayed, the default)'],
  ['create-bun', '`create`, tsrun with TSRUN_RECIPES=0 (Bun)'],
  ['lifecycle-bun', 'create + start + wait + delete, tsrun with TSRUN_RECIPES=0'],
  ['fifty', '50 containers created, started, killed, deleted'],
];

const lines = [];
lines.push(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), kernel ${os.release()}, ${sh('date -u +%Y-%m-%d')}`);
lines.push(`Runtimes: ${sh('bin/tsrun --version')} (${sh('node_modules/.bin/bun --version') === 'unknown' ? '' : `Bun ${sh('node_modules/.bin/bun --version')}, `}Node ${process.version}), ${sh('runc --version')}, ${sh('crun --version')}`);
lines.push(`NODE_EXTRA_CA_CERTS in the environment: ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'}`);
lines.push('');
lines.push('| figure | tsrun | runc | crun | tsrun / runc | tsrun / crun | tsrun / runc, medians |');
lines.push('|---|---|---|---|---|---|---|');
for (const [file, label] of figures) {
  if (!fs.existsSync(path.join(dir, `${file}.json`))) continue;
  const r = Object.fromEntries(read(file).map((x) => [x.command, x]));
  const t = r.tsrun?.mean;
  const row = [label, ...['tsrun', 'runc', 'crun'].map((n) => (r[n] ? `${ms(r[n].mean)} ms ± ${ms(r[n].stddev)}` : '-'))];
  row.push(t && r.runc ? (t / r.runc.mean).toFixed(2) : '-', t && r.crun ? (t / r.crun.mean).toFixed(2) : '-');
  // the VM stalls now and then: one 200 ms run moves a mean of 30 by 6 ms, and a median not at all
  row.push(t && r.runc ? (r.tsrun.median / r.runc.median).toFixed(2) : '-');
  lines.push(`| ${row.join(' | ')} |`);
}
if (fs.existsSync(path.join(dir, 'floor.json'))) {
  lines.push('');
  lines.push('| the cost of a process | mean |');
  lines.push('|---|---|');
  for (const x of read('floor')) lines.push(`| ${x.command} | ${ms(x.mean)} ms ± ${ms(x.stddev)} |`);
}
if (fs.existsSync(path.join(dir, 'state-env.json'))) {
  lines.push('');
  lines.push('| `state`, by engine and environment | mean |');
  lines.push('|---|---|');
  for (const x of read('state-env')) lines.push(`| ${x.command} | ${ms(x.mean)} ms ± ${ms(x.stddev)} |`);
}
const memFile = path.join(dir, 'memory.txt');
if (fs.existsSync(memFile)) {
  lines.push('');
  lines.push('| memory (peak RSS) | `state` process | `create` process | process left while `created` |');
  lines.push('|---|---|---|---|');
  for (const l of fs.readFileSync(memFile, 'utf8').trim().split('\n')) {
    const [rt, ...kv] = l.split(' ');
    const v = Object.fromEntries(kv.map((p) => p.split('=')));
    const mb = (k) => `${(Number(v[k]) / 1024).toFixed(1)} MiB`;
    lines.push(`| ${rt} | ${mb('state_peak_kb')} | ${mb('create_peak_kb')} | ${mb('created_init_kb')} |`);
  }
}
const parFile = path.join(dir, 'parallel.json');
if (fs.existsSync(parFile)) {
  const par = JSON.parse(fs.readFileSync(parFile, 'utf8'));
  const by = (rt, w) => par.load.find((r) => r.runtime === rt && r.workers === w);
  lines.push('');
  lines.push('| parallel create + start + delete --force | workers | containers | tsrun | runc | crun | tsrun / runc | tsrun / crun |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const w of [...new Set(par.load.map((r) => r.workers))]) {
    const [t, r, c] = ['tsrun', 'runc', 'crun'].map((rt) => by(rt, w));
    const n = t?.containers ?? r?.containers;
    const cell = (x, f) => (x ? f(x) : '-');
    lines.push(`| throughput (containers/s) | ${w} | ${n} | ${[t, r, c].map((x) => cell(x, (y) => y.perSecond.toFixed(1))).join(' | ')} | ${t && r ? (t.perSecond / r.perSecond).toFixed(2) : '-'} | ${t && c ? (t.perSecond / c.perSecond).toFixed(2) : '-'} |`);
    lines.push(`| create, p99 (ms) | ${w} | ${n} | ${[t, r, c].map((x) => cell(x, (y) => `${y.createP99Ms.toFixed(1)} (mean ${y.createMeanMs.toFixed(1)})`)).join(' | ')} | ${t && r ? (t.createP99Ms / r.createP99Ms).toFixed(2) : '-'} | ${t && c ? (t.createP99Ms / c.createP99Ms).toFixed(2) : '-'} |`);
    // tsrun with TSRUN_RECIPES=0 (Bun's create every time) in the tsrun column, beside the same runc and crun series
    const tr = by('tsrun+bun', w);
    if (tr) {
      lines.push(`| throughput, tsrun with TSRUN_RECIPES=0 | ${w} | ${n} | ${[tr, r, c].map((x) => cell(x, (y) => y.perSecond.toFixed(1))).join(' | ')} | ${r ? (tr.perSecond / r.perSecond).toFixed(2) : '-'} | ${c ? (tr.perSecond / c.perSecond).toFixed(2) : '-'} |`);
      lines.push(`| create, p99 (ms), tsrun with TSRUN_RECIPES=0 | ${w} | ${n} | ${[tr, r, c].map((x) => cell(x, (y) => `${y.createP99Ms.toFixed(1)} (mean ${y.createMeanMs.toFixed(1)})`)).join(' | ')} | ${r ? (tr.createP99Ms / r.createP99Ms).toFixed(2) : '-'} | ${c ? (tr.createP99Ms / c.createP99Ms).toFixed(2) : '-'} |`);
    }
  }
  const m = Object.fromEntries(par.many.map((x) => [x.runtime, x]));
  for (const k of ['listMs', 'stateMs']) {
    const row = ['tsrun', 'runc', 'crun'].map((rt) => (m[rt] ? m[rt][k].toFixed(1) : '-'));
    const ratio = (o) => (m.tsrun && m[o] ? (m.tsrun[k] / m[o][k]).toFixed(2) : '-');
    lines.push(`| \`${k === 'listMs' ? 'list' : 'state'}\` with ${par.many[0]?.present} running (ms) | 1 | - | ${row.join(' | ')} | ${ratio('runc')} | ${ratio('crun')} |`);
  }
  const bad = [...par.load, ...par.many].filter((x) => x.errorCount || x.leftCount);
  lines.push(bad.length ? `Errors or leftovers: ${bad.map((x) => `${x.runtime} ${x.errorCount} failed, ${x.leftCount} left`).join('; ')}` : 'No command failed and nothing was left behind.');
}
console.log(lines.join('\n'));
