// tsrun --systemd-cgroup against a real systemd (the lab of test/systemd/lab.ts), beside runc --systemd-cgroup on
// the same checks: the transient scope and its properties, the init in the scope's cgroup in every hierarchy,
// start, pause/resume, update, ps, kill --all, events --stats, delete leaving no unit or cgroup; then bad input
// and faults, each leaving nothing behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, TSRUN, baseConfig, haveProgram, precondition, type Config } from '../helpers/harness';
import { SystemdLab } from './lab';

const RUNC = '/usr/sbin/runc';
const ok = SystemdLab.available() && precondition(haveProgram(RUNC), `${RUNC} is not installed (make test-systemd installs it)`);
const SLOW = process.env.CGV2_VM ? 6 : 1;


describe.skipIf(!ok)('the systemd cgroup driver, against a real systemd', () => {
  let lab: SystemdLab;
  let rootfs: string;
  let seq = 0;

  beforeAll(() => {
    lab = new SystemdLab();
    lab.start();
    rootfs = path.join(lab.dir, 'rootfs');
    const made = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), rootfs], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
  }, 150_000);

  afterAll(() => {
    if (!lab) return;
    lab.deleteLeftContainers([
      [TSRUN, 'tsrun'],
      [RUNC, 'runc'],
    ]);
    lab.stop();
    expect(lab.leftovers()).toEqual([]);
  }, 150_000);

  const procsInside = (dir: string) => lab.run(['cat', `${dir}/cgroup.procs`]).split('\n').filter(Boolean).map(Number);
  const bundle = (edit: (c: Config) => void): string => {
    const dir = path.join(lab.dir, `bundle-${++seq}`);
    fs.mkdirSync(dir);
    const c = baseConfig(rootfs);
    c.process.args = ['sleep', '300'];
    edit(c);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    return dir;
  };
  // env through env(1): lab.sh exec clears the D-Bus variables of the caller's environment
  const rt = (bin: string, name: string, env: Record<string, string> = {}) => (...args: string[]) =>
    lab.exec(['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), bin, '--systemd-cgroup', '--root', path.join(lab.dir, name), ...args]);
  const show = (unit: string, prop: string) => lab.run(['systemctl', 'show', '-p', prop, '--value', unit]).trim();
  const unitGone = (unit: string) =>
    lab.exec(['systemctl', 'status', '--no-pager', unit]).code === 4 && lab.run(['systemctl', 'list-units', '--all', '--no-legend', unit]).trim() === '';

  // The same checks for both runtimes; what each saw, for the comparison after.
  const seen: Record<string, Record<string, string>> = {};
  for (const [name, bin] of [['runc', RUNC], ['tsrun', TSRUN]] as const) {
    it(`${name}: create puts the init in a transient scope with the resources; start, pause, resume, update, ps; delete leaves nothing`, () => {
      const id = `sd-${name}-${process.pid}`;
      const unit = `${name}-${id}.scope`;
      const run = rt(bin, name);
      const b = bundle((c) => {
        c.linux.cgroupsPath = `system.slice:${name}:${id}`;
        c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20 }, cpu: { shares: 512, quota: 50_000, period: 100_000 }, pids: { limit: 50 } };
      });
      const dirs = lab.hostCgroups(`/system.slice/${unit}`);
      const v1 = Object.keys(dirs).length > 1;
      const values: Record<string, string> = (seen[name] = {});
      try {
        let r = run('create', '--bundle', b, id);
        expect(r.code, r.stderr).toBe(0);
        expect(show(unit, 'ActiveState')).toBe('active');
        for (const p of ['Delegate', 'Slice', v1 ? 'MemoryLimit' : 'MemoryMax', 'TasksMax', 'CPUQuotaPerSecUSec', v1 ? 'CPUShares' : 'CPUWeight']) values[p] = show(unit, p);
        expect(values.Delegate).toBe('yes');
        expect(values.Slice).toBe('system.slice');
        expect(values[v1 ? 'MemoryLimit' : 'MemoryMax']).toBe(String(64 << 20));
        expect(values.TasksMax).toBe('50');
        expect(values.CPUQuotaPerSecUSec).toBe('500ms');
        const init = JSON.parse(run('state', id).stdout).pid as number;
        // pids as the lab sees them: read inside it
        for (const m of Object.keys(dirs)) expect(procsInside(`${m}/system.slice/${unit}`), m).toEqual([init]);
        const mem = Object.entries(dirs).find(([m]) => m.endsWith('/memory') || !v1)![1];
        expect(fs.readFileSync(path.join(mem, v1 ? 'memory.limit_in_bytes' : 'memory.max'), 'utf8').trim()).toBe(String(64 << 20));

        expect(run('start', id).code).toBe(0);
        expect(JSON.parse(run('state', id).stdout).status).toBe('running');
        expect(run('pause', id).code).toBe(0);
        expect(JSON.parse(run('state', id).stdout).status).toBe('paused');
        expect(run('resume', id).code).toBe(0);
        r = run('update', '--memory', String(100 << 20), '--pids-limit', '60', id);
        expect(r.code, r.stderr).toBe(0);
        values.updatedMemory = show(unit, v1 ? 'MemoryLimit' : 'MemoryMax');
        values.updatedTasks = show(unit, 'TasksMax');
        expect(values.updatedMemory).toBe(String(100 << 20));
        expect(values.updatedTasks).toBe('60');
        expect(fs.readFileSync(path.join(mem, v1 ? 'memory.limit_in_bytes' : 'memory.max'), 'utf8').trim()).toBe(String(100 << 20));
        expect(JSON.parse(run('ps', '--format', 'json', id).stdout)).toEqual([init]);

        expect(run('kill', id, 'KILL').code).toBe(0);
        r = run('delete', '--force', id);
        expect(r.code, r.stderr).toBe(0);
        expect(unitGone(unit)).toBe(true);
        for (const [m, d] of Object.entries(dirs)) expect(fs.existsSync(d), m).toBe(false);
      } finally {
        run('delete', '--force', id);
      }
    }, 60_000 * SLOW);
  }

  it('gives systemd the same properties as runc does', () => {
    expect(seen.tsrun).toEqual(seen.runc);
  });

  // Device rules: systemd enforces its DevicePolicy/DeviceAllow (on v2 its own BPF program) and the runtime its
  // rules in the same cgroup (v1 devices.* files, v2 a second BPF program): both must let through the same.
  // /dev/null is in the runtimes' default allowed set; /dev/full (1:7) is not, so only the config's rule (read)
  // lets it through (an allowed write would say "No space left"); /dev/loop-control has no rule at all
  const DEVICE_PROBE = [
    'echo x >/dev/null && echo null-write-ok',
    'head -c1 /dev/full >/dev/null && echo full-read-ok',
    '(echo x >/dev/full) 2>&1',
    '(: </dev/loop-control) 2>&1',
    'true',
  ].join('; ');
  const deviceRuns: Record<string, { out: string; policy: string; allow: string }> = {};
  for (const [name, bin] of [['runc', RUNC], ['tsrun', TSRUN]] as const) {
    it(`${name}: device rules hold under systemd's and the runtime's enforcement together`, () => {
      const id = `sd-dev-${name}-${process.pid}`;
      const unit = `${name}-${id}.scope`;
      const run = rt(bin, name);
      const devicesBundle = (args: string[]) =>
        bundle((c) => {
          c.linux.cgroupsPath = `system.slice:${name}:${id}`;
          c.linux.devices = [
            { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666 },
            { path: '/dev/loop-control', type: 'c', major: 10, minor: 237, fileMode: 0o666 },
          ];
          const rules = [
            { allow: false, access: 'rwm' },
            { allow: true, type: 'c', major: 1, minor: 7, access: 'r' },
          ];
          c.linux.resources = { ...c.linux.resources, devices: rules };
          c.process.args = args;
        });
      let policy = '';
      let allow = '';
      try {
        // the unit's properties while it runs
        expect(run('run', '--detach', '--bundle', devicesBundle(['sleep', '300']), id).code).toBe(0);
        policy = show(unit, 'DevicePolicy');
        allow = show(unit, 'DeviceAllow');
      } finally {
        run('delete', '--force', id);
      }
      const fg = run('run', '--bundle', devicesBundle(['sh', '-c', DEVICE_PROBE]), id);
      expect(fg.code, fg.stderr).toBe(0);
      deviceRuns[name] = { out: fg.stdout, policy, allow: allow.split('\n').sort().join('\n') }; // order differs
      const lines = fg.stdout.trim().split('\n');
      expect(lines.slice(0, 2)).toEqual(['null-write-ok', 'full-read-ok']);
      expect(lines[2]).toMatch(/\/dev\/full.*Operation not permitted/);
      expect(lines[3]).toMatch(/\/dev\/loop-control.*Operation not permitted/);
      expect(lines).toHaveLength(4);
      expect(unitGone(unit)).toBe(true);
    }, 60_000 * SLOW);
  }

  it('gives systemd the same device properties as runc does, with the same effect', () => {
    expect(deviceRuns.tsrun).toEqual(deviceRuns.runc);
    expect(deviceRuns.tsrun.policy).toBe('strict');
  });

  // the unit holds the container's processes only: a foreground run's waiting stage 0 is not counted in pids.max
  const forks: Record<string, string> = {};
  for (const [name, bin] of [['runc', RUNC], ['tsrun', TSRUN]] as const) {
    it(`${name}: a foreground run's pids limit counts the container's processes only`, () => {
      const id = `sd-fork-${name}-${process.pid}`;
      const b = bundle((c) => {
        c.linux.cgroupsPath = `system.slice:${name}:${id}`;
        c.linux.resources = { ...c.linux.resources, pids: { limit: 6 } };
        c.process.args = ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & echo started $i; done'];
      });
      const r = rt(bin, name)('run', '--bundle', b, id);
      // busybox sh gives up (exit 2) at the first fork that fails: sh and five sleeps fit in 6
      forks[name] = `${r.code} ${r.stdout.trim().split('\n').pop()}`;
      expect(`${r.stdout}${r.stderr}`).toMatch(/can't fork/);
      expect(unitGone(`${name}-${id}.scope`)).toBe(true);
    }, 60_000 * SLOW);
  }

  it('stops the forks at the same point as runc', () => {
    expect(forks.tsrun).toBe(forks.runc);
    expect(forks.tsrun).toBe('2 started 5');
  });

  it('tsrun: kill --all and events --stats reach the unit\'s cgroup; a foreground run leaves no unit', () => {
    const id = `sd-all-${process.pid}`;
    const unit = `tsrun-${id}.scope`;
    const run = rt(TSRUN, 'tsrun');
    const b = bundle((c) => {
      c.linux.cgroupsPath = `:tsrun:${id}`; // the default slice
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
      c.process.args = ['sh', '-c', 'sleep 300 & sleep 300 & wait'];
    });
    try {
      expect(run('run', '--detach', '--bundle', b, id).code).toBe(0);
      expect(show(unit, 'Slice')).toBe('system.slice');
      const stats = JSON.parse(run('events', '--stats', id).stdout.trim().split('\n')[0]);
      expect(stats.type).toBe('stats');
      expect(stats.data.pids.current).toBe(3);
      expect(run('kill', '--all', id, 'KILL').code).toBe(0);
      expect(JSON.parse(run('state', id).stdout).status).toBe('stopped');
      expect(run('delete', id).code).toBe(0);
      expect(unitGone(unit)).toBe(true);
      const fg = run('run', '--bundle', bundle((c) => ((c.linux.cgroupsPath = `tsrunlab-a.slice:tsrun:${id}`), (c.process.args = ['sh', '-c', 'cat /proc/self/cgroup']))), id);
      expect(fg.code, fg.stderr).toBe(0);
      // the nested slice, as systemd nests it (the container has its own cgroup namespace: ask the host)
      expect(Object.values(lab.hostCgroups('/tsrunlab.slice/tsrunlab-a.slice')).filter((d) => fs.existsSync(d)).length).toBeGreaterThan(0);
      expect(show('tsrunlab-a.slice', 'ActiveState')).toBe('active');
      expect(unitGone(unit)).toBe(true);
    } finally {
      run('delete', '--force', id);
      lab.exec(['systemctl', 'stop', 'tsrunlab.slice']); // slices stay, as with runc: not the container's
    }
  }, 60_000 * SLOW);

  it('bad input and an unreachable systemd: a clear error, exit 1, nothing left', () => {
    const run = rt(TSRUN, 'tsrun');
    const cases: [string, string, RegExp, Record<string, string>?][] = [
      ['/not/the/form', 'bad-form', /\$\.linux\.cgroupsPath: "\/not\/the\/form" is not in the systemd driver's form "slice:prefix:name"/],
      ['a--b.slice:tsrun:x', 'bad-slice', /names the slice "a--b\.slice", which systemd refuses/],
      ['system.slice:tsrun:x y', 'bad-name', /which systemd refuses \(only letters/],
      ['system.slice:tsrun:nobus', 'nobus', /connect to D-Bus at unix:path=\/nonexistent\/bus: no such socket/, { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/bus' }],
    ];
    for (const [cgroupsPath, id, message, env] of cases) {
      const r = rt(TSRUN, 'tsrun', env)('create', '--bundle', bundle((c) => (c.linux.cgroupsPath = cgroupsPath)), id);
      expect(r.code, cgroupsPath).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1); // one line, no cleanup warnings
      expect(fs.existsSync(path.join(lab.dir, 'tsrun', id))).toBe(false);
      expect(run('list', '-q').stdout.split('\n')).not.toContain(id);
    }
  }, 60_000 * SLOW);

  it('a bus without systemd on it: a clear error, nothing left', async () => {
    const busDir = path.join(lab.dir, 'other-bus');
    fs.mkdirSync(busDir, { recursive: true });
    const sock = path.join(busDir, 'bus');
    const daemon: ChildProcess = spawn('dbus-daemon', ['--session', '--nofork', `--address=unix:path=${sock}`], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      const id = `nosd-${process.pid}`;
      const r = rt(TSRUN, 'tsrun', { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${sock}` })('create', '--bundle', bundle((c) => (c.linux.cgroupsPath = `system.slice:tsrun:${id}`)), id);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`tsrun: systemd over D-Bus at unix:path=${sock}: systemd is not on this system bus (no org.freedesktop.systemd1)\n`);
      expect(fs.existsSync(path.join(lab.dir, 'tsrun', id))).toBe(false);
      expect(Object.values(lab.hostCgroups(`/system.slice/tsrun-${id}.scope`)).filter((d) => fs.existsSync(d))).toEqual([]);
    } finally {
      daemon.kill('SIGKILL');
    }
  }, 60_000 * SLOW);

  it('a tsrun killed during a systemd create leaves nothing that delete --force cannot remove', () => {
    for (const point of ['create:state-written', 'create:cgroup-made', 'create:ready']) {
      const id = `fault-${point.split(':')[1]}-${process.pid}`;
      const unit = `tsrun-${id}.scope`;
      const r = rt(TSRUN, 'tsrun', { TSRUN_FAULT: point })('create', '--bundle', bundle((c) => (c.linux.cgroupsPath = `system.slice:tsrun:${id}`)), id);
      expect(r.code, point).toBe(137);
      const d = rt(TSRUN, 'tsrun')('delete', '--force', id);
      expect(d.code, `${point}: ${d.stderr}`).toBe(0);
      expect(unitGone(unit), point).toBe(true);
      expect(Object.values(lab.hostCgroups(`/system.slice/${unit}`)).filter((x) => fs.existsSync(x)), point).toEqual([]);
      expect(fs.existsSync(path.join(lab.dir, 'tsrun', id)), point).toBe(false);
    }
  }, 60_000 * SLOW);
});
