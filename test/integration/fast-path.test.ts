// The launcher's answers to `state`, `kill`, `start` and `delete` (native/launcher-fast.c), given
// without Bun from the answers file beside state.json (src/state/answers.ts).
// A copy of the launcher sits beside a fake tsrun-bun that only prints
// "bun:" and its arguments: an answer without that line came from the
// launcher. Each answer must be byte for byte what Bun's `state` prints, in
// every status; a start or delete must leave the container as Bun's does;
// whatever it is unsure of (flags, stale answers, a stopped container's kill,
// a start with a poststart hook or a held lock, a delete with a process
// still in the cgroup) must reach Bun, with nothing done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, REPO, besideFakeBun, leftovers, precondition, rootAvailable } from '../helpers/harness';
import { answersText } from '../../src/state/answers';

const enabled = rootAvailable() && precondition(fs.existsSync(path.join(REPO, 'build/tsrun-bun')), 'build/tsrun-bun is missing (make build)');

describe.skipIf(!enabled)("the launcher's answers to state, kill, start and delete", () => {
  let h: Harness;
  let fake: string;
  let bundle: string;
  beforeAll(() => {
    h = new Harness('fast');
    fake = besideFakeBun(path.join(h.dir, 'fake'), ['tsrun'], '#!/bin/sh\necho "bun: $*${TSRUN_START_ERROR+ error=$TSRUN_START_ERROR}"\n');
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
      fs.writeFileSync(answers, answersText({ ...rec, pidStartTime: '1' }, reused, path.join(h.root, id, 'exec.fifo'))!);
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
    expect(answersText(rec as never, Buffer.from(JSON.stringify(rec)), path.join(dir, 'exec.fifo'))).toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });

  it('starts a created container, and hands over what start.ts must do itself', () => {
    const id = h.id('start');
    expect(h.tsrun(['create', '--bundle', bundle, id], quiet).code).toBe(0);
    // a lock held by a live process: Bun waits for it
    const lock = path.join(h.root, `.lock-${id}`);
    fs.symlinkSync(`${process.pid} ${fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19]}`, lock);
    expect(launcher(['start', id]).out).toBe(`bun: --root ${h.root} start ${id}\n`);
    expect(statusOf(id)).toBe('created');
    fs.unlinkSync(lock);
    expect(launcher(['start', id])).toEqual({ code: 0, out: '' });
    expect(statusOf(id)).toBe('running');
    expect(fs.existsSync(path.join(h.root, id, 'exec.fifo'))).toBe(false);
    expect(fs.readdirSync(h.root).filter((f) => f.startsWith('.lock-'))).toEqual([]); // released
    // started already: Bun says so
    expect(launcher(['start', id]).out).toBe(`bun: --root ${h.root} start ${id}\n`);
    expect(h.tsrun(['start', id]).stderr).toContain('cannot start an already running container');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);

    // a poststart hook runs after the exec: Bun's start does all of it
    const withHook = h.bundle((c) => {
      c.process.args = ['sleep', '300'];
      c.hooks = { poststart: [{ path: '/bin/true' }] };
    });
    const hooked = h.id('hooked');
    expect(h.tsrun(['create', '--bundle', withHook, hooked], quiet).code).toBe(0);
    expect(launcher(['start', hooked]).out).toBe(`bun: --root ${h.root} start ${hooked}\n`);
    expect(statusOf(hooked)).toBe('created');
    expect(h.tsrun(['delete', '--force', hooked]).code).toBe(0);
  });

  it("a start whose init fails after the fifo opened gives Bun the init's message, as Bun's own start tells it", () => {
    const failing = h.bundle((c) => {
      c.process.args = ['sleep', '300'];
      c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo hook says no >&2; exit 3'] }] };
    });
    const a = h.id('failfast');
    const b = h.id('failbun');
    expect(h.tsrun(['create', '--bundle', failing, a], quiet).code).toBe(0);
    expect(h.tsrun(['create', '--bundle', failing, b], quiet).code).toBe(0);
    const handed = launcher(['start', a]).out;
    expect(handed).toMatch(new RegExp(`^bun: --root ${h.root} start ${a} error=.+`));
    const viaBun = h.tsrun(['start', b], { env: { ...process.env, TSRUN_NO_FAST_PATH: '1' } });
    expect(viaBun.code).toBe(1);
    expect(handed.slice(handed.indexOf('error=') + 6).trim()).toBe(viaBun.stderr.replace(/^tsrun: /, '').trim().replaceAll(b, a));
    // and through the real launcher, the same words and status
    const c = h.id('failreal');
    expect(h.tsrun(['create', '--bundle', failing, c], quiet).code).toBe(0);
    const real = h.tsrun(['start', c]);
    expect([real.code, real.stderr.replaceAll(c, b)]).toEqual([1, viaBun.stderr]);
    for (const id of [a, b, c]) {
      expect(statusOf(id)).toBe('stopped');
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    }
  });

  it('deletes a stopped container, and hands over every delete that is more than removing', async () => {
    const stopped = async (b: string, name: string) => {
      const id = h.id(name);
      expect(h.tsrun(['run', '-d', '--bundle', b, id], quiet).code).toBe(0);
      expect(h.tsrun(['kill', id, 'KILL']).code).toBe(0);
      for (let i = 0; i < 200 && statusOf(id) !== 'stopped'; i++) await new Promise((res) => setTimeout(res, 25));
      expect(statusOf(id)).toBe('stopped');
      return id;
    };
    const handed = (id: string, force = false) => launcher(['delete', ...(force ? ['--force'] : []), id]).out.startsWith('bun: ');

    // plain and --force: the cgroups and the state directory go, the lock is released
    for (const force of [false, true]) {
      const id = await stopped(bundle, `del${force ? 'f' : ''}`);
      expect(launcher(['delete', ...(force ? ['-f'] : []), id])).toEqual({ code: 0, out: '' });
      expect(leftovers(h.root, id)).toEqual([]);
      expect(fs.readdirSync(h.root).filter((f) => f.startsWith('.lock-'))).toEqual([]);
    }

    // alive: Bun refuses, or kills first with --force
    const live = h.id('dellive');
    expect(h.tsrun(['run', '-d', '--bundle', bundle, live], quiet).code).toBe(0);
    expect(handed(live)).toBe(true);
    expect(handed(live, true)).toBe(true);
    expect(statusOf(live)).toBe('running');
    expect(h.tsrun(['delete', '--force', live]).code).toBe(0);

    // a poststop hook to run: Bun's
    const withHook = h.bundle((c) => {
      c.process.args = ['sleep', '300'];
      c.hooks = { poststop: [{ path: '/bin/true' }] };
    });
    const hooked = await stopped(withHook, 'delhook');
    expect(handed(hooked)).toBe(true);
    expect(h.tsrun(['delete', hooked]).code).toBe(0);

    // a file it does not know in the state directory, a process left in the cgroup: nothing is done
    const odd = await stopped(bundle, 'delodd');
    fs.writeFileSync(path.join(h.root, odd, 'someone-elses'), '');
    expect(handed(odd)).toBe(true);
    expect(fs.existsSync(path.join(h.root, odd, 'state.json'))).toBe(true);
    fs.unlinkSync(path.join(h.root, odd, 'someone-elses'));
    const rec = JSON.parse(fs.readFileSync(path.join(h.root, odd, 'state.json'), 'utf8'));
    const memory = rec.cgroupPaths.memory ?? rec.cgroupPaths.unified;
    const stray = spawnSync('sh', ['-c', `sleep 30 >/dev/null 2>&1 & echo $! > ${memory}/cgroup.procs && echo $!`], { encoding: 'utf8' });
    const strayPid = Number(stray.stdout.trim());
    try {
      expect(strayPid).toBeGreaterThan(0);
      expect(handed(odd)).toBe(true);
      expect(fs.existsSync(memory)).toBe(true);
      expect(fs.existsSync(path.join(h.root, odd, 'state.json'))).toBe(true);
    } finally {
      process.kill(strayPid, 'SIGKILL');
    }
    expect(h.tsrun(['delete', odd]).code).toBe(0);
    expect(leftovers(h.root, odd)).toEqual([]);
  });
});
