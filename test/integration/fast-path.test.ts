// The launcher's answers to `state` and `kill` (native/launcher-fast.c), given
// without Bun from the answers file beside state.json (src/state/answers.ts).
// A copy of the launcher sits beside a fake tsrun-bun that only prints
// "bun:" and its arguments: an answer without that line came from the
// launcher. Each answer must be byte for byte what Bun's `state` prints, in
// every status; whatever it is unsure of (flags, stale answers, a stopped
// container's kill) must reach Bun.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, REPO, precondition, rootAvailable } from '../helpers/harness';
import { answersText } from '../../src/state/answers';
import { crc32hex } from '../../src/state/crc32';

const LAUNCHER = path.join(REPO, 'build/tsrun');
const enabled = rootAvailable() && precondition(fs.existsSync(path.join(REPO, 'build/tsrun-bun')), 'build/tsrun-bun is missing (make build)');

describe.skipIf(!enabled)("the launcher's answers to state and kill", () => {
  let h: Harness;
  let fake: string;
  let bundle: string;
  beforeAll(() => {
    h = new Harness('fast');
    const dir = path.join(h.dir, 'fake');
    fs.mkdirSync(dir);
    fake = path.join(dir, 'tsrun');
    fs.copyFileSync(LAUNCHER, fake);
    fs.chmodSync(fake, 0o755);
    fs.writeFileSync(path.join(dir, 'tsrun-bun'), '#!/bin/sh\necho "bun: $*"\n', { mode: 0o755 });
    bundle = h.bundle((c) => {
      c.process.args = ['sleep', '300'];
      c.annotations = { note: 'é ✓ "quoted"' }; // bytes beyond ASCII in the record and the documents
    });
  });
  afterAll(() => h?.cleanup());

  const quiet = { stdio: ['ignore', 'ignore', 'ignore'] as ('ignore')[] };
  /** The launcher copy: its stdout and status; "bun: ..." when it handed over. */
  const launcher = (args: string[], env: Record<string, string> = {}, root = ['--root', h.root]) => {
    const r = spawnSync(fake, [...root, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    return { code: r.status, out: r.stdout };
  };
  /** What Bun's `state` prints. */
  const bunState = (id: string) => {
    const r = h.tsrun(['state', id], { env: { ...process.env, TSRUN_NO_FAST_PATH: '1' } });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };
  const statusOf = (id: string) => JSON.parse(bunState(id)).status as string;

  it('answers state as Bun does in every status, and kill while the container lives', async () => {
    const id = h.id('st');
    expect(h.tsrun(['create', '--bundle', bundle, id], quiet).code).toBe(0);
    const seen: string[] = [];
    const check = () => {
      const r = launcher(['state', id]);
      expect(r.out).not.toMatch(/^bun:/);
      expect([r.code, r.out]).toEqual([0, bunState(id)]);
      seen.push(JSON.parse(r.out).status);
    };
    check(); // created
    expect(launcher(['kill', id, '0'])).toEqual({ code: 0, out: '' });
    expect(h.tsrun(['start', id]).code).toBe(0);
    check(); // running
    expect(h.tsrun(['pause', id]).code).toBe(0);
    check(); // paused
    expect(h.tsrun(['resume', id]).code).toBe(0);
    // the engines' global flags change nothing here
    const flags = ['--root', h.root, '--log', path.join(h.dir, 'log.json'), '--log-format', 'json', '--systemd-cgroup', '--rootless=false', '--criu=criu'];
    const r = launcher(['state', id], {}, flags);
    expect([r.code, r.out]).toEqual([0, bunState(id)]);
    expect(fs.existsSync(path.join(h.dir, 'log.json'))).toBe(false);
    // kill by the launcher (a pid 1 ignores TERM without a handler): the container stops
    expect(launcher(['kill', id, 'sigkill'])).toEqual({ code: 0, out: '' });
    for (let i = 0; i < 200 && statusOf(id) !== 'stopped'; i++) await new Promise((res) => setTimeout(res, 25));
    check(); // stopped
    expect(seen).toEqual(['created', 'running', 'paused', 'stopped']);
    // a stopped container's kill is an error, which Bun words
    expect(launcher(['kill', id, 'KILL']).out).toBe(`bun: --root ${h.root} kill ${id} KILL\n`);
    expect(h.tsrun(['delete', id]).code).toBe(0);
    expect(launcher(['state', id]).out).toBe(`bun: --root ${h.root} state ${id}\n`);
  });

  it('hands over to Bun whatever it is not sure of', () => {
    const id = h.id('decline');
    expect(h.tsrun(['run', '-d', '--bundle', bundle, id], quiet).code).toBe(0);
    try {
      const handed = (args: string[], env: Record<string, string> = {}, root?: string[]) => launcher(args, env, root).out.startsWith('bun: ');
      expect(handed(['state', id])).toBe(false);
      expect(handed(['--debug', 'state', id])).toBe(true);
      expect(handed(['--bogus', 'state', id])).toBe(true);
      expect(handed(['state', id, 'extra'])).toBe(true);
      expect(handed(['state', '../x'])).toBe(true);
      expect(handed(['state', id], { TSRUN_TIMING: '1' })).toBe(true);
      expect(handed(['state', id], { TSRUN_NO_FAST_PATH: '1' })).toBe(true);
      expect(handed(['kill', '--all', id, 'TERM'])).toBe(true);
      expect(handed(['kill', id, 'RTMIN+1'])).toBe(true);
      expect(handed(['kill', id, '65'])).toBe(true);
      expect(handed(['kill', id, 'NOPE'])).toBe(true);
      expect(handed(['kill', id, '0'])).toBe(false);
      expect(handed(['state', id], {}, [])).toBe(true); // the default root, /run/tsrun, has no such container

      // answers older than state.json are never used
      const stateFile = path.join(h.root, id, 'state.json');
      const record = fs.readFileSync(stateFile);
      fs.writeFileSync(stateFile, Buffer.concat([record, Buffer.from(' ')]));
      expect(handed(['state', id])).toBe(true);
      fs.writeFileSync(stateFile, record);
      expect(handed(['state', id])).toBe(false);
      const answers = path.join(h.root, id, 'answers');
      const good = fs.readFileSync(answers);
      fs.writeFileSync(answers, good.subarray(0, good.length - 10));
      expect(handed(['state', id])).toBe(true);
      fs.writeFileSync(answers, good);

      // the recorded start time is not the process's (its pid was reused): stopped, as Bun says
      const rec = JSON.parse(record.toString());
      const reused = Buffer.from(JSON.stringify({ ...rec, pidStartTime: '1' }));
      fs.writeFileSync(stateFile, reused);
      fs.writeFileSync(answers, answersText({ ...rec, pidStartTime: '1' }, reused, path.join(h.root, id, 'exec.fifo'), crc32hex)!);
      const r = launcher(['state', id]);
      expect(JSON.parse(r.out)).toMatchObject({ status: 'stopped', pid: 0 });
      expect(r.out).toBe(bunState(id));
      expect(handed(['kill', id, '0'])).toBe(true);
      fs.writeFileSync(stateFile, record);
      fs.writeFileSync(answers, good);
    } finally {
      h.tsrun(['delete', '--force', id]);
    }
  });

  it('gives no answers for a container being created', () => {
    const id = h.id('creating');
    const dir = path.join(h.root, id);
    fs.mkdirSync(dir, { recursive: true });
    const rec = { ociVersion: '1.3.0', id, status: 'creating', pid: process.pid, bundle, rootfs: '/', created: '', owner: '', cgroupPaths: {}, pidNamespace: true };
    expect(answersText(rec as never, Buffer.from(JSON.stringify(rec)), path.join(dir, 'exec.fifo'), crc32hex)).toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });
});
