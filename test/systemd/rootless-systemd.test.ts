// --systemd-cgroup as a user who is not root, beside runc on the same checks. In the lab (test/systemd/lab.ts)
// root starts the user's own systemd (user@UID.service, as logind does at login) with its user bus
// (dbus-user-session). On cgroup v2 (test/systemd/run-v2.sh) the container's scope goes to that manager, below
// its delegated subtree, and the limits hold there; on cgroup v1 both runtimes refuse, leaving nothing behind.
// Also here: root in a user namespace (how podman runs a rootless container's runtime) reaches the same manager,
// and a user with no bus gets a clear error.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSRUN, haveProgram, precondition, type Config, type Result } from '../helpers/harness';
import { PURE_V2 } from '../rootless/delegation';
import { bundle as rlBundle, rootlessConfig } from '../rootless/runtimes';
import { TestUser } from '../rootless/user';
import { SystemdLab } from './lab';

const RUNC = '/usr/sbin/runc';
const ok =
  SystemdLab.available() &&
  precondition(haveProgram(RUNC), `${RUNC} is not installed (make systemd-lab-deps installs it)`) &&
  precondition(haveProgram('useradd') && haveProgram('setpriv'), 'useradd or setpriv is missing') &&
  precondition(fs.existsSync('/usr/lib/systemd/user/dbus.socket'), 'dbus-user-session is not installed (make systemd-lab-deps installs it)');
const SLOW = process.env.CGV2_VM ? 6 : 1;
const RUNTIMES = [['runc', RUNC], ['tsrun', TSRUN]] as const;

describe.skipIf(!ok)('--systemd-cgroup as a user who is not root', () => {
  let user: TestUser;
  let lab: SystemdLab;
  let managerCg = '';

  beforeAll(() => {
    // made before the lab boots: the lab's root is an overlay of the host's, taken at boot
    user = new TestUser('sd');
    lab = new SystemdLab({ binds: [user.base] });
    lab.start();
    // a user namespace may mount proc only where proc is fully visible: the lab's read-only /proc/sys (there
    // against systemd's writes at boot) is dropped once it has booted
    lab.run(['sh', '-c', 'for m in /proc/sys /proc/sysrq-trigger; do if mountpoint -q $m; then umount -l $m || exit 1; fi; done']);
    expect(lab.run(['cat', '/proc/self/mountinfo']).split('\n').filter((l) => / \/proc\/\S+ /.test(l))).toEqual([]);
    lab.run(['systemctl', 'start', `user@${user.uid}.service`], { timeoutMs: 60_000 * SLOW });
    managerCg = lab.run(['systemctl', 'show', '-p', 'ControlGroup', '--value', `user@${user.uid}.service`]).trim();
  }, 150_000 * SLOW);

  afterAll(() => {
    const left: string[] = [];
    if (lab) {
      for (const [name, bin] of RUNTIMES) {
        const dir = path.join(user.home, name);
        for (const id of fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')) : []) {
          asUser([bin, '--systemd-cgroup', '--root', dir, 'delete', '--force', id]);
        }
      }
      lab.exec(['systemctl', 'stop', `user@${user.uid}.service`], { timeoutMs: 60_000 * SLOW });
      lab.stop();
      left.push(...lab.leftovers());
    }
    if (user) left.push(...user.cleanup());
    expect(left).toEqual([]);
  }, 150_000 * SLOW);

  /** argv run in the lab as the user, in its login's environment (the lab clears the D-Bus variables). */
  function asUser(argv: string[], env: Record<string, string> = {}, wrap: string[] = []): Result {
    const vars = { XDG_RUNTIME_DIR: `/run/user/${user.uid}`, HOME: user.home, USER: user.name, ...env };
    return lab.exec(
      ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', ...wrap, 'env', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...argv],
      { cwd: user.home, timeoutMs: 60_000 * SLOW },
    );
  }
  const rt = (bin: string, name: string, env: Record<string, string> = {}, wrap: string[] = []) => (...args: string[]) =>
    asUser([bin, '--systemd-cgroup', '--root', path.join(user.home, name), ...args], env, wrap);
  /** A property of a unit of the user's manager. */
  const show = (unit: string, prop: string) => asUser(['systemctl', '--user', 'show', '-p', prop, '--value', unit]).stdout.trim();
  const unitGone = (unit: string) => asUser(['systemctl', '--user', 'list-units', '--all', '--no-legend', unit]).stdout.trim() === '';
  /** A file of the unit's cgroup, read inside the lab (its cgroup namespace). */
  const cgFile = (unit: string, file: string) => lab.exec(['cat', `/sys/fs/cgroup${managerCg}/user.slice/${unit}/${file}`]);
  /** A bundle the user owns, from `spec --rootless`; `hostId` 0 maps root to root (inside `unshare -r`). */
  const bundle = (edit: (c: Config) => void, hostId?: number): string =>
    rlBundle(user, rootlessConfig(user, ['sleep', '300']), (c) => {
      if (hostId !== undefined) {
        c.linux.uidMappings = [{ containerID: 0, hostID: hostId, size: 1 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: hostId, size: 1 }];
      }
      edit(c);
    });

  describe.runIf(PURE_V2)('on cgroup v2: the scope in the user\'s manager', () => {
    const seen: Record<string, Record<string, string>> = {};
    for (const [name, bin] of RUNTIMES) {
      it(`${name}: create puts the init in a scope of the user's systemd, with the limits; start, pause, resume, update, ps; delete leaves nothing`, () => {
        const id = `usd-${name}-${process.pid}`;
        const unit = `${name}-${id}.scope`;
        const run = rt(bin, name);
        const values: Record<string, string> = (seen[name] = {});
        try {
          let r = run('create', '--bundle', bundle((c) => (c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 50 } })), id);
          expect(r.code, r.stderr).toBe(0);
          expect(show(unit, 'ActiveState')).toBe('active');
          for (const p of ['Delegate', 'Slice', 'MemoryMax', 'TasksMax', 'ControlGroup']) values[p] = show(unit, p);
          expect(values).toEqual({ Delegate: 'yes', Slice: 'user.slice', MemoryMax: String(64 << 20), TasksMax: '50', ControlGroup: `${managerCg}/user.slice/${unit}` });
          expect(cgFile(unit, 'memory.max').stdout.trim()).toBe(String(64 << 20));
          expect(cgFile(unit, 'pids.max').stdout.trim()).toBe('50');
          const init = JSON.parse(run('state', id).stdout).pid as number;
          expect(cgFile(unit, 'cgroup.procs').stdout.split('\n').filter(Boolean).map(Number)).toEqual([init]);

          expect(run('start', id).code).toBe(0);
          expect(JSON.parse(run('state', id).stdout).status).toBe('running');
          r = run('pause', id);
          expect(r.code, r.stderr).toBe(0);
          expect(JSON.parse(run('state', id).stdout).status).toBe('paused');
          expect(cgFile(unit, 'cgroup.freeze').stdout.trim()).toBe('1');
          expect(run('resume', id).code).toBe(0);
          r = run('update', '--memory', String(32 << 20), '--pids-limit', '40', id);
          expect(r.code, r.stderr).toBe(0);
          values.updatedMemory = show(unit, 'MemoryMax');
          values.updatedTasks = show(unit, 'TasksMax');
          expect([values.updatedMemory, values.updatedTasks]).toEqual([String(32 << 20), '40']);
          expect(cgFile(unit, 'memory.max').stdout.trim()).toBe(String(32 << 20));
          if (name === 'tsrun') expect(JSON.parse(run('ps', '--format', 'json', id).stdout)).toEqual([init]); // runc's ps -ef fails in the lab

          expect(run('kill', id, 'KILL').code).toBe(0);
          r = run('delete', '--force', id);
          expect(r.code, r.stderr).toBe(0);
          expect(unitGone(unit)).toBe(true);
          expect(cgFile(unit, 'cgroup.procs').code).not.toBe(0);
        } finally {
          run('delete', '--force', id);
        }
      }, 120_000 * SLOW);
    }

    it('gives the user\'s systemd the same properties as runc does', () => {
      const strip = (v: Record<string, string>) => ({ ...v, ControlGroup: v.ControlGroup?.replace(/(runc|tsrun)-usd-(runc|tsrun)-/, 'X-') });
      expect(strip(seen.tsrun)).toEqual(strip(seen.runc));
    });

    const forks: Record<string, string> = {};
    for (const [name, bin] of RUNTIMES) {
      it(`${name}: the limits hold in the delegated subtree (a fork past pids.max fails)`, () => {
        const id = `usd-pids-${name}-${process.pid}`;
        // busybox sh gives up (exit 2) at the first fork that fails
        const script = 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & echo started $i; done';
        const r = rt(bin, name)('run', '--bundle', bundle((c) => ((c.linux.resources = { pids: { limit: 6 } }), (c.process.args = ['sh', '-c', script]))), id);
        forks[name] = `${r.code} ${r.stdout.trim().split('\n').pop()}`;
        expect(`${r.stdout}${r.stderr}`).toMatch(/can't fork|Resource temporarily unavailable/);
        expect(r.stdout).not.toMatch(/started 10/);
        expect(unitGone(`${name}-${id}.scope`)).toBe(true);
      }, 120_000 * SLOW);
    }

    it('the fork fails at the same point under both runtimes', () => {
      expect(forks.tsrun).toBe(forks.runc);
    });

    for (const [name, bin] of RUNTIMES) {
      it(`${name}: root in a user namespace (podman's rootless runtime) finds the user's manager through the bus owner`, () => {
        const id = `usd-userns-${name}-${process.pid}`;
        const unit = `${name}-${id}.scope`;
        // as podman does it: the user is root in a user and mount namespace of its own; rootless is "auto", decided
        // from busctl's OwnerUID
        const run = rt(bin, name, {}, ['unshare', '--user', '--map-root-user', '--mount', '--']);
        try {
          const r = run('create', '--bundle', bundle((c) => (c.linux.resources = { pids: { limit: 20 } }), 0), id);
          expect(r.code, r.stderr).toBe(0);
          expect(show(unit, 'ControlGroup')).toBe(`${managerCg}/user.slice/${unit}`);
          expect(cgFile(unit, 'pids.max').stdout.trim()).toBe('20');
          expect(run('delete', '--force', id).code).toBe(0);
          expect(unitGone(unit)).toBe(true);
        } finally {
          run('delete', '--force', id);
        }
      }, 120_000 * SLOW);
    }
  });

  describe.runIf(!PURE_V2)('on cgroup v1: refused, as runc refuses it', () => {
    for (const [name, bin] of RUNTIMES) {
      it(`${name}: create fails with exit 1 and leaves no unit, state or process`, () => {
        const id = `usd-v1-${name}-${process.pid}`;
        const r = rt(bin, name)('create', '--bundle', bundle((c) => (c.linux.resources = { pids: { limit: 20 } })), id);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(name === 'runc' ? /cannot use rootless systemd cgroups manager on cgroup v1/ : /^tsrun: --systemd-cgroup for a rootless container needs cgroup v2 \(this host has cgroup v1, hybrid/);
        expect(unitGone(`${name}-${id}.scope`)).toBe(true);
        expect(fs.existsSync(path.join(user.home, name, id))).toBe(false);
        expect(leftInit(user.uid)).toEqual([]);
      }, 60_000 * SLOW);
    }
  });

  it('tsrun with no user bus: a clear error, exit 1, nothing left', () => {
    const id = `usd-nobus-${process.pid}`;
    const r = rt(TSRUN, 'tsrun', { XDG_RUNTIME_DIR: user.mkdir('no-bus-here') })('create', '--bundle', bundle(() => undefined), id);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(PURE_V2 ? /needs the user's D-Bus: DBUS_SESSION_BUS_ADDRESS is not set and \S+\/no-bus-here\/bus does not exist/ : /needs cgroup v2/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(user.home, 'tsrun', id))).toBe(false);
    expect(unitGone(`tsrun-${id}.scope`)).toBe(true);
    expect(leftInit(user.uid)).toEqual([]);
  }, 60_000 * SLOW);
});

/** The user's container processes left on the host (its systemd and dbus-daemon are not ones). */
function leftInit(uid: number): string[] {
  const r = spawnSync('ps', ['-o', 'pid=,comm=', '-u', String(uid)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /tsrun-init|sleep|runc/.test(l));
}
