// Broken bundles through the CLI: a clear message naming the problem, exit 1,
// and nothing left behind (state directory, cgroup, process, mount).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable, REPO } from '../helpers/harness';

const enabled = rootAvailable();
const corpus = path.join(REPO, 'test/fixtures/bad-bundles');
const cases = fs.readdirSync(corpus).filter((d) => fs.statSync(path.join(corpus, d)).isDirectory());

describe.skipIf(!enabled)('bad bundles', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('bad');
  });
  afterAll(() => h?.cleanup());

  it('has a corpus', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const name of cases) {
    it(`${name}: create fails clearly and leaves nothing`, () => {
      const bundle = path.join(corpus, name);
      const expected = fs.readFileSync(path.join(bundle, 'expect.txt'), 'utf8').trim();
      const only = path.join(bundle, 'refused-by.txt');
      const commands = fs.existsSync(only) ? fs.readFileSync(only, 'utf8').split(/\s+/).filter(Boolean) : ['create', 'run'];
      for (const cmd of commands) {
        const id = h.id(name.slice(0, 20));
        const r = h.tsrun([cmd, '--bundle', bundle, id]);
        expect(r.code, `${cmd}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toContain(expected);
        expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
        expect(leftovers(h.root, id)).toEqual([]);
      }
    });
  }

  it('check lists every problem at once and exits 1', () => {
    const b = h.bundle((c) => {
      c.process.cwd = 'relative';
      c.linux.namespaces.push({ type: 'pid' });
      c.process.capabilities = { bounding: ['CAP_TEST'] };
    });
    const r = h.tsrun(['check', '--bundle', b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('$.process.cwd');
    expect(r.stdout).toContain('$.linux.namespaces');
    expect(r.stdout).toContain('CAP_TEST');
    expect(r.stdout).toMatch(/3 problems found/);
    const good = h.tsrun(['check', '--bundle', h.bundle()]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('no problems found');
  });

  it('logs the error as one JSON line with an RFC 3339 time for engines', () => {
    const logFile = path.join(h.dir, 'log.json');
    const id = h.id('jsonlog');
    const r = h.tsrun(['--log', logFile, '--log-format', 'json', 'create', '--bundle', path.join(corpus, 'relative-cwd'), id]);
    expect(r.code).toBe(1);
    const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]);
    expect(entry.level).toBe('error');
    expect(entry.msg).toContain('process.cwd');
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  });

  it('refuses bad ids and unsupported global modes', () => {
    for (const id of ['../escape', 'a/b', '']) {
      const r = h.tsrun(['create', '--bundle', h.bundle(), id]);
      expect(r.code).toBe(1);
    }
    // the systemd driver with a cgroupsPath not in its form: refused before anything is made
    const sdId = h.id('sd');
    const sd = h.tsrun(['--systemd-cgroup', 'create', '--bundle', h.bundle((c) => (c.linux.cgroupsPath = '/not/slice/form')), sdId]);
    expect(sd.code).toBe(1);
    expect(sd.stderr).toBe('tsrun: $.linux.cgroupsPath: "/not/slice/form" is not in the systemd driver\'s form "slice:prefix:name" (for example "system.slice:tsrun:ID")\n');
    expect(leftovers(h.root, sdId)).toEqual([]);
  });
});
