// A create replayed from a recipe, without Bun (src/recipe/, native/replay.c, native/launcher-create.c;
// opt-in with TSRUN_RECIPES=1). Bun's create leaves the recipe; a copy of the launcher and of tsrun-init sit
// beside a fake tsrun-bun that only prints "bun:" and its arguments, so an output without that line was
// the replay's. What the replay makes must be what Bun's create makes, file for file, and the container must
// live its whole life through; anything the recipe depends on that changed must reach Bun, with nothing done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, REPO, besideFakeBun, leftovers, precondition, rootAvailable } from '../helpers/harness';
import { crc32hex } from '../../src/state/crc32';

const enabled = rootAvailable() && precondition(fs.existsSync(path.join(REPO, 'build/tsrun-bun')), 'build/tsrun-bun is missing (make build)');
const ON = { TSRUN_RECIPES: '1' };

describe.skipIf(!enabled)('a create replayed from a recipe', () => {
  let h: Harness;
  let fake: string;
  beforeAll(() => {
    h = new Harness('recipe');
    fake = besideFakeBun(path.join(h.dir, 'fake'), ['tsrun', 'tsrun-init'], '#!/bin/sh\necho "bun: $*"\n');
  });
  afterAll(() => h?.cleanup());

  const env = (more: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...more });
  /** The copy of the launcher: "bun: ..." in its output when it gave way. */
  const viaCopy = (args: string[], more: Record<string, string> = ON) => {
    const out = path.join(h.dir, `copy-out-${process.hrtime.bigint()}`);
    const fd = fs.openSync(out, 'w');
    try {
      const r = spawnSync(fake, ['--root', h.root, ...args], { stdio: ['ignore', fd, fd], env: env(more), timeout: 30_000 });
      return { code: r.status, out: fs.readFileSync(out, 'utf8') };
    } finally {
      fs.closeSync(fd);
    }
  };
  const bun = (args: string[], more: Record<string, string> = ON) => h.tsrun(args, { env: { ...process.env, ...more } });
  const recipes = () => (fs.existsSync(path.join(h.root, '.recipes')) ? fs.readdirSync(path.join(h.root, '.recipes')) : []);
  const read = (id: string, f: string) => fs.readFileSync(path.join(h.root, id, f), 'utf8');
  const cgroupFile = (id: string, f: string) => fs.readFileSync(`${JSON.parse(read(id, 'state.json')).cgroupPaths.devices}/${f}`, 'utf8');

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

  it('Bun leaves a recipe; the next create of the config is replayed, file for file, and lives its life', async () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '300']));
    const first = h.id('bun');
    expect(bun(['create', '--bundle', bundle, first]).code).toBe(0);
    expect(recipes()).toHaveLength(1);
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
    expect(cgroupFile(second, 'devices.list')).toBe(cgroupFile(first, 'devices.list'));
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
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '300']));
    const seed = h.id('seed');
    expect(bun(['create', '--bundle', bundle, seed]).code).toBe(0);
    const gives = (label: string, args: (id: string) => string[], more?: Record<string, string>) => {
      const id = h.id(label);
      const r = viaCopy(args(id), more);
      expect(r.out, label).toMatch(/^bun: /);
      expect(leftovers(h.root, id), label).toEqual([]);
    };
    // not opted in
    gives('off', (id) => ['create', '--bundle', bundle, id], {});
    // a flag the replay does not know
    gives('flag', (id) => ['create', '--bundle', bundle, '--no-pivot', id]);
    // the id of a container that exists: Bun says so
    gives('exists', () => ['create', '--bundle', bundle, seed]);
    expect(fs.existsSync(path.join(h.root, seed, 'state.json'))).toBe(true);
    // the rootfs's /etc/passwd (HOME for the process) changed
    const passwd = path.join(h.rootfs, 'etc/passwd');
    const before = fs.readFileSync(passwd);
    fs.appendFileSync(passwd, 'extra:x:7:7::/home/extra:/bin/sh\n');
    try {
      gives('passwd', (id) => ['create', '--bundle', bundle, id]);
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
    const file = path.join(h.root, '.recipes', recipes()[0]);
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
    expect(bun(['delete', '--force', seed]).code).toBe(0);
    expect(leftovers(h.root, again)).toEqual([]);
  });

  it('another config has no recipe, and a config with the id in it leaves none', () => {
    const changed = h.bundle((c) => (c.process.args = ['sleep', '301']));
    const id = h.id('other');
    expect(viaCopy(['create', '--bundle', changed, id]).out).toMatch(/^bun: /);
    const named = h.id('named');
    const withId = h.bundle((c) => (c.hostname = named));
    const before = recipes().length;
    expect(bun(['create', '--bundle', withId, named]).code).toBe(0);
    expect(recipes()).toHaveLength(before);
    expect(bun(['delete', '--force', named]).code).toBe(0);
    // run is not replayed: it leaves none
    const ran = h.id('ran');
    expect(bun(['run', '--bundle', h.bundle((c) => (c.process.args = ['true'])), ran]).code).toBe(0);
    expect(recipes()).toHaveLength(before);
  });

  it('at most 32 recipes are kept, the newest', () => {
    const dir = path.join(h.root, '.recipes');
    fs.mkdirSync(dir, { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    for (let i = 0; i < 40; i++) {
      const f = path.join(dir, `0000000${i % 10}-${i}-create`);
      fs.writeFileSync(f, 'tsrun-recipe 1\n', { mode: 0o600 });
      fs.utimesSync(f, old, old);
    }
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '303']));
    const id = h.id('many');
    expect(bun(['create', '--bundle', bundle, id]).code).toBe(0);
    const left = recipes();
    expect(left).toHaveLength(32);
    const config = fs.readFileSync(path.join(bundle, 'config.json'));
    expect(left).toContain(`${crc32hex(config)}-${config.length}-create`);
    expect(bun(['delete', '--force', id]).code).toBe(0);
  });

  it('without TSRUN_RECIPES no recipe is left', () => {
    const bundle = h.bundle((c) => (c.process.args = ['sleep', '302']));
    const id = h.id('plain');
    const before = recipes().length;
    expect(bun(['create', '--bundle', bundle, id], {}).code).toBe(0);
    expect(recipes()).toHaveLength(before);
    expect(bun(['delete', '--force', id]).code).toBe(0);
  });
});
