// Rootless containers (issue 16 item 1), as a real user who is not root (user.ts), tsrun beside runc 1.1.5 on
// the same checks: the config `spec --rootless` writes runs as is, with a terminal; the default state root;
// every command of a container's life; no cgroup where the user may make none, and a limit that cannot be
// applied refused as runc refuses it; uid and gid ranges through newuidmap and newgidmap; --rootless.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestUser, rootlessAvailable } from './user';
import { RUNTIMES, bundle, deleteAll, leftovers, rootlessConfig, rt, stateOf, uniqueId, until, type Runtime } from './runtimes';

const ok = rootlessAvailable();
let u: TestUser;
const ownCgroup = fs.readFileSync('/proc/self/cgroup', 'utf8');

beforeAll(() => {
  if (ok) u = new TestUser('core');
});

afterAll(() => {
  if (!u) return;
  for (const r of RUNTIMES) deleteAll(u, r);
  expect(u.cleanup()).toEqual([]);
});

/** The numbers of /proc/PID/uid_map-style text, one line each. */
const mapLines = (text: string) => text.replace(/\r/g, '').split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter(Boolean);

describe.skipIf(!ok).each(RUNTIMES)('rootless $name', (r: Runtime) => {
  afterEach(() => {
    deleteAll(u, r);
    expect(leftovers(u, r)).toEqual([]);
  });

  it('spec --rootless writes a config that runs as is, with a terminal (run -t)', () => {
    const dir = u.mkdir(`as-is-${r.name}`);
    expect(u.run(['cp', '-a', u.rootfs, path.join(dir, 'rootfs')]).code).toBe(0);
    const spec = rt(u, r, ['spec', '--rootless'], { cwd: dir });
    expect(spec.code, spec.stderr).toBe(0);
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(c.process.terminal).toBe(true);
    expect(c.linux.namespaces.map((n: { type: string }) => n.type)).toContain('user');
    expect(c.linux.namespaces.map((n: { type: string }) => n.type)).not.toContain('network');
    expect(c.linux.uidMappings).toEqual([{ containerID: 0, hostID: u.uid, size: 1 }]);
    expect(c.linux.gidMappings).toEqual([{ containerID: 0, hostID: u.gid, size: 1 }]);
    expect(c.linux.resources).toBeUndefined();
    // `script` gives the runtime a terminal; the shell reads the lines below from it
    const id = uniqueId('tty');
    const res = u.run(['script', '-qec', `${r.bin} run ${id}`, '/dev/null'], {
      cwd: dir,
      input: 'id -u; cat /proc/self/uid_map; tty; exit 3\n',
    });
    const out = res.stdout.replace(/\r/g, '');
    expect(res.code, out + res.stderr).toBe(3);
    expect(out).toMatch(/^0$/m);
    expect(mapLines(out)).toContain(`0 ${u.uid} 1`);
    expect(out).toMatch(/^\/dev\/pts\/\d+$/m);
  });

  it('keeps its state in $XDG_RUNTIME_DIR, 0700 with the sticky bit, owned by the user', () => {
    const id = uniqueId('root');
    const b = bundle(u, rootlessConfig(u, ['sleep', '100']));
    const c = rt(u, r, ['create', '-b', b, id]);
    expect(c.code, c.stderr).toBe(0);
    const root = path.join(u.xdg, r.dir);
    const st = fs.statSync(root);
    expect((st.mode & 0o7777).toString(8)).toBe('1700');
    expect(st.uid).toBe(u.uid);
    expect(fs.existsSync(path.join(root, id))).toBe(true);
    expect(rt(u, r, ['delete', '--force', id]).code).toBe(0);
    expect(fs.existsSync(path.join(root, id))).toBe(false);
  });

  it('create, state, start, exec, list, ps, pause, events, update, kill --all and delete as the user; the container stays in its cgroups', async () => {
    const id = uniqueId('life');
    const b = bundle(u, rootlessConfig(u, ['sleep', '100']));
    const c = rt(u, r, ['create', '-b', b, id]);
    expect(c.code, c.stderr).toBe(0);
    const created = stateOf(u, r, id)!;
    expect(created.status).toBe('created');
    // the init is the user's on the host, and in the user's own cgroups: none was made for it
    expect(fs.statSync(`/proc/${created.pid}`).uid).toBe(u.uid);
    expect(fs.readFileSync(`/proc/${created.pid}/cgroup`, 'utf8')).toBe(ownCgroup);
    expect(rt(u, r, ['start', id]).code).toBe(0);
    expect(stateOf(u, r, id)!.status).toBe('running');

    const e = rt(u, r, ['exec', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout.split('\n')[0]).toBe('0');
    expect(mapLines(e.stdout).slice(1)).toEqual([`0 ${u.uid} 1`, `0 ${u.gid} 1`, 'deny']);

    const list = rt(u, r, ['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+${created.pid}\\s+running\\s.*\\s${u.name}\\s*$`, 'm'));

    const ps = rt(u, r, ['ps', '--format', 'json', id]);
    if (r.name === 'tsrun') {
      // no cgroup: tsrun finds the processes by the container's pid namespace
      expect(ps.code, ps.stderr).toBe(0);
      expect(JSON.parse(ps.stdout)).toEqual([created.pid]);
    } else {
      // runc 1.1.5 reads its (missing) cgroup
      expect(ps.code).toBe(1);
      expect(ps.stderr).toMatch(/unable to get all container pids/);
    }
    // no freezer cgroup to pause with, for either
    const pause = rt(u, r, ['pause', id]);
    expect(pause.code).toBe(1);
    expect(pause.stderr).toMatch(r.name === 'tsrun' ? /has no cgroup to freeze/ : /cgroups not configured for container|freezer not supported/);
    expect(stateOf(u, r, id)!.status).toBe('running');

    // stats without a cgroup: zeros, for both
    const ev = rt(u, r, ['events', '--stats', id]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout)).toMatchObject({ type: 'stats', id });
    const up = rt(u, r, ['update', '--memory', '64m', id]);
    expect(up.code).toBe(1);
    // runc 1.1.5: v1, then v2
    expect(up.stderr).toMatch(r.name === 'tsrun' ? /has no cgroup to update/ : /cannot set memory limit: container could not join or create cgroup|memory\.max: no such file or directory/);

    // kill --all: tsrun signals the processes it finds by the pid namespace; runc 1.1.5 looks for its cgroup
    expect(rt(u, r, ['exec', '-d', id, 'sleep', '50']).code).toBe(0);
    const all = rt(u, r, ['kill', '--all', id, 'KILL']);
    if (r.name === 'tsrun') {
      expect(all.code, all.stderr).toBe(0);
    } else {
      expect(all.code).toBe(1);
      expect(all.stderr).toMatch(/no such file or directory/);
      expect(rt(u, r, ['kill', id, 'KILL']).code).toBe(0);
    }
    await until('stopped', () => stateOf(u, r, id)?.status === 'stopped');
    await until('no process of the user left', () => u.pids().length === 0);
    const d = rt(u, r, ['delete', id]);
    expect(d.code, d.stderr).toBe(0);
    expect(stateOf(u, r, id)).toBeUndefined();
  });

  it('device rules are not applied (root\'s business), and the container runs', () => {
    const b = bundle(u, rootlessConfig(u, ['true']), (c) => {
      c.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
    });
    const res = rt(u, r, ['run', '-b', b, uniqueId('dev')]);
    expect(res.code, res.stderr).toBe(0);
  });

  it.each([
    ['memory', { memory: { limit: 64 << 20 } }],
    ['pids', { pids: { limit: 50 } }],
  ])('a %s limit that no cgroup can carry fails create, and nothing is left', (ctrl, resources) => {
    const b = bundle(u, rootlessConfig(u, ['true']), (c) => {
      c.linux.resources = resources;
    });
    const res = rt(u, r, ['run', '-b', b, uniqueId('limit')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      r.name === 'tsrun'
        ? new RegExp(`\\$\\.linux\\.resources\\.${ctrl}\\.limit: cannot apply: a rootless container could not create or join its (${ctrl} )?cgroup`)
        : // runc 1.1.5, v1 and v2
          new RegExp(`cannot set ${ctrl} limit: container could not join or create cgroup|rootless needs no limits \\+ no cgrouppath when no permission is granted for cgroups`),
    );
    expect(leftovers(u, r)).toEqual([]);
  });

  it('a cgroupsPath the user cannot write is an error (permission denied), and nothing is left', () => {
    const b = bundle(u, rootlessConfig(u, ['true']), (c) => {
      c.linux.cgroupsPath = `/tsrun-rootless-${process.pid}`;
    });
    const res = rt(u, r, ['run', '-b', b, uniqueId('cgpath')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/mkdir|create the cgroup/);
    expect(res.stderr).toMatch(/permission denied/);
    expect(leftovers(u, r)).toEqual([]);
  });

  it('maps ranges from /etc/subuid and /etc/subgid through newuidmap and newgidmap', () => {
    const shared = u.mkdir(`ranges-${r.name}`);
    fs.chmodSync(shared, 0o777); // for the container's uid 1
    const b = bundle(u, rootlessConfig(u, ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; touch /w/f']), (c) => {
      c.process.user = { uid: 1, gid: 2 };
      c.linux.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }, { containerID: 1, hostID: u.subuid.start, size: 1000 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: u.gid, size: 1 }, { containerID: 1, hostID: u.subgid.start, size: 1000 }];
      c.mounts.push({ destination: '/w', type: 'bind', source: shared, options: ['rbind', 'rw'] });
    });
    const res = rt(u, r, ['run', '-b', b, uniqueId('ranges')]);
    expect(res.code, res.stderr).toBe(0);
    expect(mapLines(res.stdout)).toEqual([
      `0 ${u.uid} 1`, `1 ${u.subuid.start} 1000`,
      `0 ${u.gid} 1`, `1 ${u.subgid.start} 1000`,
      'allow',
    ]);
    // the container's uid 1 and gid 2 are the user's first subordinate uid and second gid on the host
    const st = fs.statSync(path.join(shared, 'f'));
    expect([st.uid, st.gid]).toEqual([u.subuid.start, u.subgid.start + 1]);
  });

  it('--rootless true runs; --rootless false fails on the cgroups (permission denied) and leaves nothing', () => {
    const b = bundle(u, rootlessConfig(u, ['true']));
    const yes = rt(u, r, ['--rootless', 'true', 'run', '-b', b, uniqueId('rl-true')]);
    expect(yes.code, yes.stderr).toBe(0);
    const no = rt(u, r, ['--rootless', 'false', 'run', '-b', b, uniqueId('rl-false')]);
    expect(no.code).toBe(1);
    expect(no.stderr).toMatch(/permission denied/);
    expect(no.stderr).not.toMatch(/internal error/);
    expect(leftovers(u, r)).toEqual([]);
  });
});
