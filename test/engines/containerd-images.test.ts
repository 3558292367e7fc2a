// containerd with a real image (issue 14 item 2): an OCI image built offline
// (oci-image.ts) is imported into the private daemon, unpacked by the
// overlayfs snapshotter, and run by tsrun through the runc shim: the root is
// an overlay mount, and the image's config (PATH, env, working directory,
// default command) reaches the process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TSRUN, cgroupDirs, engineAvailable, killPids, pidsWhere, runCmd, waitFor, waitGone } from './engines';
import { Containerd } from './containerd-engine';
import { buildBusyboxImage, imageRunArgs, parseMountinfo, type OciImage } from './oci-image';

const enabled = engineAvailable('containerd', ['containerd', 'ctr', 'containerd-shim-runc-v2', 'tar']);

const IMAGE_ENV = ['PATH=/usr/local/bin:/usr/bin:/bin', 'TSRUN_IMAGE=busybox-test'];

describe.skipIf(!enabled)('containerd with an OCI image on the overlayfs snapshotter', () => {
  let c: Containerd;
  let image: OciImage;
  /** A container the cleanup has to take down. */
  let leftRunning = '';

  beforeAll(() => {
    c = new Containerd();
    c.start();
    image = buildBusyboxImage(c.dir, 'docker.io/tsrun-test/busybox:e2e', { env: IMAGE_ENV, cmd: ['sh', '-c', 'echo default command in $(pwd)'], workingDir: '/home' });
  });

  afterAll(() => {
    if (!c) return;
    // the worst case for the cleanup: a container left running on the image, then the daemon and the shim
    // killed, so nobody unmounts its overlay root but the cleanup (unmountUnder the temp dir)
    if (leftRunning) {
      expect(hostMounts().find((m) => m.mountPoint === bundleRootfs(leftRunning))?.fsType).toBe('overlay');
      const daemon = pidsWhere('cmdline', (l) => l.startsWith(`containerd --config ${c.dir}/`));
      const shim = pidsWhere('cmdline', (l) => l.includes(c.sock) && l.includes(`-id ${leftRunning}`));
      expect([daemon.length, shim.length]).toEqual([1, 1]);
      killPids([...daemon, ...shim]);
      expect(waitGone([...daemon, ...shim])).toBe(true);
      expect(hostMounts().find((m) => m.mountPoint === bundleRootfs(leftRunning))?.fsType).toBe('overlay');
    }
    const problems = c.cleanup();
    const left = c.leftovers();
    if (problems.length || left.length) throw new Error(`containerd image test left things behind (kept ${c.dir}):\n${[...problems, ...left].join('\n')}`);
    c.removeDir();
  });

  const run = (id: string, opts: string[], cmd: string[]) => c.ctr(imageRunArgs(c, id, opts, image.name, cmd));
  const taskLine = (id: string) => c.ctr(['task', 'list']).stdout.split('\n').find((l) => l.startsWith(id + ' ')) ?? '';
  /** Where the shim mounts the container's root on the host. */
  const bundleRootfs = (id: string) => path.join(c.dir, 'state', 'io.containerd.runtime.v2.task', 'default', id, 'rootfs');
  const hostMounts = () => parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  const snapshotKeys = () =>
    c
      .ctr(['snapshots', '--snapshotter', 'overlayfs', 'ls'])
      .stdout.split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(/\s+/)[0]);
  const noTrace = (id: string) => {
    expect(c.ctr(['containers', 'list', '-q']).stdout.split('\n')).not.toContain(id);
    expect(fs.existsSync(path.join(c.tsrunRoot, id))).toBe(false);
    expect(cgroupDirs(`${c.cgroupParent}/${id}`)).toEqual([]);
    expect(hostMounts().filter((m) => m.mountPoint.includes(id))).toEqual([]);
    expect(snapshotKeys()).not.toContain(id); // ctr run's snapshot is named after the container
  };

  it('imports the image tar and unpacks its layer into the overlayfs snapshotter', () => {
    const r = c.ctr(['images', 'import', '--snapshotter', 'overlayfs', image.tar]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ls = c.ctr(['images', 'ls']).stdout.split('\n').find((l) => l.startsWith(image.name + ' ')) ?? '';
    expect(ls).toContain(image.manifestDigest);
    const check = c.ctr(['images', 'check']).stdout;
    expect(check).toMatch(new RegExp(`${image.name.replace(/[.]/g, '\\.')}\\s.*complete`));
    // one committed snapshot: the layer, keyed by its chain id (the diff id for one layer)
    const info = c.ctr(['snapshots', '--snapshotter', 'overlayfs', 'info', image.layerDigest]);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ Name: image.layerDigest, Kind: 'Committed' });
  });

  it('run --rm: an overlay root, the image\'s env and working directory, relative commands, the exit status', () => {
    const id = c.id('img-run');
    const script = 'echo "PATH=$PATH"; echo "TSRUN_IMAGE=$TSRUN_IMAGE"; pwd; cat /etc/image-marker; awk \'$5 == "/" { for (i = 6; $i != "-"; i++); print $(i+1) }\' /proc/self/mountinfo; exit 5';
    const r = run(id, ['--rm'], ['sh', '-c', script]); // `sh`: found through the image's PATH
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['PATH=/usr/local/bin:/usr/bin:/bin', 'TSRUN_IMAGE=busybox-test', '/home', image.name, 'overlay', '']);
    expect(r.code).toBe(5);
    noTrace(id);
  });

  it('run without a command runs the image\'s default command', () => {
    const id = c.id('img-cmd');
    const r = run(id, ['--rm'], []);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('default command in /home\n');
    expect(r.code).toBe(0);
    noTrace(id);
  });

  it('run -d, task exec, kill and delete; the overlay root is unmounted and its snapshot removed', () => {
    const id = c.id('img-detach');
    const r = run(id, ['--detach'], ['sh', '-c', 'trap "exit 3" TERM; sleep 1000 & wait']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(taskLine(id)).toMatch(/RUNNING/);
    // on the host: the shim mounted an overlay of the layer and the container's snapshot
    const root = hostMounts().find((m) => m.mountPoint === bundleRootfs(id));
    expect(root?.fsType).toBe('overlay');
    expect(root?.superOptions).toMatch(/lowerdir=.*io\.containerd\.snapshotter\.v1\.overlayfs\/snapshots\/\d+\/fs/);
    expect(root?.superOptions).toMatch(/upperdir=.*io\.containerd\.snapshotter\.v1\.overlayfs\/snapshots\/\d+\/fs/);
    expect(snapshotKeys()).toContain(id);
    const state = JSON.parse(runCmd(c.dir, TSRUN, ['--root', c.tsrunRoot, 'state', id]).stdout) as { status: string; rootfs: string };
    expect(state.status).toBe('running');
    expect(state.rootfs).toBe(bundleRootfs(id));

    // exec gets the image's env too (ctr copies the container's process), so `sh` and `env` resolve
    const e = c.ctr(['task', 'exec', '--exec-id', 'x1', '--fifo-dir', c.fifoDir, id, 'sh', '-c', 'env | grep ^TSRUN_IMAGE=; pwd; echo written > /tmp/upper; exit 4']);
    expect(e.stderr).toBe('');
    expect(e.stdout).toBe('TSRUN_IMAGE=busybox-test\n/home\n');
    expect(e.code).toBe(4);
    // a write lands in the snapshot's upper directory, not in the layer
    const upper = /upperdir=([^,]+)/.exec(root!.superOptions)![1];
    expect(fs.readFileSync(path.join(upper, 'tmp', 'upper'), 'utf8')).toBe('written\n');

    expect(c.ctr(['task', 'kill', id]).code).toBe(0); // SIGTERM: the trap exits 3
    waitFor(() => /STOPPED/.test(taskLine(id)));
    const del = c.ctr(['task', 'delete', id]);
    expect(del.code).toBe(0);
    expect(del.stderr).toMatch(/exit code 3/);
    expect(hostMounts().find((m) => m.mountPoint === bundleRootfs(id))).toBeUndefined();
    expect(snapshotKeys()).toContain(id); // the container's until the container goes
    expect(c.ctr(['containers', 'delete', id]).code).toBe(0);
    noTrace(id);
    // the image's layer stays, untouched by the container's write
    expect(snapshotKeys()).toContain(image.layerDigest);
  });

  it('a container left running for the cleanup: its overlay root is mounted under the daemon\'s state', () => {
    const id = c.id('img-left');
    const r = run(id, ['--detach'], ['sleep', '1000']);
    expect(r.code).toBe(0);
    expect(hostMounts().find((m) => m.mountPoint === bundleRootfs(id))?.fsType).toBe('overlay');
    leftRunning = id;
  });
});
