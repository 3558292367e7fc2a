// The systemd lab (test/systemd/lab.ts) boots a real systemd without touching the host, transient scopes
// made through it live under the lab's cgroup in every hierarchy, and runc --systemd-cgroup drives a busybox
// container through its whole life there: the reference for tsrun's --systemd-cgroup driver.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, TSRUN, baseConfig, haveProgram, precondition } from '../helpers/harness';
import { SystemdLab } from './lab';

const RUNC = '/usr/sbin/runc';
const ok = SystemdLab.available() && precondition(haveProgram(RUNC), `${RUNC} is not installed (make test-systemd installs it)`) &&
  precondition(fs.existsSync(TSRUN), 'bin/tsrun is not built (make build)');
const HOST_UNITS = ['init.scope', 'system.slice', 'user.slice'];
// User-Mode Linux (test/systemd/run-v2.sh) runs every syscall through ptrace: far slower
const SLOW = process.env.CGV2_VM ? 6 : 1;

/** A listing of the host's /run/systemd and /run/dbus (both exist on this image, empty of sockets). */
function hostRunTree(): string[] {
  const r = spawnSync('find', ['/run/systemd', '/run/dbus'], { encoding: 'utf8' });
  return r.stdout.split('\n').sort();
}

/** init.scope, system.slice, user.slice at the root of the host's cgroup hierarchies (every cgroup mount). */
function hostRootUnits(): string[] {
  const roots = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2').map((f) => f[1]);
  return roots.flatMap((r) => HOST_UNITS.map((u) => path.join(r, u))).filter((p) => fs.existsSync(p));
}

function procs(dir: string): number[] {
  return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

async function until(what: string, cond: () => boolean, ms = 10_000 * SLOW): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!ok)('systemd lab', () => {
  let lab: SystemdLab;
  const marker = path.join(os.tmpdir(), `tsrun-systemd-lab-marker-${process.pid}`);
  let runBefore: string[] = [];
  let rootUnitsBefore: string[] = [];

  beforeAll(() => {
    fs.writeFileSync(marker, 'host /tmp must survive the lab\n');
    runBefore = hostRunTree();
    rootUnitsBefore = hostRootUnits();
    lab = new SystemdLab();
    lab.start();
    console.log(`systemd lab booted in ${lab.bootMs} ms (host pid ${lab.pid})`);
  }, 150_000 * SLOW);

  afterAll(() => {
    try {
      lab?.stop();
    } finally {
      fs.rmSync(marker, { force: true });
    }
  }, 150_000 * SLOW);

  it('boots systemd as PID 1 of its namespaces, with a system bus, and leaves the host /tmp and /run alone', () => {
    expect(fs.readFileSync(`/proc/${lab.pid}/comm`, 'utf8').trim()).toBe('systemd');
    expect(fs.readFileSync(`/proc/${lab.pid}/status`, 'utf8')).toMatch(new RegExp(`^NSpid:\\s+${lab.pid}\\s+1$`, 'm'));
    expect(lab.run(['cat', '/proc/1/comm']).trim()).toBe('systemd');
    expect(['running', 'degraded']).toContain(lab.state());
    const bus = lab.run(['busctl', 'status']);
    expect(bus).toContain('BusAddress=unix:path=/run/dbus/system_bus_socket');
    expect(lab.run(['busctl', '--no-pager', 'list'])).toMatch(/org\.freedesktop\.login1/);
    // the host's /tmp, /run and cgroup roots are not the lab's
    expect(lab.exec(['test', '-e', marker]).code).toBe(1);
    expect(fs.existsSync(marker)).toBe(true);
    expect(fs.existsSync('/run/dbus/system_bus_socket')).toBe(false);
    expect(hostRunTree()).toEqual(runBefore);
    expect(hostRootUnits()).toEqual(rootUnitsBefore);
    // systemd's own cgroups sit under the lab's, in every hierarchy
    // (PID 1 is in init.scope where systemd manages the hierarchy, at the lab's root in the others)
    for (const [mount, dir] of Object.entries(lab.cgroups)) {
      const scope = path.join(dir, 'init.scope');
      const inScope = fs.existsSync(scope) && procs(scope).includes(lab.pid);
      if (/\/(systemd|unified|cgroup)$/.test(mount)) expect(inScope, mount).toBe(true);
      else expect(inScope || procs(dir).includes(lab.pid), mount).toBe(true);
    }
    // the repository is shared, writable, at the same path
    const probe = path.join(REPO, `.systemd-lab-probe-${process.pid}`);
    lab.run(['sh', '-c', `echo inside > ${probe}`]);
    expect(fs.readFileSync(probe, 'utf8')).toBe('inside\n');
    fs.rmSync(probe);
  }, 60_000 * SLOW);

  it('systemd-run --scope makes a transient scope under the lab cgroup, and systemctl stop removes it', async () => {
    const unit = `tsrun-lab-probe-${process.pid}`;
    const child = lab.spawn(['systemd-run', '--scope', '--unit', unit, '-p', 'CPUAccounting=yes', '-p', 'BlockIOAccounting=yes', 'sleep', '300']);
    try {
      await until(`${unit}.scope active`, () => lab.exec(['systemctl', 'is-active', `${unit}.scope`]).stdout.trim() === 'active');
      expect(lab.run(['systemctl', 'show', '-p', 'ControlGroup', '--value', `${unit}.scope`]).trim()).toBe(`/system.slice/${unit}.scope`);
      const dirs = lab.hostCgroups(`/system.slice/${unit}.scope`);
      // systemd 252 on v1 leaves cpuset, freezer and a cpuacct of its own alone (the process stays where
      // it was, the lab's lab-exec); runc and tsrun make those cgroups themselves
      const unmanaged = /\/(cpuset|freezer|cpuacct)$/;
      const managed = Object.keys(dirs).filter((m) => !unmanaged.test(m));
      expect(Object.keys(dirs).filter((m) => fs.existsSync(dirs[m]))).toEqual(managed);
      const [pid] = procs(dirs[managed[0]]);
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('/usr/bin/sleep\0' + '300\0');
      for (const m of managed) expect(procs(dirs[m]), m).toEqual([pid]);
      for (const m of Object.keys(dirs).filter((m) => unmanaged.test(m))) {
        expect(procs(path.join(lab.cgroups[m], 'lab-exec')), m).toContain(pid);
      }
      expect(lab.run(['systemctl', 'status', '--no-pager', `${unit}.scope`])).toMatch(/Active: active \(running\)/);
      lab.run(['systemctl', 'stop', `${unit}.scope`]);
      await until('the scope cgroups gone', () => Object.values(dirs).every((d) => !fs.existsSync(d)));
      expect(lab.exec(['systemctl', 'status', '--no-pager', `${unit}.scope`]).code).toBe(4); // no such unit
      await until('systemd-run to exit', () => child.exitCode !== null || child.signalCode !== null);
    } finally {
      if (child.exitCode === null) lab.exec(['systemctl', 'stop', `${unit}.scope`]);
    }
  }, 60_000 * SLOW);

  /** A busybox bundle in the lab's shared dir running argv, with linux fields from edit. */
  function bundle(name: string, args: string[], edit: (c: ReturnType<typeof baseConfig>) => void = () => undefined): string {
    const dir = path.join(lab.dir, name);
    const made = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), path.join(dir, 'rootfs')], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const config = baseConfig(path.join(dir, 'rootfs'));
    config.process.args = args;
    edit(config);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }

  it('runs the built bin/tsrun inside: a busybox container under the lab cgroup', () => {
    const b = bundle('tsrun-bundle', ['sh', '-c', 'echo hello from the lab; cat /proc/self/cgroup'], (c) => {
      c.linux.cgroupsPath = `/tsrun-lab-${process.pid}`;
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup'); // show the lab's view
    });
    const root = path.join(lab.dir, 'tsrun-state');
    const r = lab.exec([TSRUN, '--root', root, 'run', '--bundle', b, `lab-${process.pid}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hello from the lab\n/);
    // its cgroup, seen from the lab's cgroup namespace: under the lab's root, not the host's
    expect(r.stdout).toMatch(new RegExp(`^0::/tsrun-lab-${process.pid}$`, 'm'));
    expect(fs.readdirSync(root)).toEqual([]);
    for (const d of Object.values(lab.hostCgroups(`/tsrun-lab-${process.pid}`))) expect(fs.existsSync(d), d).toBe(false);
  }, 60_000 * SLOW);

  it('runc --systemd-cgroup creates, starts, pauses, resumes, updates and deletes a container in runc-ID.scope', () => {
    const id = `lab${process.pid}`;
    const b = bundle('runc-bundle', ['sleep', '300'], (c) => {
      c.linux.cgroupsPath = `system.slice:runc:${id}`;
    });
    const runc = (...args: string[]) => lab.exec([RUNC, '--systemd-cgroup', '--root', path.join(lab.dir, 'runc'), ...args]);
    const scope = `runc-${id}.scope`;
    const dirs = lab.hostCgroups(`/system.slice/${scope}`);
    const v1 = Object.keys(dirs).length > 1;
    const state = () => JSON.parse(runc('state', id).stdout);
    try {
      let r = runc('create', '--bundle', b, id);
      expect(r.code, r.stderr).toBe(0);
      expect(state().status).toBe('created');
      // runc asked systemd for the scope; systemd's hierarchies and runc's own (v1 cpuset, freezer) hold the init
      const initPid = procs(Object.values(dirs)[0]);
      expect(initPid).toHaveLength(1);
      for (const [m, d] of Object.entries(dirs)) expect(procs(d), m).toEqual(initPid);
      expect(lab.run(['systemctl', 'status', '--no-pager', scope])).toMatch(/Active: active \(running\)/);
      expect(runc('start', id).code).toBe(0);
      expect(state().status).toBe('running');

      expect(runc('pause', id).code).toBe(0);
      expect(state().status).toBe('paused');
      const freezer = v1 ? fs.readFileSync(path.join(dirs[Object.keys(dirs).find((m) => m.endsWith('/freezer'))!], 'freezer.state'), 'utf8')
        : fs.readFileSync(path.join(Object.values(dirs)[0], 'cgroup.freeze'), 'utf8');
      expect(freezer.trim()).toBe(v1 ? 'FROZEN' : '1');
      expect(runc('resume', id).code).toBe(0);
      expect(state().status).toBe('running');

      r = runc('update', '--memory', '67108864', id);
      expect(r.code, r.stderr).toBe(0);
      const mem = Object.entries(dirs).find(([m]) => m.endsWith('/memory') || !v1)![1];
      expect(fs.readFileSync(path.join(mem, v1 ? 'memory.limit_in_bytes' : 'memory.max'), 'utf8').trim()).toBe('67108864');
      expect(lab.run(['systemctl', 'show', '-p', v1 ? 'MemoryLimit' : 'MemoryMax', '--value', scope]).trim()).toBe('67108864');

      expect(runc('kill', id, 'KILL').code).toBe(0);
      r = runc('delete', '--force', id);
      expect(r.code, r.stderr).toBe(0);
      expect(lab.exec(['systemctl', 'status', '--no-pager', scope]).code).toBe(4);
      expect(lab.run(['systemctl', 'list-units', '--all', '--no-legend', `runc-${id}*`]).trim()).toBe('');
      for (const [m, d] of Object.entries(dirs)) expect(fs.existsSync(d), m).toBe(false);
    } finally {
      runc('delete', '--force', id);
    }
  }, 60_000 * SLOW);

  it('stops: nothing of it is left on the host, and the host /tmp marker survived', () => {
    const { pid, dir } = lab;
    lab.stop();
    console.log(`systemd lab stopped in ${lab.stopMs} ms`);
    expect(lab.leftovers()).toEqual([]);
    expect(fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
    for (const d of Object.values(lab.cgroups)) expect(fs.existsSync(d), d).toBe(false);
    expect(fs.readFileSync(marker, 'utf8')).toBe('host /tmp must survive the lab\n');
    expect(hostRunTree()).toEqual(runBefore);
    expect(hostRootUnits()).toEqual(rootUnitsBefore);
  }, 60_000 * SLOW);
});
