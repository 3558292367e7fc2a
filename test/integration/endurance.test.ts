// Load and endurance: 100 containers alive at once, then N create/start/
// delete cycles in a row (ENDURANCE_CYCLES, default 40; `make stress` runs
// 1000) with no growth in open files, mounts, cgroups or state directories,
// and stable timings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable, TSRUN } from '../helpers/harness';

const enabled = rootAvailable();
const CYCLES = Number(process.env.ENDURANCE_CYCLES ?? 40);
const ALIVE = Number(process.env.ALIVE_CONTAINERS ?? 100);

/** Cgroups of this test's containers (other tests may run on the host meanwhile). */
function countCgroupDirs(): number {
  let n = 0;
  const walk = (d: string, depth: number) => {
    if (depth > 8) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name.includes('tsrun-it-endure')) n++;
        walk(path.join(d, e.name), depth + 1);
      }
    }
  };
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    try {
      walk(path.join('/sys/fs/cgroup', h), 0);
    } catch {
      // not a directory
    }
  }
  return n;
}

function hostFacts(root: string) {
  return {
    openFiles: Number(fs.readFileSync('/proc/sys/fs/file-nr', 'utf8').split(/\s+/)[0]),
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').filter((l) => l.includes('tsrun-it-endure')).length,
    cgroups: countCgroupDirs(),
    stateDirs: fs.existsSync(root) ? fs.readdirSync(root).filter((n) => !n.startsWith('.')).length : 0,
  };
}

function tsrunAsync(h: Harness, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(TSRUN, ['--root', h.root, ...args], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });
}

describe.skipIf(!enabled)('load and endurance', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('endure');
  });
  afterAll(() => h?.cleanup());

  it(`${ALIVE} containers alive at once, then all deleted, leave nothing`, async () => {
    const before = hostFacts(h.root);
    const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
    const ids = Array.from({ length: ALIVE }, () => h.id('many'));
    let next = 0;
    const codes: (number | null)[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < ids.length) codes.push(await tsrunAsync(h, ['run', '-d', '--bundle', b, ids[next++]]));
      }),
    );
    expect(codes.every((c) => c === 0)).toBe(true);
    const listed = JSON.parse(h.tsrun(['list', '--format', 'json']).stdout) as { status: string }[];
    expect(listed.filter((s) => s.status === 'running')).toHaveLength(ALIVE);
    next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < ids.length) await tsrunAsync(h, ['delete', '--force', ids[next++]]);
      }),
    );
    for (const id of ids) expect(leftovers(h.root, id)).toEqual([]);
    const after = hostFacts(h.root);
    expect(after.stateDirs).toBe(before.stateDirs);
    expect(after.cgroups).toBe(before.cgroups);
    expect(after.mounts).toBe(before.mounts);
  }, 600_000);

  it(`${CYCLES} create/start/delete cycles: no growth, stable timings`, () => {
    const b = h.bundle((c) => (c.process.args = ['true']));
    const before = hostFacts(h.root);
    const times: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const id = h.id('cycle');
      const t0 = process.hrtime.bigint();
      expect(h.tsrun(['create', '--bundle', b, id]).code).toBe(0);
      expect(h.tsrun(['start', id]).code).toBe(0);
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const after = hostFacts(h.root);
    const tenth = Math.max(1, Math.floor(CYCLES / 10));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const first = mean(times.slice(0, tenth));
    const last = mean(times.slice(-tenth));
    console.log(
      `endurance: ${CYCLES} cycles, first ${tenth} ${first.toFixed(0)} ms/cycle, last ${tenth} ${last.toFixed(0)} ms/cycle; ` +
        `open files ${before.openFiles} -> ${after.openFiles}, mounts ${before.mounts} -> ${after.mounts}, ` +
        `cgroups ${before.cgroups} -> ${after.cgroups}, state dirs ${before.stateDirs} -> ${after.stateDirs}`,
    );
    expect(after.stateDirs).toBe(before.stateDirs);
    expect(after.cgroups).toBe(before.cgroups);
    expect(after.mounts).toBe(before.mounts);
    // other work on the host moves the system-wide count a little; a leak would grow with the cycles
    expect(after.openFiles - before.openFiles).toBeLessThan(Math.max(200, CYCLES));
    expect(last).toBeLessThan(first * 2 + 50);
  }, 3_600_000);
});
