// restore --systemd-cgroup against a real systemd (the lab of test/systemd/lab.ts), beside runc 1.1.5 on the same
// checks: a counter run under a transient scope is checkpointed (its unit goes), then restored into a new id, whose
// scope is started with criu in it, so that the restored process is born there: the unit's properties, the process
// in the scope in every hierarchy, the count going on from where it was; delete leaves no unit or cgroup.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, TSRUN, baseConfig, haveProgram, precondition } from '../helpers/harness';
import { PRIVATE_CRIU, counts, criuAvailable, guardCriuCache, waitFor } from '../helpers/criu';
import { SystemdLab } from './lab';

const RUNC = '/usr/sbin/runc';
// CRIU cannot start in the User-Mode Linux guest of the cgroup v2 lab (run-v2.sh): its kernel has no sock_diag,
// veth or tun, and `criu check` stops at its feature detection. There this file is a known gap, said aloud.
const inUml = Boolean(process.env.CGV2_VM);
if (inUml) console.warn('restore-systemd.test.ts: not run under User-Mode Linux, where CRIU cannot start (criu check fails)');
const ok =
  !inUml && SystemdLab.available() && precondition(haveProgram(RUNC), `${RUNC} is not installed (make test-systemd installs it)`) && criuAvailable();

describe.skipIf(!ok)('restore --systemd-cgroup, against a real systemd', () => {
  let lab: SystemdLab;
  let rootfs: string;
  let outDir: string;
  let criuCache: () => void;

  beforeAll(() => {
    criuCache = guardCriuCache();
    lab = new SystemdLab();
    lab.start();
    // CRIU restores the UTS namespace's hostname through /proc/sys: the lab's read-only /proc/sys (there against
    // systemd's writes at boot) is dropped once it has booted
    lab.run(['sh', '-c', 'if mountpoint -q /proc/sys; then umount -l /proc/sys; fi']);
    rootfs = path.join(lab.dir, 'rootfs');
    outDir = path.join(lab.dir, 'out');
    fs.mkdirSync(outDir);
    const made = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), rootfs], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
  }, 150_000);

  afterAll(() => {
    criuCache?.();
    if (!lab) return;
    lab.deleteLeftContainers([
      [TSRUN, 'tsrun'],
      [RUNC, 'runc'],
    ]);
    lab.stop();
    expect(lab.leftovers()).toEqual([]);
  }, 150_000);

  const show = (unit: string, prop: string) => lab.run(['systemctl', 'show', '-p', prop, '--value', unit]).trim();
  const unitGone = (unit: string) =>
    lab.exec(['systemctl', 'status', '--no-pager', unit]).code === 4 && lab.run(['systemctl', 'list-units', '--all', '--no-legend', unit]).trim() === '';
  const procsInside = (dir: string) => lab.run(['cat', `${dir}/cgroup.procs`]).split('\n').filter(Boolean).map(Number);
  const bundle = (name: string, cgroupsPath: string): string => {
    const dir = path.join(lab.dir, `bundle-${name}`);
    fs.mkdirSync(dir, { recursive: true });
    const c = baseConfig(rootfs);
    c.process.args = ['sh', '-c', `i=0; while :; do i=$((i+1)); echo $i >> /out/${name}; sleep 0.1; done`];
    c.mounts.push({ destination: '/out', type: 'bind', source: outDir, options: ['rbind', 'rw'] });
    c.linux.cgroupsPath = cgroupsPath;
    c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 50 } };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    return dir;
  };

  const seen: Record<string, Record<string, string>> = {};
  for (const [name, bin] of [['runc', RUNC], ['tsrun', TSRUN]] as const) {
    it(`${name}: a checkpointed counter restored under a new scope counts on there; delete leaves nothing`, async () => {
      const id1 = `ck-${name}-${process.pid}`;
      const id2 = `rs-${name}-${process.pid}`;
      const unit1 = `${name}-${id1}.scope`;
      const unit2 = `${name}-${id2}.scope`;
      // stdio /dev/null: CRIU cannot dump a file of the host as the counter's stdout
      const argv = (args: string[]) => [bin, '--systemd-cgroup', '--criu', PRIVATE_CRIU, '--root', path.join(lab.dir, name), ...args];
      const run = (...args: string[]) =>
        args[0] === 'run' ? lab.exec(['sh', '-c', 'exec "$@" </dev/null >/dev/null 2>&1', 'sh', ...argv(args)]) : lab.exec(argv(args));
      const img = path.join(lab.dir, `img-${name}`);
      const file = path.join(outDir, name);
      const dirs = lab.hostCgroups(`/system.slice/${unit2}`);
      const v1 = Object.keys(dirs).length > 1;
      const values: Record<string, string> = (seen[name] = {});
      try {
        let r = run('run', '-d', '--bundle', bundle(name, `system.slice:${name}:${id1}`), id1);
        expect(r.code, r.stderr).toBe(0);
        await waitFor(() => counts(file).length >= 5, 'the counter to count to 5');
        r = run('checkpoint', '--image-path', img, id1);
        expect(r.code, r.stderr).toBe(0);
        run('delete', '--force', id1);
        expect(unitGone(unit1)).toBe(true);
        const at = counts(file).length;

        r = run('restore', '-d', '--bundle', bundle(`${name}-r`, `system.slice:${name}:${id2}`), '--image-path', img, id2);
        expect(r.code, r.stderr).toBe(0);
        expect(show(unit2, 'ActiveState')).toBe('active');
        for (const p of ['Delegate', 'Slice', v1 ? 'MemoryLimit' : 'MemoryMax', 'TasksMax']) values[p] = show(unit2, p);
        expect(values.Slice).toBe('system.slice');
        expect(values[v1 ? 'MemoryLimit' : 'MemoryMax']).toBe(String(64 << 20));
        expect(values.TasksMax).toBe('50');
        const pid = JSON.parse(lab.run([bin, '--root', path.join(lab.dir, name), 'state', id2])).pid as number;
        // the restored process in the scope, in every hierarchy, with at most its `sleep` beside it (criu is gone)
        for (const m of Object.keys(dirs)) {
          const procs = procsInside(`${m}/system.slice/${unit2}`);
          expect(procs, m).toContain(pid);
          expect(procs.length, m).toBeLessThanOrEqual(2);
        }
        await waitFor(() => counts(file).length >= at + 5, 'the restored counter to count on');
        const all = counts(file);
        expect(all.every((x, i) => x === i + 1), all.join(' ')).toBe(true);

        r = run('delete', '--force', id2);
        expect(r.code, r.stderr).toBe(0);
        expect(unitGone(unit2)).toBe(true);
        for (const [m, d] of Object.entries(dirs)) expect(fs.existsSync(d), m).toBe(false);
      } finally {
        run('delete', '--force', id1);
        run('delete', '--force', id2);
      }
    }, 90_000);
  }

  it('gives the restored scope the same properties as runc does', () => {
    // both tests reached the unit's checks
    expect([seen.runc?.TasksMax, seen.tsrun?.TasksMax]).toEqual(['50', '50']);
    expect(seen.tsrun).toEqual(seen.runc);
  });
});
