// Lifecycle cases that engines and the spec reach and a plain bundle does not: a --root of mode 0700 (what runc
// makes for its own root) with a user-namespaced container, and a config without `process`, which create takes
// and start must refuse (runtime.md, "start").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable, type Config } from '../helpers/harness';

const enabled = rootAvailable();

const userns = (c: Config) => {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

describe.skipIf(!enabled)('a user namespace under a --root of mode 0700', () => {
  let h: Harness;
  let root: string;
  beforeAll(() => {
    h = new Harness('root0700');
    root = path.join(h.dir, 'private-root');
    fs.mkdirSync(root, { mode: 0o700 });
    fs.chmodSync(root, 0o700);
  });
  afterAll(() => h?.cleanup());
  const ts = (args: string[]) => h.tsrun(['--root', root, ...args]);

  it('runs, creates, starts, execs and deletes; the container user cannot search the root', () => {
    const b = h.bundle((c) => {
      userns(c);
      c.process.args = ['sh', '-c', 'cat /proc/self/uid_map'];
    });
    const r = ts(['run', '--bundle', b, h.id('run')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);

    const id = h.id('life');
    const b2 = h.bundle((c) => {
      userns(c);
      c.process.args = ['sleep', '1000'];
    });
    const created = ts(['create', '--bundle', b2, id]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    expect(ts(['start', id]).code).toBe(0);
    expect(JSON.parse(ts(['state', id]).stdout).status).toBe('running');
    const e = ts(['exec', id, 'sh', '-c', 'id -u']);
    expect(e.stderr).toBe('');
    expect(e.stdout.trim()).toBe('0');
    expect(ts(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(root, id)).toEqual([]);
  });
});

describe.skipIf(!enabled)('a config without process', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('noproc');
  });
  afterAll(() => h?.cleanup());
  const noProcess = (c: Config) => delete c.process;

  it('is created; start fails with a clear message and leaves the container as it was', () => {
    const id = h.id('np');
    const b = h.bundle(noProcess);
    const created = h.tsrun(['create', '--bundle', b, id]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const before = JSON.parse(h.tsrun(['state', id]).stdout);
    expect(before.status).toBe('created');
    for (let i = 0; i < 2; i++) {
      const s = h.tsrun(['start', id]);
      expect(s.code).toBe(1);
      expect(s.stderr).toBe(`tsrun: cannot start container ${id}: its config has no process ($.process) to run\n`);
      const after = JSON.parse(h.tsrun(['state', id]).stdout);
      expect(after.status).toBe('created');
      expect(after.pid).toBe(before.pid);
    }
    // the namespaces are there to join
    const e = h.tsrun(['exec', id, '/bin/sh', '-c', 'hostname; id -u; pwd']);
    expect(e.stderr).toBe('');
    expect(e.stdout.split('\n').slice(0, 3)).toEqual(['tsrun-test', '0', '/']);
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('is refused by run before anything is made', () => {
    const id = h.id('np-run');
    const r = h.tsrun(['run', '--bundle', h.bundle(noProcess), id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\$\.process: is required to start a container\n$/);
    expect(leftovers(h.root, id)).toEqual([]);
  });
});
