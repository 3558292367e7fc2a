// Rootless security (issue 16 item 3), as a real user, tsrun beside runc 1.1.5: the container can do no more
// than the user. It cannot write a root-owned host file a bind mount exposes, cannot raise its mapping, cannot
// see host processes, and another user's state directory is refused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestUser, rootlessAvailable } from './user';
import { RUNTIMES, bundle, deleteAll, leftovers, rootlessConfig, rt, stateOf, uniqueId, type Runtime } from './runtimes';

const ok = rootlessAvailable();
let u: TestUser;
let other: TestUser;
/** Root's, under the test's temp dir: a file, and a directory holding one. */
let rootFile: string;
let rootDir: string;

beforeAll(() => {
  if (!ok) return;
  u = new TestUser('sec');
  other = new TestUser('sec-other');
  rootFile = path.join(u.base, 'root-file');
  fs.writeFileSync(rootFile, 'root\n', { mode: 0o644 });
  rootDir = path.join(u.base, 'root-dir');
  fs.mkdirSync(rootDir, { mode: 0o755 });
  fs.writeFileSync(path.join(rootDir, 'kept'), 'root\n', { mode: 0o644 });
});

afterAll(() => {
  const left: string[] = [];
  for (const x of [u, other]) {
    if (!x) continue;
    for (const r of RUNTIMES) deleteAll(x, r);
    left.push(...x.cleanup()); // both, before any expect fails
  }
  expect(left).toEqual([]);
});

describe.skipIf(!ok).each(RUNTIMES)('rootless security, $name', (r: Runtime) => {
  afterEach(() => {
    for (const x of [u, other]) {
      deleteAll(x, r);
      expect(leftovers(x, r)).toEqual([]);
    }
  });

  it('cannot write a root-owned host file or directory that a read-write bind mount exposes', () => {
    const script = [
      'stat -c %u:%g /f',
      'echo pwned > /f && echo wrote-file',
      'echo pwned > /d/new && echo wrote-dir',
      'rm -f /d/kept && echo removed',
      'chmod 666 /f && echo chmod',
      'true',
    ].join('; ');
    const b = bundle(u, rootlessConfig(u, ['sh', '-c', script]), (c) => {
      c.mounts.push({ destination: '/f', type: 'bind', source: rootFile, options: ['bind', 'rw'] });
      c.mounts.push({ destination: '/d', type: 'bind', source: rootDir, options: ['rbind', 'rw'] });
    });
    const res = rt(u, r, ['run', '-b', b, uniqueId('bind')]);
    expect(res.code, res.stderr).toBe(0);
    // host root is unmapped in the container: the overflow ids
    expect(res.stdout.split('\n')[0]).toBe('65534:65534');
    expect(res.stdout).not.toMatch(/wrote-file|wrote-dir|removed|chmod/);
    expect(res.stderr).toMatch(/Permission denied|Operation not permitted/);
    expect(fs.readFileSync(rootFile, 'utf8')).toBe('root\n');
    expect(fs.statSync(rootFile).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(rootDir)).toEqual(['kept']);
  });

  it('cannot raise its mapping: its maps are written once, and a nested namespace maps only what it has', () => {
    const script = [
      'echo "0 0 4294967295" > /proc/self/uid_map && echo raised-uid',
      'echo "0 0 4294967295" > /proc/self/gid_map && echo raised-gid',
      'echo allow > /proc/self/setgroups && echo setgroups',
      'cat /proc/self/uid_map',
      // a user namespace of its own: root there is the container's root, which is the user on the host
      'unshare -U -r cat /proc/self/uid_map',
      'unshare -U sh -c "echo 0 0 1 > /proc/self/uid_map" && echo nested-host-root',
      'true',
    ].join('; ');
    const b = bundle(u, rootlessConfig(u, ['sh', '-c', script]), (c) => {
      // the most a user namespace's root may hold for this: the ids, and CAP_SETFCAP, which mapping the
      // parent's root into a nested namespace needs (Linux 5.12)
      const caps = ['CAP_SETUID', 'CAP_SETGID', 'CAP_SETFCAP', 'CAP_SYS_ADMIN', 'CAP_DAC_OVERRIDE'];
      c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
    });
    const res = rt(u, r, ['run', '-b', b, uniqueId('maps')]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(/raised-uid|raised-gid|setgroups\n|nested-host-root/);
    const lines = res.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter(Boolean);
    expect(lines[0]).toBe(`0 ${u.uid} 1`);
    expect(lines[1]).toBe('0 0 1'); // the nested root maps to the container's root, the user, nothing more
  });

  it('cannot see host processes', () => {
    const script = 'ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline | tr "\\0" " "; echo; ls /proc/' + process.pid + ' >/dev/null 2>&1 && echo se""es-host; true';
    const b = bundle(u, rootlessConfig(u, ['sh', '-c', script]));
    const res = rt(u, r, ['run', '-b', b, uniqueId('procs')]);
    expect(res.code, res.stderr).toBe(0);
    const [count, init] = res.stdout.split('\n');
    // sh, ls and grep at most (the pipe's two, and the shell)
    expect(Number(count)).toBeGreaterThan(0);
    expect(Number(count)).toBeLessThanOrEqual(3);
    expect(init.trim()).toBe(`sh -c ${script}`);
    // the test's own pid is a host pid: the container's /proc must not have it, unless it happens to be small
    if (process.pid > 10) expect(res.stdout).not.toMatch(/^sees-host$/m);
  });

  it("another user's state directory is refused: state, exec, kill and delete", () => {
    const id = uniqueId('mine');
    const b = bundle(u, rootlessConfig(u, ['sleep', '100']));
    expect(rt(u, r, ['run', '-d', '-b', b, id]).code).toBe(0);
    const root = path.join(u.xdg, r.dir);
    for (const args of [['state', id], ['exec', id, 'true'], ['kill', id, 'KILL'], ['delete', '--force', id]]) {
      const res = rt(other, r, ['--root', root, ...args]);
      // runc's exec fails with 255
      expect(res.code, `${args.join(' ')}: ${res.stdout}`).toBe(r.name === 'runc' && args[0] === 'exec' ? 255 : 1);
      expect(res.stderr).toMatch(/permission denied/);
    }
    expect(stateOf(u, r, id)?.status).toBe('running');
    expect(rt(u, r, ['delete', '--force', id]).code).toBe(0);
  });
});

describe.skipIf(!ok)('rootless security, tsrun only', () => {
  afterEach(() => {
    const shared = path.join(u.base, 'shared');
    for (const x of [u, other]) {
      deleteAll(x, RUNTIMES[0], shared);
      expect(leftovers(x, RUNTIMES[0], shared)).toEqual([]);
    }
  });

  it("refuses a state directory another user made readable under a shared --root (its pids, hooks)", () => {
    const shared = path.join(u.base, 'shared');
    fs.mkdirSync(shared, { mode: 0o1777 });
    fs.chmodSync(shared, 0o1777);
    const t = RUNTIMES[0];
    const id = uniqueId('shared');
    // the other user's container, whose state it opens to everyone
    const b = bundle(other, rootlessConfig(other, ['sleep', '100']));
    expect(rt(other, t, ['--root', shared, 'run', '-d', '-b', b, id]).code).toBe(0);
    expect(other.run(['chmod', '-R', 'a+rX', path.join(shared, id)]).code).toBe(0);
    for (const args of [['state', id], ['kill', id, 'KILL'], ['delete', '--force', id], ['exec', id, 'true'], ['ps', id]]) {
      const res = rt(u, t, ['--root', shared, ...args]);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`its state directory .* belongs to uid ${other.uid}, not to this user \\(uid ${u.uid}\\)`));
    }
    expect(JSON.parse(rt(other, t, ['--root', shared, 'state', id]).stdout).status).toBe('running');
    expect(rt(other, t, ['--root', shared, 'delete', '--force', id]).code).toBe(0);
    expect(leftovers(other, t, shared)).toEqual([]);
  });
});
