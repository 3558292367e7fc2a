// podman with cgroup_manager = "systemd", inside the systemd lab, with tsrun as its runtime: conmon passes
// --systemd-cgroup on create and podman names the cgroup machine.slice:libpod:ID, so tsrun's systemd driver makes
// libpod-ID.scope. run, exec, pause, update and stop work, systemctl shows the scope, and nothing is left.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, TSRUN, haveProgram, precondition } from '../helpers/harness';
import { SystemdLab } from './lab';

const ok = SystemdLab.available() && precondition(haveProgram('podman') && haveProgram('conmon'), 'podman and conmon (make engines-deps installs them)');
const SLOW = process.env.CGV2_VM ? 6 : 1;

describe.skipIf(!ok)('podman in systemd mode with tsrun, against a real systemd', () => {
  let lab: SystemdLab;
  let dir: string;
  let rootfs: string;

  beforeAll(() => {
    lab = new SystemdLab();
    lab.start();
    dir = path.join(lab.dir, 'podman');
    rootfs = path.join(lab.dir, 'rootfs');
    for (const d of ['tmp', 'libpod-tmp', 'networks']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const made = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), rootfs], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
    fs.writeFileSync(
      path.join(dir, 'containers.conf'),
      `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=32768:32768"]
netns = "none"
[engine]
cgroup_manager = "systemd"
events_logger = "file"
events_logfile_path = "${dir}/events.log"
lock_type = "file"
runtime = "tsrun"
runtime_supports_json = ["tsrun"]
tmp_dir = "${dir}/libpod-tmp"
[engine.runtimes]
tsrun = ["${TSRUN}"]
[network]
network_config_dir = "${dir}/networks"
`,
    );
  }, 150_000);

  afterAll(() => {
    if (!lab) return;
    podman('rm', '--all', '--force', '--time', '0');
    lab.stop();
    expect(lab.leftovers()).toEqual([]);
  }, 150_000);

  // env through env(1): lab.sh exec keeps the caller's environment out
  function podman(...args: string[]) {
    return lab.exec(
      ['env', `CONTAINERS_CONF=${dir}/containers.conf`, `TMPDIR=${dir}/tmp`, 'podman', '--root', `${dir}/graph`, '--runroot', `${dir}/runroot`, '--tmpdir', `${dir}/libpod-tmp`, '--storage-driver', 'vfs', ...args],
      { timeoutMs: 60_000 * SLOW },
    );
  }
  const units = () => lab.run(['systemctl', 'list-units', '--all', '--no-legend', '--plain', 'libpod-*']).trim();

  it('runs a container in libpod-ID.scope of machine.slice', () => {
    // the host's cgroup namespace (podman's default on v2 is a private one, where the path reads "/")
    const r = podman('run', '--rm', '--network', 'none', '--cgroupns', 'host', '--rootfs', rootfs, '/bin/sh', '-c', 'grep name=systemd /proc/self/cgroup || cat /proc/self/cgroup; echo done');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\/machine\.slice\/libpod-[0-9a-f]{64}\.scope\n/);
    expect(r.stdout).toMatch(/done\n$/);
  }, 60_000 * SLOW);

  it('run -d, exec, pause, unpause, update, stop, rm; systemctl shows the scope while it runs', () => {
    const d = podman('run', '-d', '--name', 'web', '--memory', '64m', '--network', 'none', '--rootfs', rootfs, '/bin/sleep', '1000');
    expect(d.code, d.stderr).toBe(0);
    const id = d.stdout.trim();
    const unit = `libpod-${id}.scope`;
    expect(lab.run(['systemctl', 'show', '-p', 'ActiveState', '--value', unit]).trim()).toBe('active');
    expect(lab.run(['systemctl', 'show', '-p', 'Description', '--value', unit]).trim()).toBe(`tsrun container ${id}`);
    const v1 = lab.exec(['test', '-d', '/sys/fs/cgroup/memory']).code === 0;
    const memProp = v1 ? 'MemoryLimit' : 'MemoryMax';
    expect(lab.run(['systemctl', 'show', '-p', memProp, '--value', unit]).trim()).toBe(String(64 << 20));
    const e = podman('exec', 'web', '/bin/sh', '-c', 'echo exec-ok');
    expect([e.code, e.stdout]).toEqual([0, 'exec-ok\n']);
    expect(podman('pause', 'web').code).toBe(0);
    expect(podman('inspect', '--format', '{{.State.Status}}', 'web').stdout.trim()).toBe('paused');
    expect(podman('unpause', 'web').code).toBe(0);
    const u = podman('update', '--memory', '96m', 'web');
    expect(u.code, u.stderr).toBe(0);
    expect(lab.run(['systemctl', 'show', '-p', memProp, '--value', unit]).trim()).toBe(String(96 << 20));
    expect(podman('stop', '--time', '0', 'web').code).toBe(0);
    expect(podman('rm', 'web').code).toBe(0);
    expect(units()).not.toContain(unit);
    expect(lab.exec(['test', '-e', `/run/tsrun/${id}`]).code).not.toBe(0); // tsrun's state, in the lab's /run
  }, 120_000 * SLOW);
});
