// Fuzzing through the CLI: mutated configs must get a clear error or run,
// never a crash, a stack trace or a hang, and must leave nothing behind.
// FUZZ_CASES (default 120) and FUZZ_SEED (default 20261123) choose the run;
// `make stress` runs thousands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, baseConfig, leftovers, rootAvailable, TSRUN } from '../helpers/harness';
import { mutate, prng, type Json } from '../fuzz/generator';

const enabled = rootAvailable();
const CASES = Number(process.env.FUZZ_CASES ?? 120);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const PARALLEL = 4;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
}

function tsrun(h: Harness, args: string[], timeoutMs = 20_000): Promise<Run> {
  const errFile = path.join(h.dir, `fuzz-err-${Math.random().toString(36).slice(2)}`);
  const err = fs.openSync(errFile, 'w+');
  return new Promise((resolve) => {
    const child = spawn(TSRUN, ['--root', h.root, ...args], { stdio: ['ignore', 'ignore', err] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(err);
      const stderr = fs.readFileSync(errFile, 'utf8');
      fs.rmSync(errFile, { force: true });
      resolve({ code, signal, stderr, timedOut });
    });
  });
}

describe.skipIf(!enabled)(`fuzzing ${CASES} configs from seed ${SEED}`, () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('fuzz');
  });
  afterAll(() => h?.cleanup());

  it('every mutated config gets a clear error or runs, and leaves nothing', async () => {
    const base = baseConfig(h.rootfs) as Json;
    (base as { process: { args: string[] } }).process.args = ['true'];
    const failures: string[] = [];
    let created = 0;
    let refused = 0;
    const one = async (n: number) => {
      const { config, what } = mutate(base, prng(SEED + n));
      const bundle = path.join(h.dir, `fuzz-${n}`);
      fs.mkdirSync(bundle);
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
      const id = h.id(`f${n}`);
      const where = `case ${n} (seed ${SEED + n}: ${what.join('; ')})`;
      const r = await tsrun(h, ['create', '--bundle', bundle, id]);
      if (r.timedOut) failures.push(`${where}: create hung`);
      else if (r.signal) failures.push(`${where}: create died by ${r.signal}`);
      else if (r.code === 0) {
        created++;
        const d = await tsrun(h, ['delete', '--force', id]);
        if (d.code !== 0) failures.push(`${where}: delete failed: ${d.stderr.trim()}`);
      } else if (r.code === 1) {
        refused++;
        if (/\n\s+at |internal error/.test(r.stderr)) failures.push(`${where}: not a clear error: ${r.stderr.slice(0, 300)}`);
        if (r.stderr.trim() === '') failures.push(`${where}: exit 1 without a message`);
      } else failures.push(`${where}: exit ${r.code}: ${r.stderr.slice(0, 300)}`);
      const left = leftovers(h.root, id);
      if (left.length) {
        failures.push(`${where}: left ${left.join(', ')}`);
        await tsrun(h, ['delete', '--force', id]);
      }
      fs.rmSync(bundle, { recursive: true, force: true });
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < CASES) await one(next++);
      }),
    );
    console.log(`fuzz: ${CASES} cases from seed ${SEED}: ${created} created, ${refused} refused, ${failures.length} failures`);
    expect(failures).toEqual([]);
  }, 30 * 60_000);
});
