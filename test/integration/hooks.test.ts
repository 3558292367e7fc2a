// Hooks at the points the spec names, in order, each with the state on
// stdin; a failing hook fails the operation and leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable, type Config } from '../helpers/harness';

const enabled = rootAvailable();

describe.skipIf(!enabled)('hooks', () => {
  let h: Harness;
  let log: string;
  let recorder: string;
  beforeAll(() => {
    h = new Harness('hooks');
    log = path.join(h.dir, 'hooks.log');
    // a hook that appends "<name> <status> <id> <its mount namespace>" to the log
    recorder = path.join(h.dir, 'record-hook');
    fs.writeFileSync(
      recorder,
      `#!/bin/sh\nstate=$(cat)\nstatus=$(echo "$state" | sed -n 's/.*"status":"\\([a-z]*\\)".*/\\1/p')\nid=$(echo "$state" | sed -n 's/.*"id":"\\([^"]*\\)".*/\\1/p')\necho "$1 $status $id $(readlink /proc/self/ns/mnt)" >> ${log}\n`,
      { mode: 0o755 },
    );
  });
  afterAll(() => h?.cleanup());

  const hook = (name: string, extra: object = {}) => ({ path: recorder, args: ['record-hook', name], ...extra });
  const allHooks = (c: Config) => {
    // startContainer runs inside the container: the hook and its log must be there too
    c.mounts.push({ destination: h.dir, type: 'bind', source: h.dir, options: ['rbind', 'rw'] });
    c.hooks = {};
    for (const n of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) c.hooks[n] = [hook(n)];
  };
  const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []);

  it('runs every hook once, in the spec\'s order, with the state on stdin', () => {
    fs.rmSync(log, { force: true });
    const r = h.run(['true'], allHooks);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = lines().map((l) => l.split(' '));
    expect(got.map((g) => g[0])).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    for (const g of got) expect(g[2]).toBe(r.id);
    expect(got.find((g) => g[0] === 'prestart')![1]).toBe('created');
    expect(got.find((g) => g[0] === 'createContainer')![1]).toBe('created');
    expect(got.find((g) => g[0] === 'poststart')![1]).toBe('running');
    expect(got.find((g) => g[0] === 'poststop')![1]).toBe('stopped');
    // runtime-namespace hooks run in the host's mount namespace, container ones in the container's
    const hostMnt = fs.readlinkSync('/proc/self/ns/mnt');
    expect(got.find((g) => g[0] === 'createRuntime')![3]).toBe(hostMnt);
    expect(got.find((g) => g[0] === 'createContainer')![3]).not.toBe(hostMnt);
    expect(got.find((g) => g[0] === 'startContainer')![3]).not.toBe(hostMnt);
    expect(leftovers(h.root, r.id)).toEqual([]);
  });

  it('runs poststart when start is called and poststop when delete is called', () => {
    fs.rmSync(log, { force: true });
    const id = h.id('split');
    const b = h.bundle((c) => {
      allHooks(c);
      c.process.args = ['sleep', '1000'];
    });
    expect(h.tsrun(['create', '--bundle', b, id]).code).toBe(0);
    expect(lines().map((l) => l.split(' ')[0])).toEqual(['prestart', 'createRuntime', 'createContainer']);
    expect(h.tsrun(['start', id]).code).toBe(0);
    expect(lines().map((l) => l.split(' ')[0]).slice(3)).toEqual(['startContainer', 'poststart']);
    expect(h.tsrun(['kill', id, 'KILL']).code).toBe(0);
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(lines().map((l) => l.split(' ')[0]).slice(5)).toEqual(['poststop']);
  });

  for (const failing of ['prestart', 'createRuntime', 'createContainer']) {
    it(`a failing ${failing} hook fails create and leaves nothing`, () => {
      const id = h.id(`fail-${failing}`);
      const b = h.bundle((c) => {
        c.hooks = { [failing]: [{ path: '/bin/sh', args: ['sh', '-c', 'echo broken >&2; exit 3'] }] };
      });
      const r = h.tsrun(['create', '--bundle', b, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${failing} hook`);
      expect(r.stderr).toContain('/bin/sh');
      expect(r.stderr).toContain('broken');
      expect(leftovers(h.root, id)).toEqual([]);
    });
  }

  it('a failing startContainer hook fails start', () => {
    const id = h.id('fail-start');
    const b = h.bundle((c) => {
      c.hooks = { startContainer: [{ path: '/bin/false' }] };
      c.process.args = ['sleep', '1000'];
    });
    expect(h.tsrun(['create', '--bundle', b, id]).code).toBe(0);
    const r = h.tsrun(['start', id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('startContainer hook');
    expect(r.stderr).toContain('/bin/false');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('a failing poststart hook fails start and stops the container (spec 1.3)', () => {
    const id = h.id('fail-poststart');
    const b = h.bundle((c) => {
      c.hooks = { poststart: [{ path: '/bin/false' }] };
      c.process.args = ['sleep', '1000'];
    });
    expect(h.tsrun(['create', '--bundle', b, id]).code).toBe(0);
    const r = h.tsrun(['start', id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('poststart hook #0');
    let status = '';
    for (let i = 0; i < 100 && status !== 'stopped'; i++) status = JSON.parse(h.tsrun(['state', id]).stdout).status;
    expect(status).toBe('stopped');
    expect(h.tsrun(['delete', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('a failing poststop hook is a warning: delete still removes everything', () => {
    const id = h.id('fail-poststop');
    const b = h.bundle((c) => (c.hooks = { poststop: [{ path: '/bin/false' }] }));
    expect(h.tsrun(['create', '--bundle', b, id]).code).toBe(0);
    const r = h.tsrun(['delete', '--force', id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('poststop hook #0');
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('kills a hook that runs past its timeout', () => {
    const id = h.id('timeout');
    const b = h.bundle((c) => (c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }));
    const t0 = Date.now();
    const r = h.tsrun(['create', '--bundle', b, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('timed out');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(leftovers(h.root, id)).toEqual([]);
  });
});
