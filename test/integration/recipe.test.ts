// A create replayed from a recipe, without Bun (src/recipe/, native/replay.c, native/launcher-create.c;
// TSRUN_RECIPES=0 turns it off). Bun's first create of a config leaves a mark, its second the recipe; a copy of the launcher and of tsrun-init sit
// beside a fake tsrun-bun that only prints "bun:" and its arguments, so an output without that line was
// the replay's. What the replay makes must be what Bun's create makes, file for file, and the container must
// live its whole life through; anything the recipe depends on that changed must reach Bun, with nothing done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, REPO, besideFakeBun, leftovers, precondition, rootAvailable } from '../helpers/harness';
import { crc32hex } from '../../src/state/crc32';

const enabled = rootAvailable() && precondition(fs.existsSync(path.join(REPO, 'build/tsrun-bun')), 'build/tsrun-bun is missing (make build)');
let ON: Record<string, string> = {};
let OFF: Record<string, string> = {};

describe.skipIf(!enabled)('a create replayed from a recipe', () => {
  let h: Harness;
  let fake: string;
  beforeAll(() => {
    h = new Harness('recipe');
    fake = besideFakeBun(path.join(h.dir, 'fake'), ['tsrun', 'tsrun-init'], '#!/bin/sh\necho "bun: $*"\n');
    // this test's own recipe directory, so that what it counts is its own
    ON = { TSRUN_RECIPE_DIR: path.join(h.dir, 'recipes') };
    OFF = { ...ON, TSRUN_RECIPES: '0' };
  });
  afterAll(() => h?.cleanup());

  const env = (more: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...more });
  /** The copy of the launcher: "bun: ..." in its output when it gave way. */
  const viaCopy = (args: string[], more: Record<string, string> = ON, cwd?: string) => {
    const out = path.join(h.dir, `copy-out-${process.hrtime.bigint()}`);
    const fd = fs.openSync(out, 'w');
    try {
      const r = spawnSync(fake, ['--root', h.root, ...args], { stdio: ['ignore', fd, fd], env: env(more), timeout: 30_000, cwd });
      return { code: r.status, out: fs.readFileSync(out, 'utf8') };
    } finally {
      fs.closeSync(fd);
    }
  };
  const bun = (args: string[], more: Record<string, string> = ON) => h.tsrun(args, { env: { ...process.env, ...more } });
  const recipeDir = () => ON.TSRUN_RECIPE_DIR;
  const all = () => (fs.existsSync(recipeDir()) ? fs.readdirSync(recipeDir()) : []);
  const recipes = () => all().filter((f) => f.endsWith('-create'));
  const nameOf = (bundle: string, kind: string) => {
    const config = fs.readFileSync(path.join(bundle, 'config.json'));
    const place = Buffer.from(`${h.root}\0${fs.realpathSync(bundle)}`);
    return `${crc32hex(config)}-${config.length}-${crc32hex(place)}-${kind}`;
  };
  /** Bun's first create of the config marks it, the second leaves the recipe: returns the two ids. */
  const seed = (bundle: string, label: string, more: string[] = []) => {
    const ids = [h.id(`${label}-1`), h.id(`${label}-2`)];
    expect(bun([...more, 'create', '--bundle', bundle, ids[0]]).code).toBe(0);
    expect(all()).toContain(nameOf(bundle, 'seen'));
    expect(recipes()).not.toContain(nameOf(bundle, 'create'));
    expect(bun([...more, 'create', '--bundle', bundle, ids[1]]).code).toBe(0);
    return ids;
  };
  const read = (id: string, f: string) => fs.readFileSync(path.join(h.root, id, f), 'utf8');
  /** A file of the container's cgroup: of its devices hierarchy on v1, of its one directory on v2. */
  const cgroupFile = (id: string, v1: string, v2: string) => {
    const paths = JSON.parse(read(id, 'state.json')).cgroupPaths;
    return fs.readFileSync(paths.devices ? `${paths.devices}/${v1}` : `${paths.unified}/${v2}`, 'utf8');
  };

  /** `text` of container `from` as it reads for container `to`: id, pids, start times and creation time swapped. */
  function as(text: string, from: string, to: string): string {
    const a = JSON.parse(read(from, 'state.json'));
    const b = JSON.parse(read(to, 'state.json'));
    return text
      .split(from).join(to)
      .split(`"created":"${a.created}"`).join(`"created":"${b.created}"`)
      .split(`"created": "${a.created}"`).join(`"created": "${b.created}"`)
      .split(`"pidStartTime":"${a.pidStartTime}"`).join(`"pidStartTime":"${b.pidStartTime}"`)
      .split(`start ${a.pidStartTime}\n`).join(`start ${b.pidStartTime}\n`)
      .split(`"pid":${a.pid},`).join(`"pid":${b.pid},`)
      .split(`"pid": ${a.pid},`).join(`"pid": ${b.pid},`)
      .split(`pid ${a.pid}\n`).join(`pid ${b.pid}\n`);
  }

  /** An answers file as its head lines (after the record line) and its documents, each the length it says. */
  function parts(text: string): { head: string[]; docs: string[] } {
    const b = Buffer.from(text);
    const at = b.indexOf('\ndoc ');
    const head = b.subarray(0, at).toString().split('\n').slice(2);
    const docs: string[] = [];
    for (let i = at + 1; i < b.length; ) {
      const nl = b.indexOf('\n', i);
      const [, status, n] = b.subarray(i, nl).toString().split(' ');
      const doc = b.subarray(nl + 1, nl + 1 + Number(n)).toString();
      docs.push(`${status} ${doc}`);
      i = nl + 1 + Number(n);
    }
    expect(docs.map((d) => d.endsWith('}\n'))).toEqual([true, true, true, true]);
    return { head, docs };
  }

  it('Bun marks a config, then leaves a recipe; the next create of it is replayed, file for file, and lives its life', async () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '300']));
    const [marked, first] = seed(bundle, 'bun');
    expect(recipes()).toEqual([nameOf(bundle, 'create')]);
    expect(bun(['delete', '--force', marked]).code).toBe(0);
    const second = h.id('replayed');
    const pidFile = path.join(h.dir, 'replayed.pid');
    const r = viaCopy(['create', '--bundle', bundle, '--pid-file', pidFile, second]);
    expect(r.out).not.toMatch(/bun:/);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(String(JSON.parse(read(second, 'state.json')).pid));
    // the record and the answers (with their checksum) as Bun would have written them, the config, the cgroup
    const answers = read(second, 'answers');
    const record = read(second, 'state.json');
    expect(answers.split('\n')[1]).toBe(`record ${crc32hex(Buffer.from(record))} ${Buffer.byteLength(record)}`);
    expect(record).toBe(as(read(first, 'state.json'), first, second));
    const bunParts = parts(read(first, 'answers'));
    expect(parts(answers)).toEqual({ head: bunParts.head.map((l) => as(`${l}\n`, first, second).slice(0, -1)), docs: bunParts.docs.map((d) => as(d, first, second)) });
    expect(read(second, 'config.json')).toBe(read(first, 'config.json'));
    expect(cgroupFile(second, 'devices.list', 'cgroup.controllers')).toBe(cgroupFile(first, 'devices.list', 'cgroup.controllers'));
    // Bun's state of it, then the launcher's start, kill and delete
    const st = JSON.parse(bun(['state', second], { TSRUN_NO_FAST_PATH: '1' }).stdout);
    expect(st).toMatchObject({ id: second, status: 'created', bundle: fs.realpathSync(bundle) });
    expect(bun(['start', second]).code).toBe(0);
    expect(JSON.parse(bun(['state', second]).stdout).status).toBe('running');
    expect(bun(['kill', second, 'KILL']).code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse(bun(['state', second]).stdout).status !== 'stopped'; i++) await new Promise((s) => setTimeout(s, 20));
    expect(bun(['delete', second]).code).toBe(0);
    expect(leftovers(h.root, second)).toEqual([]);
    expect(bun(['delete', '--force', first]).code).toBe(0);
  });

  it('what the recipe depends on, changed, goes to Bun with nothing done', () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '306']));
    const [other, seedId] = seed(bundle, 'seed');
    expect(bun(['delete', '--force', other]).code).toBe(0);
    const gives = (label: string, args: (id: string) => string[], more?: Record<string, string>) => {
      const id = h.id(label);
      const r = viaCopy(args(id), more);
      expect(r.out, label).toMatch(/^bun: /);
      expect(leftovers(h.root, id), label).toEqual([]);
    };
    // turned off
    gives('off', (id) => ['create', '--bundle', bundle, id], OFF);
    // a flag the replay does not know
    gives('flag', (id) => ['create', '--bundle', bundle, '--no-pivot', id]);
    // the id of a container that exists: Bun says so
    gives('exists', () => ['create', '--bundle', bundle, seedId]);
    expect(fs.existsSync(path.join(h.root, seedId, 'state.json'))).toBe(true);
    // the rootfs's /etc/passwd (HOME for the process) changed
    const passwd = path.join(h.rootfs, 'etc/passwd');
    const before = fs.readFileSync(passwd);
    fs.appendFileSync(passwd, 'extra:x:7:7::/home/extra:/bin/sh\n');
    try {
      gives('passwd', (id) => ['create', '--bundle', bundle, id]);
      // Bun's create after the replay gave way leaves the recipe anew, which the next create replays
      const changed = h.id('changed');
      const recipe = path.join(recipeDir(), nameOf(bundle, 'create'));
      const was = fs.readFileSync(recipe);
      expect(bun(['create', '--bundle', bundle, changed]).code).toBe(0);
      expect(fs.readFileSync(recipe).equals(was)).toBe(false);
      const replayed = h.id('replayed-changed');
      expect(viaCopy(['create', '--bundle', bundle, replayed]).out).not.toMatch(/bun:/);
      for (const id of [changed, replayed]) expect(bun(['delete', '--force', id]).code).toBe(0);
    } finally {
      fs.writeFileSync(passwd, before);
    }
    // the init fails once it runs (the rootfs's /proc is a file now): the container process, the cgroups and the
    // state directory the replay made are undone before Bun is asked
    const proc = path.join(h.rootfs, 'proc');
    fs.rmSync(proc, { recursive: true, force: true });
    fs.writeFileSync(proc, '');
    try {
      gives('init-fails', (id) => ['create', '--bundle', bundle, id]);
    } finally {
      fs.rmSync(proc, { force: true });
      fs.mkdirSync(proc);
    }
    // a recipe others may write is not trusted
    const file = path.join(recipeDir(), nameOf(bundle, 'create'));
    // (Bun's create made it anew for the old /etc/passwd: a create the replay gave way from)
    const restored = h.id('restored');
    expect(bun(['create', '--bundle', bundle, restored]).code).toBe(0);
    expect(bun(['delete', '--force', restored]).code).toBe(0);
    fs.chmodSync(file, 0o620);
    try {
      gives('mode', (id) => ['create', '--bundle', bundle, id]);
    } finally {
      fs.chmodSync(file, 0o600);
    }
    // and with all as it was, it is replayed again
    const again = h.id('again');
    expect(viaCopy(['create', '--bundle', bundle, again]).out).not.toMatch(/bun:/);
    expect(bun(['delete', '--force', again]).code).toBe(0);
    expect(bun(['delete', '--force', seedId]).code).toBe(0);
    expect(leftovers(h.root, again)).toEqual([]);
  });

  it('the same config in another bundle is another: marked, not replayed, and the first recipe stays', () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '307']));
    const ids = seed(bundle, 'where');
    const recipe = path.join(recipeDir(), nameOf(bundle, 'create'));
    const was = fs.readFileSync(recipe);
    const elsewhere = path.join(h.dir, 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.copyFileSync(path.join(bundle, 'config.json'), path.join(elsewhere, 'config.json'));
    const other = h.id('elsewhere');
    expect(viaCopy(['create', '--bundle', elsewhere, other]).out).toMatch(/^bun: /);
    expect(leftovers(h.root, other)).toEqual([]);
    const real = h.id('elsewhere-bun');
    expect(bun(['create', '--bundle', elsewhere, real]).code).toBe(0);
    expect(all()).toContain(nameOf(elsewhere, 'seen'));
    expect(fs.readFileSync(recipe).equals(was)).toBe(true);
    // a relative bundle names the same place: replayed
    const rel = h.id('relative');
    const r = viaCopy(['create', '--bundle', path.basename(bundle), rel], ON, path.dirname(bundle));
    expect(r.out).not.toMatch(/bun:/);
    expect(r.code).toBe(0);
    for (const id of [...ids, real, rel]) expect(bun(['delete', '--force', id]).code).toBe(0);
  });

  it('another config has no recipe, and a config with the id in it leaves none', () => {
    const changed = h.bundle((c) => (c.process.args = ['sleep', '301']));
    const id = h.id('other');
    expect(viaCopy(['create', '--bundle', changed, id]).out).toMatch(/^bun: /);
    const named = h.id('named');
    const withId = h.bundle((c) => (c.hostname = named));
    const before = all().length;
    expect(bun(['create', '--bundle', withId, named]).code).toBe(0);
    expect(all()).toHaveLength(before);
    expect(bun(['delete', '--force', named]).code).toBe(0);
    // --no-pivot is in the plan and the launcher does not read it: none either, or a plain create would replay it
    const pivotless = h.bundle((c) => (c.process.args = ['sleep', '304']));
    for (const label of ['np-1', 'np-2']) {
      const np = h.id(label);
      expect(bun(['create', '--no-pivot', '--bundle', pivotless, np]).code).toBe(0);
      expect(bun(['delete', '--force', np]).code).toBe(0);
    }
    expect(all()).toHaveLength(before);
  });

  it('a foreground run is replayed: its output, its exit status, signals passed on, and nothing left', async () => {
    const bundle = h.bundle((c) => (c.process.args = ['sh', '-c', 'echo out; echo err >&2; exit 7']));
    for (const label of ['run-1', 'run-2']) expect(bun(['run', '--bundle', bundle, h.id(label)]).code).toBe(7);
    expect(recipes()).not.toContain(nameOf(bundle, 'create'));
    expect(all()).toContain(nameOf(bundle, 'run'));
    const id = h.id('run-replayed');
    const out = path.join(h.dir, 'run-out');
    const err = path.join(h.dir, 'run-err');
    const [o, e] = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
    const r = spawnSync(fake, ['--root', h.root, 'run', '--bundle', bundle, id], { stdio: ['ignore', o, e], env: env(ON), timeout: 30_000 });
    fs.closeSync(o);
    fs.closeSync(e);
    expect(fs.readFileSync(err, 'utf8')).toBe('err\n'); // no "bun:": the replay's
    expect(fs.readFileSync(out, 'utf8')).toBe('out\n');
    expect(r.status).toBe(7);
    expect(leftovers(h.root, id)).toEqual([]);
    expect(fs.existsSync(path.join(h.root, id))).toBe(false);

    // SIGTERM to the runtime reaches the container process, whose status is the run's
    const trapping = h.bundle((c) => (c.process.args = ['sh', '-c', 'trap "exit 3" TERM; echo up; while :; do sleep 0.05; done']));
    for (const label of ['trap-1', 'trap-2']) {
      const seedId = h.id(label);
      const p = spawn(path.join(REPO, 'bin/tsrun'), ['--root', h.root, 'run', '--bundle', trapping, seedId], { env: { ...process.env, ...ON }, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise((ok) => p.stdout!.once('data', ok));
      p.kill('SIGTERM');
      expect(await new Promise((ok) => p.on('exit', ok))).toBe(3);
    }
    const tid = h.id('trap-replayed');
    const p = spawn(fake, ['--root', h.root, 'run', '--bundle', trapping, tid], { env: env(ON), stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    p.stderr!.on('data', (d) => (said += d));
    const first = await new Promise<string>((ok) => p.stdout!.once('data', (d) => ok(String(d))));
    expect(first).toBe('up\n');
    p.kill('SIGTERM');
    expect(await new Promise((ok) => p.on('exit', ok))).toBe(3);
    expect(said).toBe('');
    expect(leftovers(h.root, tid)).toEqual([]);

    // a process that cannot start (its program is gone from the rootfs): undone before Bun is asked
    const prog = path.join(h.rootfs, 'bin/gone-later');
    fs.writeFileSync(prog, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const going = h.bundle((c) => (c.process.args = ['/bin/gone-later']));
    for (const label of ['gone-1', 'gone-2']) expect(bun(['run', '--bundle', going, h.id(label)]).code).toBe(0);
    fs.rmSync(prog);
    const gid = h.id('gone-replayed');
    const g = viaCopy(['run', '--bundle', going, gid]);
    expect(g.out).toMatch(/^bun: /m);
    expect(leftovers(h.root, gid)).toEqual([]);
    // with a log file, or detached, it is Bun's
    expect(viaCopy(['--log', path.join(h.dir, 'log'), 'run', '--bundle', bundle, h.id('run-log')]).out).toMatch(/^bun: /);
    expect(viaCopy(['run', '-d', '--bundle', bundle, h.id('run-d')]).out).toMatch(/^bun: /);
  });

  it('a command line the launcher does not take leaves the recipe as it was', () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '305']));
    const criu = ['--criu', '/usr/sbin/criu']; // a global flag create does not use, which the launcher does not read
    const ids = seed(bundle, 'criu', criu);
    const recipe = path.join(recipeDir(), nameOf(bundle, 'create'));
    const at = fs.statSync(recipe).mtimeMs;
    const third = h.id('criu-3');
    expect(bun([...criu, 'create', '--bundle', bundle, third]).code).toBe(0);
    expect(fs.statSync(recipe).mtimeMs).toBe(at);
    for (const id of [...ids, third]) expect(bun(['delete', '--force', id]).code).toBe(0);
  });

  it('at most 32 recipes are kept, the newest', () => {
    const dir = recipeDir();
    fs.mkdirSync(dir, { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    for (let i = 0; i < 40; i++) {
      for (const kind of ['create', 'seen']) {
        const f = path.join(dir, `0000000${i % 10}-${i}-00000000-${kind}`);
        fs.writeFileSync(f, kind === 'create' ? 'tsrun-recipe 1\n' : '', { mode: 0o600 });
        fs.utimesSync(f, old, old);
      }
    }
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '303']));
    const ids = seed(bundle, 'many');
    const left = recipes();
    expect(left).toHaveLength(32);
    expect(left).toContain(nameOf(bundle, 'create'));
    const marks = all().filter((f) => f.endsWith('-seen'));
    expect(marks).toHaveLength(32);
    expect(marks).toContain(nameOf(bundle, 'seen'));
    for (const id of ids) expect(bun(['delete', '--force', id]).code).toBe(0);
  });

  it('with TSRUN_RECIPES=0 no recipe or mark is left', () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '302']));
    const before = all().length;
    for (const label of ['plain-1', 'plain-2', 'plain-3']) {
      const id = h.id(label);
      expect(bun(['create', '--bundle', bundle, id], OFF).code).toBe(0);
      expect(bun(['delete', '--force', id]).code).toBe(0);
    }
    expect(all()).toHaveLength(before);
  });
});
