// Configs without a mount namespace (config-linux.md#namespaces: the container then shares the runtime's). The
// init binds the rootfs onto <root>/<id>/rootfs in the host's mount namespace, mounts everything under that bind
// and chroots there; delete (and a failed create) unmounts the whole tree. These tests run real containers and
// look at the host's /proc/self/mountinfo: the mounts are there while the container lives, nothing is left after,
// and nothing else on the host changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, TSRUN, leftovers, rootAvailable, type Config } from '../helpers/harness';
import { nativeHelper } from '../helpers/native-helpers';

const enabled = rootAvailable();

interface MountLine {
  id: string;
  parent: string;
  mountPoint: string;
  options: string;
  /** The optional fields: shared:N, master:N, unbindable. */
  propagation: string;
}

function mounts(): MountLine[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pre] = l.split(' - ');
      const f = pre.split(' ');
      const mountPoint = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      return { id: f[0], parent: f[1], mountPoint, options: f[5], propagation: f.slice(6).join(' ') };
    });
}

/** Mount points at or under dir. */
function mountedUnder(dir: string): string[] {
  return mounts()
    .map((m) => m.mountPoint)
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`));
}

/** The mount a path is on (the longest mount point that is a prefix, the last one listed of those). */
function mountOf(p: string): MountLine {
  let best: MountLine | undefined;
  for (const m of mounts()) {
    const prefix = m.mountPoint === '/' || p === m.mountPoint || p.startsWith(`${m.mountPoint}/`);
    if (prefix && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best!;
}

const noMountNs = (c: Config) => {
  c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount');
};
const noNamespaces = (c: Config) => {
  c.linux.namespaces = [];
  delete c.hostname;
};

describe.skipIf(!enabled)('configs without a mount namespace', () => {
  let h: Harness;
  let hostMntNs: string;
  beforeAll(() => {
    h = new Harness('nomntns');
    hostMntNs = fs.readlinkSync('/proc/self/ns/mnt');
  });
  afterAll(() => h?.cleanup());

  /** Nothing of the container: no mount under the rootfs or its state directory, no process, cgroup or state. */
  const expectGone = (id: string) => {
    expect(mountedUnder(h.rootfs)).toEqual([]);
    expect(mountedUnder(path.join(h.root, id))).toEqual([]);
    expect(leftovers(h.root, id, [h.rootfs])).toEqual([]);
  };

  it('a config with no namespaces at all runs in the runtime\'s mount namespace, its rootfs as "/", with a working /proc', () => {
    const rootBefore = mountOf('/');
    const r = h.run(
      ['sh', '-c', 'readlink /proc/self/ns/mnt; cat /etc/hostname; ls /bin/busybox; echo "pid $$"; grep -c . /proc/self/status; ls /proc/self/fd >/dev/null && echo fd-ok'],
      noNamespaces,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(hostMntNs);
    expect(lines[1]).toBe('tsrun'); // the rootfs's /etc/hostname, not the host's
    expect(lines[2]).toBe('/bin/busybox');
    expect(lines[3]).toMatch(/^pid \d+$/);
    expect(Number(lines[3].slice(4))).toBeGreaterThan(1); // the host's pid namespace
    expect(Number(lines[4])).toBeGreaterThan(10);
    expect(lines[5]).toBe('fd-ok');
    expectGone(r.id);
    // "/" kept its propagation
    expect(mountOf('/')).toEqual(rootBefore);
  });

  it('while it lives its mounts are on the host, under its own bind; exec runs in its root; delete removes them all', () => {
    const id = h.id('live');
    const b = h.bundle((c) => {
      noNamespaces(c);
      c.process.args = ['sleep', '1000'];
      c.linux.maskedPaths = ['/proc/timer_list', '/proc/acpi'];
      c.linux.readonlyPaths = ['/proc/sys'];
    });
    const rootBefore = mountOf('/');
    const rootfsMountBefore = mountOf(h.rootfs);
    expect(h.tsrun(['create', '--bundle', b, id]).stderr).toBe('');
    expect(h.tsrun(['start', id]).code).toBe(0);

    const mp = path.join(fs.realpathSync(h.root), id, 'rootfs');
    const live = mountedUnder(mp);
    expect(live[0]).toBe(mp);
    for (const sub of ['proc', 'dev', 'dev/pts', 'dev/shm', 'dev/mqueue', 'sys', 'proc/sys', 'proc/timer_list']) {
      expect(live, sub).toContain(`${mp}/${sub}`);
    }
    // the bind is a slave (or private) of the rootfs's mount: read-only as root.readonly asks
    const bind = mounts().find((m) => m.mountPoint === mp)!;
    expect(bind.options.split(',')).toContain('ro');
    expect(bind.propagation).not.toMatch(/shared:/);
    // nothing was mounted at the rootfs's own path, and neither "/" nor the rootfs's mount changed
    expect(mountedUnder(h.rootfs)).toEqual([]);
    expect(mountOf('/')).toEqual(rootBefore);
    expect(mountOf(h.rootfs)).toEqual(rootfsMountBefore);

    // exec: the container's root (runc 1.1.5 leaves such a process in the host's "/")
    const ex = h.tsrun(['exec', id, 'sh', '-c', 'cat /etc/hostname; readlink /proc/self/ns/mnt; touch /x 2>&1; wc -c < /proc/timer_list; awk \'$5 == "/proc/sys" { print $6 }\' /proc/self/mountinfo']);
    expect(ex.code).toBe(0);
    const out = ex.stdout.trim().split('\n');
    expect(out[0]).toBe('tsrun');
    expect(out[1]).toBe(hostMntNs);
    expect(out[2]).toMatch(/Read-only file system/);
    expect(out[3].trim()).toBe('0'); // masked with /dev/null
    expect(out[4].split(',')).toContain('ro'); // the read-only /proc/sys

    expect(h.tsrun(['kill', id, 'KILL']).code).toBe(0);
    const d = h.tsrun(['delete', '--force', id]);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(mountedUnder(mp)).toEqual([]);
    expectGone(id);
  });

  it('a create that fails after mounting (a missing program) leaves no mount behind', () => {
    const id = h.id('missing');
    const b = h.bundle((c) => {
      noMountNs(c);
      c.process.args = ['no-such-program'];
    });
    const r = h.tsrun(['create', '--bundle', b, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('executable file not found in $PATH');
    expectGone(id);
  });

  it('a create killed after mounting leaves a container that delete --force removes, mounts included', () => {
    for (const point of ['create:hooks-ran', 'create:ready']) {
      const id = h.id('crash');
      const b = h.bundle((c) => {
        noMountNs(c);
        c.process.args = ['sleep', '1000'];
      });
      const r = spawnSync(TSRUN, ['--root', h.root, 'create', '--bundle', b, id], { stdio: 'ignore', env: { ...process.env, TSRUN_FAULT: point } });
      expect(r.signal, point).toBe('SIGKILL');
      expect(mountedUnder(path.join(fs.realpathSync(h.root), id, 'rootfs')).length, point).toBeGreaterThan(0);
      expect(h.tsrun(['delete', '--force', id]).code, point).toBe(0);
      expectGone(id);
    }
  });

  it('never unmounts what it did not mount: a host mount inside the rootfs stays, and is seen in the container', () => {
    const hostMount = path.join(h.rootfs, 'mnt');
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'nomntns-host', hostMount]).status).toBe(0);
    try {
      fs.writeFileSync(path.join(hostMount, 'marker'), 'host\n');
      const r = h.run(['cat', '/mnt/marker'], noMountNs);
      expect(r.stdout).toBe('host\n');
      expect(r.code).toBe(0);
      expect(mountedUnder(h.rootfs)).toEqual([hostMount]);
      expect(mountedUnder(path.join(h.root, r.id))).toEqual([]);
      expect(leftovers(h.root, r.id)).toEqual([]);
    } finally {
      spawnSync('umount', ['-l', hostMount]);
    }
  });

  it('rootfsPropagation goes to the container\'s bind only', () => {
    for (const [prop, want] of [
      ['shared', /shared:\d+/],
      ['unbindable', /unbindable/],
      ['private', /^$/],
    ] as const) {
      const r = h.run(['awk', '$5 == "/"', '/proc/self/mountinfo'], (c) => {
        noMountNs(c);
        c.linux.rootfsPropagation = prop;
      });
      expect(r.code, prop).toBe(0);
      const line = r.stdout.trim().split(' - ')[0].split(' ');
      expect(line.slice(6).join(' '), prop).toMatch(want);
      expectGone(r.id);
    }
  });

  it('a terminal works (its /dev/console bind is removed with the rest)', async () => {
    const ptyRun = nativeHelper('pty-run', h.dir);
    const id = h.id('tty');
    const b = h.bundle((c) => {
      noMountNs(c);
      c.process.terminal = true;
      c.process.args = ['sh', '-c', 'tty; grep -c " /dev/console " /proc/self/mountinfo'];
    });
    const cmd = [TSRUN, '--root', h.root, 'run', '--bundle', b, id].map((a) => `'${a}'`).join(' ');
    const proc = spawn(ptyRun, ['24', '80', '--', 'sh', '-c', `${cmd}; echo "EXIT=$?"`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    await new Promise((resolve) => proc.on('close', resolve));
    out = out.replace(/\r/g, '');
    expect(out).toMatch(/^\/dev\/pts\/0\n1\nEXIT=0$/m);
    expectGone(id);
  });
});
