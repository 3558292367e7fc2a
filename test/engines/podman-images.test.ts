// podman 4.3 with tsrun and a real image: the busybox rootfs loaded by
// `podman import` into a private overlay storage (kernel overlayfs), run under
// containers-common's default seccomp profile. Each container's root is an
// overlay of the image layer, and its writes stay in its own upper layer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TSRUN, commandOf, engineAvailable, flagsOf, runCmd } from './engines';
import { BASE_IMAGE, DEFAULT_SECCOMP, PodmanImages } from './podman-images';

const enabled = engineAvailable('podman', ['podman', 'conmon', 'script', 'tar']);

/** The mountinfo line of the container's root: its fstype and super options. */
function rootMount(mountinfo: string): { fstype: string; options: string } | undefined {
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep > 0 && f[4] === '/') return { fstype: f[sep + 1], options: f[sep + 3] ?? '' };
  }
  return undefined;
}

describe.skipIf(!enabled)('podman with tsrun: an imported image on overlay storage', () => {
  let p: PodmanImages;
  let imageLayer: string;

  beforeAll(() => {
    p = new PodmanImages();
    // a file of the image layer that containers will overwrite
    fs.writeFileSync(path.join(p.rootfs, 'etc/layer.txt'), 'from the image\n');
    p.importRootfs();
    imageLayer = p.podman(['image', 'inspect', '--format', '{{.GraphDriver.Data.UpperDir}}', BASE_IMAGE]).stdout.trim();
  });

  afterAll(() => {
    if (!p) return;
    const problems = p.cleanup();
    const left = p.leftovers();
    if (problems.length || left.length) {
      throw new Error(`podman images test left things behind (kept ${p.dir}):\n${[...problems, ...left].join('\n')}`);
    }
    p.removeDir();
  });

  const status = (name: string) => p.inspect(name, '{{.State.Status}}');
  /** Nothing of the container left: podman forgot it, no tsrun state, no overlay mount of its layer. */
  const noTrace = (id: string) => {
    expect(p.podman(['ps', '-a', '-q', '--no-trunc']).stdout).not.toContain(id);
    expect(fs.existsSync(path.join(p.tsrunRoot, id))).toBe(false);
    expect(p.overlayMounts()).toEqual([]);
  };

  it('the image is in overlay storage, and podman uses the default seccomp profile', () => {
    expect(p.podman(['info', '--format', '{{.Store.GraphDriverName}}']).stdout.trim()).toBe('overlay');
    expect(p.podman(['info', '--format', '{{.Host.Security.SECCOMPProfilePath}}']).stdout.trim()).toBe(DEFAULT_SECCOMP);
    expect(fs.readFileSync(path.join(p.dir, 'containers.conf'), 'utf8')).not.toMatch(/seccomp/);
    expect(imageLayer.startsWith(`${p.dir}/graph/overlay/`)).toBe(true);
    expect(fs.readFileSync(path.join(imageLayer, 'etc/layer.txt'), 'utf8')).toBe('from the image\n');
    expect(fs.existsSync(path.join(imageLayer, 'bin/busybox'))).toBe(true);
  });

  it('run --rm: output, exit status, and nothing left', () => {
    const r = p.runImage(['--rm', '--name', 'rm1'], BASE_IMAGE, ['sh', '-c', 'echo hello $PATH; echo err >&2; exit 7']);
    // PATH comes from podman's defaults for an image without one, not from a --rootfs spec
    expect(r.stdout).toBe('hello /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(7);
    const create = p.calls().filter((c) => commandOf(c.argv).command === 'create').at(-1);
    noTrace(create!.argv.at(-1)!);
  });

  it('seccomp: Seccomp 2 inside, and the profile refuses swapoff (unconfined, the kernel answers)', () => {
    // with CAP_SYS_ADMIN the kernel would answer ENOENT; the profile blocks swapoff with EPERM for everyone
    const confined = p.runImage(['--rm', '--cap-add', 'SYS_ADMIN'], BASE_IMAGE, ['sh', '-c', 'grep Seccomp: /proc/self/status; swapoff /no/such/swap']);
    expect(confined.stdout).toBe('Seccomp:\t2\n');
    expect(confined.stderr).toBe('swapoff: /no/such/swap: Operation not permitted\n');
    expect(confined.code).toBe(1);
    const unconfined = p.runImage(['--rm', '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined'], BASE_IMAGE, ['sh', '-c', 'grep Seccomp: /proc/self/status; swapoff /no/such/swap']);
    expect(unconfined.stdout).toBe('Seccomp:\t0\n');
    expect(unconfined.stderr).toBe('swapoff: /no/such/swap: No such file or directory\n');
    expect(unconfined.code).toBe(1);
  });

  describe('a running container', () => {
    let id: string;
    beforeAll(() => {
      const r = p.runImage(['-d', '--name', 'live'], BASE_IMAGE, ['sleep', '1000']); // pid 1 ignores SIGTERM
      if (r.code !== 0) throw new Error(`podman run -d: ${r.stderr}`);
      id = r.stdout.trim();
    });
    afterAll(() => {
      if (id) p.podman(['rm', '--force', '--time', '0', 'live']);
    });

    it('run -d: running, and tsrun got the default profile in the bundle', () => {
      expect(status('live')).toBe('running');
      expect((JSON.parse(runCmd(p.dir, TSRUN, ['state', id]).stdout) as { status: string }).status).toBe('running');
      const create = p.calls().find((c) => commandOf(c.argv).command === 'create' && c.argv.at(-1) === id);
      const bundle = flagsOf(commandOf(create!.argv).args, ['--bundle', '--pid-file', '--console-socket']).flags['--bundle'] as string;
      const seccomp = (JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { linux: { seccomp: { defaultAction: string; defaultErrnoRet: number; syscalls: { names: string[]; action: string }[] } } }).linux.seccomp;
      const profile = JSON.parse(fs.readFileSync(DEFAULT_SECCOMP, 'utf8')) as { defaultAction: string; defaultErrnoRet: number };
      expect([seccomp.defaultAction, seccomp.defaultErrnoRet]).toEqual([profile.defaultAction, profile.defaultErrnoRet]);
      expect(seccomp.syscalls.some((s) => s.action === 'SCMP_ACT_ERRNO' && s.names.includes('swapoff'))).toBe(true);
    });

    it('the root is an overlay mount with the image layer below and the container\'s own layer on top', () => {
      const r = p.podman(['exec', 'live', 'cat', '/proc/self/mountinfo']);
      expect(r.code).toBe(0);
      const root = rootMount(r.stdout);
      expect(root?.fstype).toBe('overlay');
      const upper = p.inspect('live', '{{.GraphDriver.Data.UpperDir}}');
      expect(root?.options).toContain(`upperdir=${upper},`);
      // the host sees the same mount at the layer's merged dir (what cleanup must undo)
      expect(p.overlayMounts()).toEqual([path.join(path.dirname(upper), 'merged')]);
      expect(root?.options).toMatch(new RegExp(`lowerdir=${p.dir}/graph/overlay/l/`));
      // the lower dir is a short link to the image layer
      const lower = /lowerdir=([^,:]+)/.exec(root!.options)![1];
      expect(fs.realpathSync(lower)).toBe(fs.realpathSync(imageLayer));
    });

    it('writes stay in the container: neither the image layer nor a second container sees them', () => {
      const w = p.podman(['exec', 'live', 'sh', '-c', 'echo mine > /mine.txt && echo changed > /etc/layer.txt && cat /etc/layer.txt']);
      expect(w.stdout).toBe('changed\n');
      expect(w.code).toBe(0);
      const upper = p.inspect('live', '{{.GraphDriver.Data.UpperDir}}');
      expect(fs.readFileSync(path.join(upper, 'mine.txt'), 'utf8')).toBe('mine\n');
      expect(fs.readFileSync(path.join(upper, 'etc/layer.txt'), 'utf8')).toBe('changed\n'); // copied up
      expect(fs.existsSync(path.join(imageLayer, 'mine.txt'))).toBe(false);
      expect(fs.readFileSync(path.join(imageLayer, 'etc/layer.txt'), 'utf8')).toBe('from the image\n');
      const other = p.runImage(['--rm'], BASE_IMAGE, ['sh', '-c', 'cat /etc/layer.txt; ls /mine.txt']);
      expect(other.stdout).toBe('from the image\n');
      expect(other.stderr).toBe('ls: /mine.txt: No such file or directory\n');
      expect(other.code).toBe(1);
    });

    it('exec: output and exit status', () => {
      const r = p.podman(['exec', 'live', 'sh', '-c', 'echo in $(cat /proc/1/comm); exit 5']);
      expect(r.stdout).toBe('in sleep\n');
      expect(r.code).toBe(5);
    });

    it('exec -it: a terminal, and stdin reaches it', () => {
      const r = p.podmanOnPty(['exec', '-it', 'live', 'sh', '-c', 'tty; read line; echo "got $line"'], { input: 'hello\n' });
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
      expect(r.stdout).toMatch(/got hello/);
      expect(r.code).toBe(0);
    });

    it('stop (kill 15, then 9) and rm: the layer is unmounted and removed', () => {
      const upper = p.inspect('live', '{{.GraphDriver.Data.UpperDir}}');
      const s = p.podman(['stop', '--time', '1', 'live']);
      expect(s.code).toBe(0);
      expect(status('live')).toBe('exited');
      const kills = p.calls().filter((c) => c.argv.includes(id) && commandOf(c.argv).command === 'kill').map((c) => commandOf(c.argv).args);
      expect(kills).toEqual([[id, '15'], [id, '9']]);
      expect(p.overlayMounts()).toEqual([]); // podman unmounts a stopped container's root
      expect(p.podman(['rm', 'live']).code).toBe(0);
      expect(fs.existsSync(upper)).toBe(false);
      noTrace(id);
      id = '';
    });
  });

  it('every tsrun call succeeded', () => {
    const failed = p.calls().filter((c) => c.rc !== 0).map((c) => c.argv.join(' '));
    expect(failed).toEqual([]);
  });
});
