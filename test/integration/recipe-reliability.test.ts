// Replayed creates and runs (native/replay.c, replay-run.c) under the reliability rules: a replay killed with
// SIGKILL at any moment leaves nothing that `delete --force` does not remove, and replays racing for one id make
// exactly one container. The real launcher and Bun, with the test's own recipe directory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, REPO, leftovers, precondition, rootAvailable } from '../helpers/harness';

const enabled = rootAvailable() && precondition(fs.existsSync(path.join(REPO, 'build/tsrun-bun')), 'build/tsrun-bun is missing (make build)');
const TSRUN = path.join(REPO, 'bin/tsrun');

describe.skipIf(!enabled)('replays under SIGKILL and races', () => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    h = new Harness('recipe-rel');
    env = { ...process.env, TSRUN_RECIPE_DIR: path.join(h.dir, 'recipes') };
  });
  afterAll(() => h?.cleanup());

  const tsrun = (args: string[]) => h.tsrun(args, { env });
  /** Bun's two creates (or runs) of the bundle's config: the mark, then the recipe. */
  const seed = (bundle: string, cmd: 'create' | 'run') => {
    const count = () => (fs.existsSync(env.TSRUN_RECIPE_DIR!) ? fs.readdirSync(env.TSRUN_RECIPE_DIR!).filter((f) => f.endsWith(`-${cmd}`)).length : 0);
    const before = count();
    for (const n of [1, 2]) {
      const id = h.id(`seed-${cmd}-${n}`);
      const r = cmd === 'run' ? tsrun(['run', '--bundle', bundle, id]) : tsrun(['create', '--bundle', bundle, id]);
      expect(r.code).toBe(0);
      if (cmd === 'create') expect(tsrun(['delete', '--force', id]).code).toBe(0);
    }
    expect(count()).toBe(before + 1);
  };

  /** Starts the command, SIGKILLs it after `ms`; resolves to what the process was then (comm) and its end. */
  function killedAfter(args: string[], ms: number): Promise<{ comm: string; signal: string | null }> {
    return new Promise((resolve) => {
      const out = fs.openSync(path.join(h.dir, 'killed-out'), 'w');
      const p = spawn(TSRUN, ['--root', h.root, ...args], { env, stdio: ['ignore', out, out] });
      fs.closeSync(out);
      let comm = '';
      const t = setTimeout(() => {
        try {
          comm = fs.readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim();
        } catch {
          comm = 'gone';
        }
        p.kill('SIGKILL');
      }, ms);
      p.on('exit', (_code, signal) => {
        clearTimeout(t);
        resolve({ comm, signal });
      });
    });
  }

  it('a replayed create or run killed at any moment leaves nothing after delete --force', async () => {
    const sleeping = h.bundle((c) => (c.process.args = ['sleep', '300']), 'sleep');
    seed(sleeping, 'create');
    const running = h.bundle((c) => (c.process.args = ['sh', '-c', 'sleep 0.2']), 'short');
    seed(running, 'run');
    let inReplay = 0;
    for (let i = 0; i < 24; i++) {
      const id = h.id(`killed-${i}`);
      const args = i % 2 === 0 ? ['create', '--bundle', sleeping, id] : ['run', '--bundle', running, id];
      const k = await killedAfter(args, (i >> 1) % 12);
      if (k.comm === 'tsrun-init') inReplay++;
      const d = tsrun(['delete', '--force', id]);
      expect([0, 1], d.stderr).toContain(d.code);
      if (d.code === 1) expect(d.stderr).toMatch(/does not exist/);
      expect(leftovers(h.root, id), `${args[0]} killed after ${(i >> 1) % 12} ms (${k.comm})`).toEqual([]);
      expect(fs.existsSync(path.join(h.root, `.lock-${id}`))).toBe(false);
    }
    console.log(`recipe reliability: 24 kills, ${inReplay} of them in tsrun-init --replay`);
    // most kills land in the replay itself (tsrun-init --replay), not before or after it
    expect(inReplay).toBeGreaterThan(6);
    // and the recipe still serves: a create after all that is replayed and lives
    const after = h.id('after');
    expect(tsrun(['create', '--bundle', sleeping, after]).code).toBe(0);
    expect(tsrun(['start', after]).code).toBe(0);
    expect(JSON.parse(tsrun(['state', after]).stdout).status).toBe('running');
    expect(tsrun(['delete', '--force', after]).code).toBe(0);
    expect(leftovers(h.root, after)).toEqual([]);
  });

  it('replays racing for one id make exactly one container', async () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '301']), 'race');
    seed(bundle, 'create');
    for (let round = 0; round < 3; round++) {
      const id = h.id(`race-${round}`);
      const ends = await Promise.all(
        Array.from({ length: 6 }, (_, n) =>
          new Promise<{ code: number | null; err: string }>((resolve) => {
            const errFile = path.join(h.dir, `race-${round}-${n}.err`);
            const fd = fs.openSync(errFile, 'w');
            const p = spawn(TSRUN, ['--root', h.root, 'create', '--bundle', bundle, id], { env, stdio: ['ignore', fd, fd] });
            fs.closeSync(fd);
            p.on('exit', (code) => resolve({ code, err: fs.readFileSync(errFile, 'utf8') }));
          }),
        ),
      );
      expect(ends.filter((e) => e.code === 0)).toHaveLength(1);
      for (const e of ends.filter((x) => x.code !== 0)) {
        expect(e.code).toBe(1);
        expect(e.err).toMatch(/already exists/);
      }
      expect(JSON.parse(tsrun(['state', id]).stdout).status).toBe('created');
      expect(tsrun(['delete', '--force', id]).code).toBe(0);
      expect(leftovers(h.root, id)).toEqual([]);
    }
  });
});
