// checkpoint and restore through CRIU, on real containers: a counter that is
// checkpointed, killed and restored goes on from where it was, in a new
// container or under its old id; --leave-running; runc's images restore under
// tsrun; Debian 12's criu on this kernel fails with CRIU's own reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Harness, haveProgram, leftovers, rootAvailable } from '../helpers/harness';
import { PRIVATE_CRIU, SYSTEM_CRIU, counts, criuAvailable, criuVersion, guardCriuCache, kernelVersion, waitFor } from '../helpers/criu';

const enabled = rootAvailable() && criuAvailable();
// the container's stdio is the host's /dev/null, which tsrun-init reopens inside (CRIU cannot dump a host file)
const quiet = { stdio: ['ignore', 'ignore', 'ignore'] as const };

describe.skipIf(!enabled)('checkpoint and restore', () => {
  let h: Harness;
  let outDir: string;
  let bundle: string;
  let n = 0;
  let criuCache: () => void;
  beforeAll(() => {
    criuCache = guardCriuCache();
    h = new Harness('ckpt');
    outDir = path.join(h.dir, 'out');
    fs.mkdirSync(outDir);
    // an external bind mount, a read-only root, and the harness's namespaces (a cgroup namespace among them)
    bundle = h.bundle((c) => {
      c.process.args = ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i >> /out/$COUNTER; sleep 0.1; done'];
      c.mounts.push({ destination: '/out', type: 'bind', source: outDir, options: ['rbind', 'rw'] });
    });
  });
  afterAll(() => {
    h?.cleanup();
    criuCache?.();
  });

  const tsrun = (args: string[], opts = {}) => h.tsrun(['--criu', PRIVATE_CRIU, ...args], opts);
  const pidOf = (id: string) => JSON.parse(tsrun(['state', id]).stdout).pid as number;
  const statusOf = (id: string) => JSON.parse(tsrun(['state', id]).stdout).status as string;
  /** A counter container of its own bundle (its own count file), running; returns the count file. */
  const startCounter = async (id: string): Promise<{ file: string; b: string }> => {
    const name = `count-${++n}`;
    const b = path.join(h.dir, `bundle-${name}`);
    fs.mkdirSync(b);
    const c = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    c.process.env.push(`COUNTER=${name}`);
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(c));
    const r = tsrun(['run', '-d', '--bundle', b, id], quiet);
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(outDir, name);
    await waitFor(() => counts(file).length >= 5, 'the counter to count to 5');
    return { file, b };
  };
  const contiguous = (v: number[]) => v.every((x, i) => x === i + 1);

  it('a counter checkpointed, killed and restored into a new container goes on counting from where it was', async () => {
    const a = h.id('a');
    const b = h.id('b');
    const { file, b: bdir } = await startCounter(a);
    const oldPid = pidOf(a);
    const img = path.join(h.dir, 'img-new');
    const ck = tsrun(['checkpoint', '--image-path', img, a]);
    expect(ck.code, ck.stderr).toBe(0);
    expect(fs.existsSync(path.join(img, 'inventory.img'))).toBe(true);
    expect(fs.existsSync(path.join(img, 'descriptors.json'))).toBe(true);
    // the checkpoint ended the container's processes and deleted it, as runc's does; an engine's delete --force
    // after it succeeds
    expect(tsrun(['state', a]).stderr).toContain('does not exist');
    expect(tsrun(['delete', '--force', a]).code).toBe(0);
    expect(leftovers(h.root, a)).toEqual([]);
    const atCheckpoint = counts(file);
    await new Promise((r) => setTimeout(r, 400));
    expect(counts(file)).toEqual(atCheckpoint); // nobody counts any more

    const rs = tsrun(['restore', '-d', '--bundle', bdir, '--image-path', img, '--pid-file', path.join(h.dir, 'b.pid'), b]);
    expect(rs.code, rs.stderr).toBe(0);
    const pid = pidOf(b);
    expect(statusOf(b)).toBe('running');
    expect(pid).not.toBe(oldPid);
    expect(Number(fs.readFileSync(path.join(h.dir, 'b.pid'), 'utf8'))).toBe(pid);
    await waitFor(() => counts(file).length >= atCheckpoint.length + 5, 'the restored counter to count on');
    const after = counts(file);
    expect(contiguous(after), after.join(' ')).toBe(true); // on from the last number, never from 1 again
    // the process is in the new container's cgroup, the old one's is gone
    const cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    expect(cg).toContain(b);
    expect(cg).not.toContain(a);
    // ps, exec, pause, kill, state and delete work on the restored container
    expect(JSON.parse(tsrun(['ps', '--format', 'json', b]).stdout)).toContain(pid);
    const ex = tsrun(['exec', b, 'hostname']);
    expect(ex.stdout.trim(), ex.stderr).toBe('tsrun-test'); // in its UTS namespace, restored by CRIU
    expect(tsrun(['pause', b]).code).toBe(0);
    expect(statusOf(b)).toBe('paused');
    const frozenAt = counts(file).length;
    await new Promise((r) => setTimeout(r, 300));
    expect(counts(file).length).toBe(frozenAt);
    expect(tsrun(['resume', b]).code).toBe(0);
    await waitFor(() => counts(file).length > frozenAt, 'the counter to go on after resume');
    expect(tsrun(['kill', b, 'KILL']).code).toBe(0);
    await waitFor(() => statusOf(b) === 'stopped', 'the restored container to stop');
    expect(tsrun(['delete', b]).code).toBe(0);
    expect(leftovers(h.root, b)).toEqual([]);
    expect(leftovers(h.root, a)).toEqual([]);
  }, 60_000);

  it('--leave-running keeps the container counting; the images hold the moment of the checkpoint', async () => {
    const a = h.id('lr');
    const b = h.id('lrb');
    const { file, b: bdir } = await startCounter(a);
    const img = path.join(h.dir, 'img-leave');
    const ck = tsrun(['checkpoint', '--leave-running', '--image-path', img, a]);
    expect(ck.code, ck.stderr).toBe(0);
    const atCheckpoint = counts(file).length;
    expect(statusOf(a)).toBe('running');
    await waitFor(() => counts(file).length >= atCheckpoint + 5, 'the container to count on after the checkpoint');
    expect(tsrun(['delete', '--force', a]).code).toBe(0);
    expect(leftovers(h.root, a)).toEqual([]);
    const before = counts(file);

    const rs = tsrun(['restore', '-d', '--bundle', bdir, '--image-path', img, b]);
    expect(rs.code, rs.stderr).toBe(0);
    await waitFor(() => counts(file).length >= before.length + 3, 'the restored counter');
    const restored = counts(file).slice(before.length);
    // it counts on from the checkpoint's number, not from the last one the live container wrote
    expect(restored[0]).toBeLessThanOrEqual(atCheckpoint + 1);
    expect(restored[0]).toBeGreaterThan(1);
    expect(restored[0]).toBeLessThan(before[before.length - 1]);
    expect(restored.every((x, i) => x === restored[0] + i)).toBe(true);
    expect(tsrun(['delete', '--force', b]).code).toBe(0);
    expect(leftovers(h.root, b)).toEqual([]);
  }, 60_000);

  it('restores into the same id, which the checkpoint freed', async () => {
    const a = h.id('same');
    const { file, b: bdir } = await startCounter(a);
    const img = path.join(h.dir, 'img-same');
    expect(tsrun(['checkpoint', '--image-path', img, a]).code).toBe(0);
    expect(tsrun(['state', a]).code).toBe(1);
    const at = counts(file).length;
    const rs = tsrun(['restore', '-d', '--bundle', bdir, '--image-path', img, a]);
    expect(rs.code, rs.stderr).toBe(0);
    expect(statusOf(a)).toBe('running');
    await waitFor(() => counts(file).length >= at + 3, 'the counter under its old id');
    expect(contiguous(counts(file))).toBe(true);
    // checkpointed and restored a second time, from the restored container
    const img2 = path.join(h.dir, 'img-same-2');
    expect(tsrun(['checkpoint', '--image-path', img2, a]).code).toBe(0);
    const at2 = counts(file).length;
    // as containerd's shim restores: --detach --no-subreaper
    expect(tsrun(['restore', '--detach', '--no-subreaper', '--bundle', bdir, '--image-path', img2, a]).code).toBe(0);
    await waitFor(() => counts(file).length >= at2 + 3, 'the counter restored twice');
    expect(contiguous(counts(file))).toBe(true);
    expect(tsrun(['delete', '--force', a]).code).toBe(0);
    expect(leftovers(h.root, a)).toEqual([]);
  }, 60_000);

  it('refuses what it cannot do, with a clear error, and leaves nothing behind', async () => {
    const c = h.id('created');
    expect(tsrun(['create', '--bundle', bundle, c], quiet).code).toBe(0);
    const r = tsrun(['checkpoint', '--image-path', path.join(h.dir, 'img-created'), c]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`container ${c} is not running: created`);
    expect(tsrun(['delete', '--force', c]).code).toBe(0);
    const none = h.id('noimg');
    const e = tsrun(['restore', '-d', '--bundle', bundle, '--image-path', path.join(h.dir, 'nothing'), none]);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('no CRIU images in');
    expect(leftovers(h.root, none)).toEqual([]);
    // images exist from here on, so that the checks after theirs are reached
    const some = path.join(h.dir, 'some-img');
    fs.mkdirSync(some);
    fs.writeFileSync(path.join(some, 'inventory.img'), '');
    const cs = tsrun(['restore', '-d', '--console-socket', path.join(h.dir, 'none.sock'), '--bundle', bundle, '--image-path', some, none]);
    expect([cs.code, cs.stderr]).toEqual([1, expect.stringContaining('--console-socket is given but process.terminal is false')]);
    expect(leftovers(h.root, none)).toEqual([]);
    const np = tsrun(['restore', '-d', '--no-pivot', '--bundle', bundle, '--image-path', path.join(h.dir, 'nothing'), none]);
    expect([np.code, np.stderr]).toEqual([1, expect.stringContaining('--no-pivot is not supported')]);
    // a restore that CRIU fails (the bind mount's source is gone) takes back its cgroup, mount and state
    const a = h.id('busy');
    const { b: bdir } = await startCounter(a);
    const img = path.join(h.dir, 'img-busy');
    expect(tsrun(['checkpoint', '--image-path', img, a]).code).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(bdir, 'config.json'), 'utf8'));
    cfg.mounts.find((m: { destination: string }) => m.destination === '/out').source = path.join(h.dir, 'gone');
    fs.writeFileSync(path.join(bdir, 'config.json'), JSON.stringify(cfg));
    const bad = h.id('bad');
    const f = tsrun(['restore', '-d', '--bundle', bdir, '--image-path', img, bad]);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('criu restore failed');
    expect(f.stderr).toContain(`log file: ${path.join(img, 'restore.log')}`);
    expect(tsrun(['state', bad]).stderr).toContain('does not exist');
    expect(leftovers(h.root, bad)).toEqual([]);
  }, 60_000);

  it('--pre-dump and --parent-path: iterative checkpoints where the kernel tracks dirty memory, CRIU\'s reason where not', async () => {
    const a = h.id('pre');
    const b = h.id('preb');
    const { file, b: bdir } = await startCounter(a);
    const tracks = spawnSync(PRIVATE_CRIU, ['check', '--feature', 'mem_dirty_track'], { stdio: 'ignore' }).status === 0;
    const img = path.join(h.dir, 'img-pre');
    const pre = tsrun(['checkpoint', '--pre-dump', '--image-path', path.join(img, 'pre'), a]);
    expect(statusOf(a)).toBe('running'); // a pre-dump leaves it running, and so does a failed one
    if (!tracks) {
      // this kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY): runc's pre-dump fails the same way
      expect(pre.code).toBe(1);
      expect(pre.stderr).toContain('criu pre-dump failed');
      expect(pre.stderr).toContain('Tracking memory is not available');
      expect(tsrun(['delete', '--force', a]).code).toBe(0);
      return;
    }
    expect(pre.code, pre.stderr).toBe(0);
    const ck = tsrun(['checkpoint', '--parent-path', '../pre', '--image-path', path.join(img, 'final'), a]);
    expect(ck.code, ck.stderr).toBe(0);
    const at = counts(file).length;
    expect(tsrun(['restore', '-d', '--bundle', bdir, '--image-path', path.join(img, 'final'), b]).code).toBe(0);
    await waitFor(() => counts(file).length >= at + 3, 'the counter restored from iterative images');
    expect(contiguous(counts(file))).toBe(true);
    expect(tsrun(['delete', '--force', b]).code).toBe(0);
  }, 60_000);

  it.skipIf(!haveProgram('/usr/sbin/runc'))('restores a counter that runc checkpointed (runc is the reference)', async () => {
    const runcRoot = path.join(h.dir, 'runc-state');
    const id = h.id('runc');
    const name = `count-${++n}`;
    const b = path.join(h.dir, `bundle-${name}`);
    fs.mkdirSync(b);
    const c = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    c.process.env.push(`COUNTER=${name}`);
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(c));
    const errFile = path.join(h.dir, 'runc.err');
    // stderr to a file only for runc's own calls: the container keeps what `run -d` gives it
    const runc = (args: string[], err: 'file' | 'ignore' = 'file') => {
      const fd = fs.openSync(errFile, 'w+');
      try {
        const r = spawnSync('/usr/sbin/runc', ['--root', runcRoot, '--criu', PRIVATE_CRIU, ...args], {
          cwd: b,
          stdio: ['ignore', 'ignore', err === 'file' ? fd : 'ignore'],
          timeout: 60_000,
        });
        return { status: r.status, stderr: fs.readFileSync(errFile, 'utf8') };
      } finally {
        fs.closeSync(fd);
      }
    };
    try {
      const r = runc(['run', '-d', id], 'ignore');
      expect(r.status, r.stderr).toBe(0);
      const file = path.join(outDir, name);
      await waitFor(() => counts(file).length >= 5, 'runc counter');
      const img = path.join(h.dir, 'img-runc');
      const ck = runc(['checkpoint', '--image-path', img, id]);
      expect(ck.status, ck.stderr).toBe(0);
      const at = counts(file).length;
      const rs = tsrun(['restore', '-d', '--bundle', b, '--image-path', img, id]);
      expect(rs.code, rs.stderr).toBe(0);
      await waitFor(() => counts(file).length >= at + 3, 'the counter runc checkpointed, under tsrun');
      expect(contiguous(counts(file))).toBe(true);
      expect(tsrun(['delete', '--force', id]).code).toBe(0);
      expect(leftovers(h.root, id)).toEqual([]);
    } finally {
      runc(['delete', '--force', id]);
    }
  }, 60_000);

  const oldCriu = criuVersion(SYSTEM_CRIU);
  const [kmaj, kmin] = kernelVersion();
  const vdsoSplit = kmaj > 6 || (kmaj === 6 && kmin >= 13);
  it.skipIf(!oldCriu || oldCriu[0] >= 4 || (oldCriu[0] === 4 && oldCriu[1] >= 1) || !vdsoSplit)(
    "Debian 12's criu 3.17 on Linux 6.13+ fails with CRIU's reason, and the container keeps running",
    async () => {
      const a = h.id('old');
      await startCounter(a);
      const r = h.tsrun(['--criu', SYSTEM_CRIU, 'checkpoint', '--image-path', path.join(h.dir, 'img-old'), a]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('criu dump failed');
      expect(r.stderr).toContain('Unexpected rt vDSO area bounds');
      expect(r.stderr).toContain('this criu cannot run on this kernel');
      expect(statusOf(a)).toBe('running');
      expect(tsrun(['delete', '--force', a]).code).toBe(0);
    },
    60_000,
  );
});
