// containerd with the runc shim option SystemdCgroup = true, inside the systemd lab, with tsrun as the shim's
// runc binary, beside runc itself on the same checks. Two clients set the option: `ctr run --runc-systemd-cgroup`
// (cgroupsPath system.slice:ctr:ID), and dockerd with native.cgroupdriver=systemd (docker-ID.scope), which is
// also the way to reach the shim's Update (ctr 1.6 has no `task update`). The shim passes --systemd-cgroup on
// every call but its cleanup's `delete --force` (made without the option): tsrun's delete takes the driver from
// the container's state, as runc does. Everything runs inside the lab (its /run, its system bus), so stopping the lab ends it all.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, haveProgram, precondition } from '../helpers/harness';
import { commandOf, readCalls, writeWrapper } from '../engines/engines';
import { SystemdLab } from './lab';

const DOCKER = '/usr/bin/docker';
const ok =
  SystemdLab.available() &&
  precondition(['containerd', 'ctr', 'containerd-shim-runc-v2', 'dockerd'].every(haveProgram) && fs.existsSync(DOCKER), 'containerd and docker.io (make engines-deps installs them)');
const SLOW = process.env.CGV2_VM ? 6 : 1;
const RUNC = '/usr/sbin/runc';
/** dockerd on the one-CPU v2 VM takes minutes to come up: there the ctr part runs alone (update is the driver's tests'). */
const WITH_DOCKER = !process.env.CGV2_VM;

describe.skipIf(!ok)('containerd with SystemdCgroup = true and tsrun, against a real systemd', () => {
  let lab: SystemdLab;
  let d: string; // containerd's and dockerd's files, in the lab's shared dir
  let wrapper: string;
  let callsFile: string;
  let v1: boolean;

  beforeAll(() => {
    lab = new SystemdLab();
    lab.start();
    d = path.join(lab.dir, 'engines');
    fs.mkdirSync(d);
    ({ wrapper, callsFile } = writeWrapper(d));
    const made = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), `${d}/rootfs`], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
    v1 = lab.exec(['test', '-d', '/sys/fs/cgroup/memory']).code === 0;
    startContainerd();
    if (WITH_DOCKER) startDockerd();
  }, 180_000 * SLOW);

  afterAll(() => {
    if (!lab) return;
    // the daemons, shims and containers all live in the lab; without the daemons its poweroff is quick
    lab.exec(['sh', '-c', 'pkill -KILL -x dockerd; pkill -KILL -x containerd; pkill -KILL containerd-shim; true']);
    lab.stop();
    expect(lab.leftovers()).toEqual([]);
  }, 150_000);

  function startContainerd() {
    const disabled = ['grpc.v1.cri', 'internal.v1.opt', 'snapshotter.v1.aufs', 'snapshotter.v1.btrfs', 'snapshotter.v1.devmapper', 'snapshotter.v1.zfs', 'tracing.processor.v1.otlp', 'internal.v1.tracing'];
    fs.writeFileSync(
      `${d}/containerd.toml`,
      `version = 2
root = "${d}/ctrd-root"
state = "${d}/ctrd-state"
disabled_plugins = [${disabled.map((p) => `"io.containerd.${p}"`).join(', ')}]
[grpc]
  address = "${d}/containerd.sock"
[ttrpc]
  address = "${d}/containerd.sock.ttrpc"
[debug]
  address = "${d}/debug.sock"
[metrics]
  address = ""
`,
    );
    lab.spawn(['sh', '-c', `exec containerd --config ${d}/containerd.toml >${d}/containerd.log 2>&1`]);
    waitUntil(() => ctr('version').code === 0, 'containerd', `${d}/containerd.log`);
  }

  function startDockerd() {
    const config = {
      iptables: false,
      'ip-masq': false,
      bridge: 'none',
      'exec-opts': ['native.cgroupdriver=systemd'],
      'deprecated-key-path': `${d}/key.json`,
      runtimes: { tsrun: { path: wrapper } },
    };
    fs.writeFileSync(`${d}/daemon.json`, JSON.stringify(config));
    const args = ['--config-file', `${d}/daemon.json`, '--data-root', `${d}/docker-data`, '--exec-root', `${d}/docker-exec`, '--pidfile', `${d}/docker.pid`, '-H', `unix://${d}/docker.sock`,
      // our containerd, not a second one of dockerd's own (which does not come up in time on the one-CPU v2 VM)
      '--containerd', `${d}/containerd.sock`, '--containerd-namespace', 'moby'];
    lab.spawn(['sh', '-c', `exec dockerd ${args.join(' ')} >${d}/dockerd.log 2>&1`]);
    waitUntil(() => docker('version').code === 0, 'dockerd', `${d}/dockerd.log`);
    const imported = lab.exec(['sh', '-c', `tar -C ${d}/rootfs -c . | ${DOCKER} -H unix://${d}/docker.sock import - tsrun-busybox:test`], { timeoutMs: 120_000 * SLOW });
    if (imported.code !== 0) throw new Error(`docker import: ${imported.stderr}`);
  }

  function waitUntil(up: () => boolean, what: string, log: string) {
    const end = Date.now() + 60_000 * SLOW;
    while (Date.now() < end) {
      if (up()) return;
      spawnSync('sleep', ['0.2']);
    }
    throw new Error(`${what} did not start in the lab:\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-3000) : '(no log)'}`);
  }

  const ctr = (...args: string[]) => lab.exec(['ctr', '--address', `${d}/containerd.sock`, ...args], { timeoutMs: 60_000 * SLOW });
  const docker = (...args: string[]) => lab.exec([DOCKER, '-H', `unix://${d}/docker.sock`, ...args], { timeoutMs: 60_000 * SLOW });
  const show = (unit: string, prop: string) => lab.run(['systemctl', 'show', '-p', prop, '--value', unit]).trim();
  const units = (pattern: string) => lab.run(['systemctl', 'list-units', '--all', '--no-legend', '--plain', pattern]).trim();

  // on the v2 VM, where each ctr call takes seconds, tsrun alone (the driver's tests compare it with runc there)
  const runtimes = [
    { who: 'tsrun', binary: () => wrapper },
    ...(process.env.CGV2_VM ? [] : [{ who: 'runc', binary: () => RUNC }]),
  ];

  describe.each(runtimes)('ctr run --runc-systemd-cgroup, $who', ({ who, binary }) => {
    const runArgs = (id: string, opts: string[], cmd: string[]) => [
      'run', '--rootfs', '--runc-systemd-cgroup', '--cgroup', `system.slice:ctr:${id}`,
      '--runc-binary', binary(), '--runc-root', `${d}/${who}-root`, ...opts, `${d}/rootfs`, id, ...cmd,
    ];

    it('runs a container in ctr-ID.scope of system.slice', () => {
      const id = `${who}-rm`;
      const r = ctr(...runArgs(id, ['--rm'], ['/bin/sh', '-c', 'grep -E "name=systemd|^0::" /proc/self/cgroup; echo done']));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`/system.slice/ctr-${id}.scope\n`);
      expect(r.stdout).toMatch(/done\n$/);
      expect(units(`ctr-${id}.scope`)).toBe('');
    }, 60_000 * SLOW);

    it('run -d, systemctl status, exec, pause, resume, kill, delete: no unit left', () => {
      const id = `${who}-d`;
      const unit = `ctr-${id}.scope`;
      const r = ctr(...runArgs(id, ['--detach'], ['/bin/sleep', '1000']));
      expect(r.code, r.stderr).toBe(0);
      const status = lab.run(['systemctl', 'status', '--no-pager', unit]);
      expect(status).toMatch(/Active: active \(running\)/);
      expect(status).toContain(`CGroup: /system.slice/${unit}`);
      expect(status).toContain('/bin/sleep 1000');
      if (who === 'tsrun') expect(status).toContain(`${unit} - tsrun container ${id}`);
      const e = ctr('task', 'exec', '--exec-id', 'e1', id, '/bin/sh', '-c', 'grep -E "name=systemd|^0::" /proc/self/cgroup');
      expect(e.code, e.stderr).toBe(0);
      expect(e.stdout).toContain(`/system.slice/${unit}\n`);
      expect(ctr('task', 'pause', id).code).toBe(0);
      expect(ctr('task', 'ls').stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+PAUSED`));
      expect(ctr('task', 'resume', id).code).toBe(0);
      expect(ctr('task', 'ls').stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
      expect(ctr('task', 'kill', '--signal', 'SIGKILL', id).code).toBe(0);
      const deleted = lab.exec(['sh', '-c', `for i in $(seq 100); do ctr --address ${d}/containerd.sock task rm ${id} 2>/dev/null && exit 0; sleep 0.1; done; exit 1`], { timeoutMs: 60_000 * SLOW });
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(ctr('containers', 'rm', id).code).toBe(0);
      expect(units(unit)).toBe('');
      expect(fs.readdirSync(`${d}/${who}-root/default`)).toEqual([]);
    }, 120_000 * SLOW);
  });

  describe.skipIf(!WITH_DOCKER).each(runtimes.map((r) => ({ ...r, runtime: r.who === 'tsrun' ? 'tsrun' : 'runc' })))('dockerd with native.cgroupdriver=systemd, $who', ({ runtime }) => {
    it('run -d --memory, update, exec, pause, unpause, stop, rm; systemctl shows docker-ID.scope and its limits', () => {
      const name = `web-${runtime}`;
      const r = docker('run', '-d', '--runtime', runtime, '--name', name, '--memory', '64m', '--cpus', '0.5', 'tsrun-busybox:test', '/bin/sleep', '1000');
      expect(r.code, r.stderr).toBe(0);
      const id = r.stdout.trim();
      const unit = `docker-${id}.scope`;
      expect(show(unit, 'ActiveState')).toBe('active');
      expect(show(unit, 'Slice')).toBe('system.slice');
      const memProp = v1 ? 'MemoryLimit' : 'MemoryMax';
      expect(show(unit, memProp)).toBe(String(64 << 20));
      expect(show(unit, 'CPUQuotaPerSecUSec')).toBe('500ms');
      const u = docker('update', '--memory', '96m', '--memory-swap', '200m', '--cpus', '1.5', name);
      expect(u.code, u.stderr).toBe(0);
      expect(show(unit, memProp)).toBe(String(96 << 20));
      expect(show(unit, 'CPUQuotaPerSecUSec')).toMatch(/^1\.50*s$/); // systemd 252 prints 1.500000s
      const e = docker('exec', name, '/bin/sh', '-c', 'grep -E "name=systemd|^0::" /proc/self/cgroup');
      expect(e.code, e.stderr).toBe(0);
      expect(e.stdout).toContain(`/system.slice/${unit}\n`);
      expect(docker('pause', name).code).toBe(0);
      expect(docker('inspect', '--format', '{{.State.Status}}', name).stdout.trim()).toBe('paused');
      expect(docker('unpause', name).code).toBe(0);
      expect(docker('stop', '--time', '0', name).code).toBe(0);
      expect(docker('rm', name).code).toBe(0);
      expect(units(unit)).toBe('');
    }, 180_000 * SLOW);
  });

  it('the shim passed --systemd-cgroup on every call but its cleanup delete; every call succeeded', () => {
    const calls = readCalls(callsFile);
    const commands = new Set(calls.map((c) => commandOf(c.argv).command));
    for (const c of ['create', 'start', 'exec', 'pause', 'resume', 'kill', 'delete', ...(WITH_DOCKER ? ['update'] : [])]) expect(commands).toContain(c);
    const without = calls.filter((c) => !commandOf(c.argv).globals.includes('--systemd-cgroup'));
    expect(without.map((c) => commandOf(c.argv).command).filter((c) => c !== 'delete')).toEqual([]);
    expect(without.length).toBeGreaterThan(0); // the cleanup's delete: the units were gone after it all the same
    expect(calls.filter((c) => c.rc !== 0).map((c) => c.argv.join(' '))).toEqual([]);
  });
});
