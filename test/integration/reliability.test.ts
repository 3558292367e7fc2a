// Concurrency and crashes: one create wins a race for an id, parallel
// operations on one container stay consistent, and a tsrun killed at any
// point leaves a container that state describes truly and delete --force
// removes completely.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable, TSRUN } from '../helpers/harness';

const enabled = rootAvailable();

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

let seq = 0;

/** Runs tsrun without blocking; stderr goes to a file (a container may hold a pipe open). */
function tsrunAsync(root: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  const errFile = path.join(root, `..`, `async-err-${process.pid}-${++seq}`);
  const err = fs.openSync(errFile, 'w+');
  return new Promise((resolve) => {
    const child = spawn(TSRUN, ['--root', root, ...args], { stdio: ['ignore', 'ignore', err], env });
    child.on('exit', (code, signal) => {
      fs.closeSync(err);
      const stderr = fs.readFileSync(errFile, 'utf8');
      fs.rmSync(errFile, { force: true });
      resolve({ code, signal, stderr });
    });
  });
}

describe.skipIf(!enabled)('reliability', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('rel');
  });
  afterAll(() => h?.cleanup());

  it('20 parallel creates of one id: exactly one succeeds, the others fail cleanly', async () => {
    const id = h.id('race');
    const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
    const results = await Promise.all(Array.from({ length: 20 }, () => tsrunAsync(h.root, ['create', '--bundle', b, id])));
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of results.filter((x) => x.code !== 0)) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('already exists');
    }
    expect(JSON.parse(h.tsrun(['state', id]).stdout).status).toBe('created');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('parallel start, kill, state and delete on one container stay consistent', async () => {
    for (let round = 0; round < 3; round++) {
      const id = h.id('mix');
      expect(h.tsrun(['create', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '1000'])), id]).code).toBe(0);
      const ops = [
        ['start', id],
        ['start', id],
        ['state', id],
        ['kill', id, 'KILL'],
        ['state', id],
        ['delete', '--force', id],
        ['state', id],
      ];
      const results = await Promise.all(ops.map((o) => tsrunAsync(h.root, o)));
      for (const r of results) {
        expect(r.signal).toBeNull();
        expect([0, 1]).toContain(r.code);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      }
      // at most one start can succeed
      expect(results.slice(0, 2).filter((r) => r.code === 0).length).toBeLessThanOrEqual(1);
      // delete --force always wins in the end
      expect(h.tsrun(['delete', '--force', id]).code === 0 || !fs.existsSync(path.join(h.root, id))).toBe(true);
      expect(leftovers(h.root, id)).toEqual([]);
    }
  });

  const points = [
    'create:dir-made',
    'create:state-written',
    'create:cgroup-made',
    'create:pid-recorded',
    'create:hooks-ran',
    'create:ready',
  ];
  for (const point of points) {
    it(`a create killed at ${point}: state tells the truth, delete --force removes all, list shows no ghost`, () => {
      const id = h.id(point.replace(/\W/g, ''));
      const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
      const r = spawnSync(TSRUN, ['--root', h.root, 'create', '--bundle', b, id], { stdio: 'ignore', env: { ...process.env, TSRUN_FAULT: point } });
      expect(r.signal).toBe('SIGKILL');
      const st = h.tsrun(['state', id]);
      if (st.code === 0) expect(JSON.parse(st.stdout).status).toBe('stopped');
      else expect(st.stderr).toContain('does not exist');
      const listed = JSON.parse(h.tsrun(['list', '--format', 'json']).stdout) as { id: string; status: string }[];
      expect(listed.filter((s) => s.id === id && s.status !== 'stopped')).toEqual([]);
      const del = h.tsrun(['delete', '--force', id]);
      expect([0, 1]).toContain(del.code);
      expect(leftovers(h.root, id)).toEqual([]);
      expect(h.tsrun(['list', '-q']).stdout.split('\n')).not.toContain(id);
    });
  }

  for (const point of ['start:fifo-opened', 'start:released']) {
    it(`a start killed at ${point}: the container is still managed, delete --force removes all`, () => {
      const id = h.id(point.replace(/\W/g, ''));
      expect(h.tsrun(['create', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '1000'])), id]).code).toBe(0);
      const r = spawnSync(TSRUN, ['--root', h.root, 'start', id], { stdio: 'ignore', env: { ...process.env, TSRUN_FAULT: point } });
      expect(r.signal).toBe('SIGKILL');
      const status = JSON.parse(h.tsrun(['state', id]).stdout).status;
      expect(['created', 'running', 'stopped']).toContain(status);
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
      expect(leftovers(h.root, id)).toEqual([]);
    });
  }

  for (const point of ['exec:spawned', 'exec:pid']) {
    it(`an exec killed at ${point}: the container runs on, state is right, delete --force removes all`, () => {
      const id = h.id(point.replace(/\W/g, ''));
      expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '1000'])), id]).code).toBe(0);
      const r = spawnSync(TSRUN, ['--root', h.root, 'exec', id, 'sleep', '500'], { stdio: 'ignore', env: { ...process.env, TSRUN_FAULT: point } });
      expect(r.signal).toBe('SIGKILL');
      expect(JSON.parse(h.tsrun(['state', id]).stdout).status).toBe('running');
      expect(h.tsrun(['exec', id, 'true']).code).toBe(0);
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
      expect(leftovers(h.root, id)).toEqual([]);
    });
  }

  for (const point of ['delete:killed', 'delete:before-remove']) {
    it(`a delete killed at ${point}: a second delete --force finishes the job`, () => {
      const id = h.id(point.replace(/\W/g, ''));
      expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '1000'])), id]).code).toBe(0);
      const r = spawnSync(TSRUN, ['--root', h.root, 'delete', '--force', id], { stdio: 'ignore', env: { ...process.env, TSRUN_FAULT: point } });
      expect(r.signal).toBe('SIGKILL');
      const st = h.tsrun(['state', id]);
      expect(JSON.parse(st.stdout).status).toBe('stopped');
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
      expect(leftovers(h.root, id)).toEqual([]);
    });
  }

  it('run forwards the signals it gets to the container', async () => {
    const id = h.id('fwd');
    const log = path.join(h.dir, 'fwd.log');
    // the container's pid 1 traps TERM and USR1 (as pid 1 it would ignore them otherwise)
    const b = h.bundle((c) => {
      c.mounts.push({ destination: h.dir, type: 'bind', source: h.dir, options: ['rbind', 'rw'] });
      c.process.args = ['sh', '-c', `trap "echo usr1 >> ${log}" USR1; trap "echo term >> ${log}; exit 42" TERM; echo ready >> ${log}; while :; do sleep 0.1; done`];
    });
    const fg = spawn(TSRUN, ['--root', h.root, 'run', '--bundle', b, id], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => fg.on('exit', (code) => resolve(code)));
    const until = async (text: string) => {
      for (let i = 0; i < 200; i++) {
        if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(text)) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no "${text}" in ${log}`);
    };
    await until('ready');
    fg.kill('SIGUSR1');
    await until('usr1');
    fg.kill('SIGTERM');
    expect(await exited).toBe(42);
    expect(fs.readFileSync(log, 'utf8')).toBe('ready\nusr1\nterm\n');
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('a detached init whose creator is gone stays managed and reapable', () => {
    const id = h.id('orphan');
    expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '1000'])), id]).code).toBe(0);
    const pid = JSON.parse(h.tsrun(['state', id]).stdout).pid;
    // the tsrun that created it has exited: the init was handed to a subreaper (here pid 1)
    const ppid = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    expect(ppid).not.toBe(process.pid);
    expect(h.tsrun(['kill', id, 'KILL']).code).toBe(0);
    let status = '';
    for (let i = 0; i < 100 && status !== 'stopped'; i++) status = JSON.parse(h.tsrun(['state', id]).stdout).status;
    expect(status).toBe('stopped');
    expect(h.tsrun(['delete', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('a plan larger than the socket buffer reaches the init whole (1.2 MB of environment)', () => {
    const big = Array.from({ length: 20 }, (_, i) => `BIG${i}=${String.fromCharCode(97 + i).repeat(60_000)}`);
    const r = h.run(['sh', '-c', 'echo "$BIG0" | wc -c; echo "$BIG19" | cut -c1-3'], (c) => {
      c.process.env = [...(c.process.env ?? []), ...big];
    });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').map((l) => l.trim())).toEqual(['60001', 'ttt', '']);
    expect(leftovers(h.root, r.id)).toEqual([]);
  });

  it('kill 0 only asks whether the init is there', () => {
    const id = h.id('kill0');
    expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '1000'])), id]).code).toBe(0);
    expect(h.tsrun(['kill', id, '0']).code).toBe(0);
    expect(JSON.parse(h.tsrun(['state', id]).stdout).status).toBe('running');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    const gone = h.tsrun(['kill', id, '0']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('does not exist');
  });

  it('kill of a stopped container is a clear error', () => {
    const id = h.id('stopkill');
    expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['true'])), id]).code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse(h.tsrun(['state', id]).stdout).status !== 'stopped'; i++);
    const r = h.tsrun(['kill', id, 'TERM']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('container not running');
    expect(h.tsrun(['delete', id]).code).toBe(0);
  });
});
