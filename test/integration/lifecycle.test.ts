// The container lifecycle through the built CLI: run, create/start/state/
// kill/delete, pid files, status transitions, and that delete leaves nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Harness, leftovers, rootAvailable, TSRUN } from '../helpers/harness';

const enabled = rootAvailable();

describe.skipIf(!enabled)('lifecycle', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('life');
  });
  afterAll(() => h?.cleanup());

  it('run exits with the status of the container process', () => {
    expect(h.run(['/bin/true']).code).toBe(0);
    expect(h.run(['/bin/false']).code).toBe(1);
    expect(h.run(['sh', '-c', 'exit 7']).code).toBe(7);
  });

  it('run reports a death by signal N as 128+N', () => {
    // without a pid namespace, so that the shell is not an init immune to its own SIGKILL
    const r = h.run(['sh', '-c', 'kill -9 $$'], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
    });
    expect(r.code).toBe(137);
    // and a signal sent from outside, through tsrun kill, to pid 1 of a pid namespace
    const id = h.id('sigrun');
    const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
    const fg = spawn(TSRUN, ['--root', h.root, 'run', '--bundle', b, id], { stdio: 'ignore' });
    return new Promise<void>((resolve, reject) => {
      fg.on('exit', (code) => {
        try {
          expect(code).toBe(137);
          expect(leftovers(h.root, id)).toEqual([]);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
      const poll = setInterval(() => {
        const st = h.tsrun(['state', id]);
        if (st.code === 0 && JSON.parse(st.stdout).status === 'running') {
          clearInterval(poll);
          h.tsrun(['kill', id, 'KILL']);
        }
      }, 50);
    });
  });

  it('run passes the container output through and deletes the container', () => {
    const r = h.run(['echo', 'hello from the container']);
    expect(r.stdout).toBe('hello from the container\n');
    expect(leftovers(h.root, r.id)).toEqual([]);
  });

  it('create, start, state, kill and delete', () => {
    const id = h.id('cycle');
    const bundle = h.bundle((c) => {
      c.process.args = ['sleep', '1000'];
    });
    const pidFile = path.join(h.dir, `${id}.pid`);
    const created = h.tsrun(['create', '--bundle', bundle, '--pid-file', pidFile, id]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);

    const s1 = JSON.parse(h.tsrun(['state', id]).stdout);
    expect(s1).toMatchObject({ ociVersion: '1.3.0', id, status: 'created', bundle, rootfs: h.rootfs });
    expect(s1.pid).toBeGreaterThan(1);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(String(s1.pid));
    expect(Date.parse(s1.created)).not.toBeNaN();
    // while created, the only process left is the small native init, run from its sealed memfd copy
    expect(fs.readlinkSync(`/proc/${s1.pid}/exe`)).toBe('/memfd:tsrun-init (deleted)');

    expect(h.tsrun(['start', id]).code).toBe(0);
    const s2 = JSON.parse(h.tsrun(['state', id]).stdout);
    expect(s2.status).toBe('running');
    expect(s2.pid).toBe(s1.pid);
    expect(fs.readFileSync(`/proc/${s2.pid}/cmdline`, 'utf8')).toBe('sleep\x001000\x00');

    const refused = h.tsrun(['delete', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not stopped');

    expect(h.tsrun(['kill', id, 'KILL']).code).toBe(0);
    let status = '';
    for (let i = 0; i < 200 && status !== 'stopped'; i++) {
      status = JSON.parse(h.tsrun(['state', id]).stdout).status;
    }
    expect(status).toBe('stopped');

    const again = h.tsrun(['kill', id, 'TERM']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('container not running');

    expect(h.tsrun(['delete', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('delete of a created container fails and changes nothing (runtime.md#delete); --force kills its init', () => {
    const id = h.id('created');
    expect(h.tsrun(['create', '--bundle', h.bundle(), id]).code).toBe(0);
    const pid = JSON.parse(h.tsrun(['state', id]).stdout).pid;
    const refused = h.tsrun(['delete', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not stopped: created');
    expect(JSON.parse(h.tsrun(['state', id]).stdout)).toMatchObject({ status: 'created', pid });
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('delete --force kills a running container', () => {
    const id = h.id('force');
    const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
    expect(h.tsrun(['run', '--detach', '--bundle', b, id]).code).toBe(0);
    expect(JSON.parse(h.tsrun(['state', id]).stdout).status).toBe('running');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('kill takes signal numbers and names', () => {
    for (const sig of ['9', 'KILL', 'SIGKILL', 'sigkill']) {
      const id = h.id('sig');
      const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
      expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
      expect(h.tsrun(['kill', id, sig]).code).toBe(0);
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    }
    const id = h.id('badsig');
    expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '1000'])), id]).code).toBe(0);
    const bad = h.tsrun(['kill', id, 'NOTASIGNAL']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid signal');
    expect(h.tsrun(['delete', '-f', id]).code).toBe(0);
  });

  it('a second create with the same id fails and leaves the first intact', () => {
    const id = h.id('dup');
    const b = h.bundle();
    expect(h.tsrun(['create', '--bundle', b, id]).code).toBe(0);
    const dup = h.tsrun(['create', '--bundle', b, id]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already exists');
    expect(JSON.parse(h.tsrun(['state', id]).stdout).status).toBe('created');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('list shows containers as a table, json and ids', () => {
    const id = h.id('list');
    expect(h.tsrun(['create', '--bundle', h.bundle(), id]).code).toBe(0);
    const table = h.tsrun(['list']).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table.some((l) => l.startsWith(id) && l.includes('created'))).toBe(true);
    const json = JSON.parse(h.tsrun(['list', '--format', 'json']).stdout);
    expect(json.find((s: { id: string }) => s.id === id).status).toBe('created');
    expect(h.tsrun(['list', '-q']).stdout.split('\n')).toContain(id);
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
  });

  it('every command on a container that does not exist fails with exit 1', () => {
    const ghost = 'tsrun-it-no-such-container';
    for (const args of [['start', ghost], ['state', ghost], ['kill', ghost], ['kill', ghost, '9'], ['delete', ghost]]) {
      const r = h.tsrun(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain('does not exist');
    }
    // runc's delete --force: nothing to delete is success, and nothing is made (containerd's shim relies on it)
    const forced = h.tsrun(['delete', '--force', ghost]);
    expect([forced.code, forced.stderr]).toEqual([0, '']);
    expect(fs.existsSync(path.join(h.root, ghost))).toBe(false);
    expect(fs.readdirSync(h.root).filter((e) => e.includes(ghost))).toEqual([]);
  });
});
