// Escape attempts by a hostile bundle or process (issue 3, item 7), each
// against real containers: the init binary through /proc/PID/exe
// (CVE-2019-5736), a leaked fd as cwd (CVE-2024-21626), /dev/null and
// /dev/console planted in the image (CVE-2025-31133, CVE-2025-52565),
// procfs on a symlink (CVE-2019-19921), mount destinations through symlinks
// to host paths (CVE-2021-30465), masked paths reached around through /proc,
// and fds the container was never given.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, REPO, TSRUN, leftovers, rootAvailable, type Config } from '../helpers/harness';

const enabled = rootAvailable();
const O_PATH = 0o10000000;

// runc's default capabilities: no CAP_SYS_ADMIN, no CAP_SYS_PTRACE
const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
const defaultCaps = (c: Config) => {
  c.process.capabilities = { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS };
};

const sha256 = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe.skipIf(!enabled)('hardening: hostile bundles and processes', () => {
  let h: Harness;
  let hostDir: string; // a host directory with a marker the container must never see
  beforeAll(() => {
    h = new Harness('hardening');
    hostDir = path.join(h.dir, 'host-only');
    fs.mkdirSync(hostDir);
    fs.writeFileSync(path.join(hostDir, 'HOST-MARKER'), 'host\n');
  });
  afterAll(() => h?.cleanup());

  const state = (id: string) => JSON.parse(h.tsrun(['state', id]).stdout);

  /** A copy of the busybox rootfs, changed by edit (the image an attacker built). */
  function hostileRootfs(label: string, edit: (rootfs: string) => void): string {
    const r = path.join(h.dir, `rootfs-${label}`);
    execFileSync('cp', ['-a', h.rootfs, r]);
    edit(r);
    return r;
  }

  describe('the init binary (CVE-2019-5736)', () => {
    it('runs from a sealed memfd: /proc/PID/exe refuses writes, from the host and from a container', () => {
      const initBin = path.join(REPO, 'build/tsrun-init');
      const before = sha256(initBin);
      const id = h.id('exe');
      const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
      expect(h.tsrun(['create', '--bundle', b, id]).code).toBe(0);
      const pid = state(id).pid;
      const exe = `/proc/${pid}/exe`;
      // the init waiting in the created state is the native init, but not the host's file
      expect(fs.readlinkSync(exe)).toBe('/memfd:tsrun-init (deleted)');
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/^tsrun-init\x00\d+\x00$/);
      expect(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')).toBe('tsrun-init\n');
      // host root opening it for writing: refused (busy text, or the write seal)
      expect(() => fs.openSync(exe, 'r+')).toThrow(/ETXTBSY|EPERM/);

      // a process in a second container that shares the pid namespace sees the waiting init as pid 1
      const hostile = h.run(
        ['sh', '-c', 'readlink /proc/1/exe; (echo x > /proc/1/exe) 2>/dev/null && echo WROTE; (echo x >> /proc/1/exe) 2>/dev/null && echo APPENDED; exec 3</proc/1/exe && echo opened; (echo x >> /proc/self/fd/3) 2>/dev/null && echo REOPENED; echo done'],
        (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : n));
        },
      );
      expect(hostile.stdout).toBe('/memfd:tsrun-init (deleted)\nopened\ndone\n');
      expect(hostile.code).toBe(0);

      // the CVE's own way: hold an O_PATH fd of the exe until the init has exec'd the container
      // process (nothing executes the file then), and reopen it for writing through /proc/self/fd
      const held = fs.openSync(exe, O_PATH);
      try {
        expect(h.tsrun(['start', id]).code).toBe(0);
        expect(fs.readlinkSync(exe)).not.toMatch(/tsrun-init/);
        expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\x001000\x00');
        let error = '';
        try {
          const w = fs.openSync(`/proc/self/fd/${held}`, 'r+');
          try {
            fs.writeSync(w, 'x');
            error = 'written';
          } catch (e) {
            error = (e as NodeJS.ErrnoException).code ?? String(e);
          } finally {
            fs.closeSync(w);
          }
        } catch (e) {
          error = (e as NodeJS.ErrnoException).code ?? String(e);
        }
        // F_SEAL_WRITE: a sealed memfd takes no write, and the host's file was never reachable
        expect(error).toMatch(/^(EPERM|ETXTBSY)$/);
      } finally {
        fs.closeSync(held);
      }
      expect(sha256(initBin)).toBe(before);
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
      expect(leftovers(h.root, id)).toEqual([]);
    });

    it('the init of an exec runs from the sealed copy too', async () => {
      const id = h.id('exe-exec');
      const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
      expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
      // a foreground exec: its stage 0 (a child of the runtime) waits on the host for the exec'd process
      const tsrun = spawn(TSRUN, ['--root', h.root, 'exec', id, 'sleep', '3'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => tsrun.on('exit', (code) => resolve(code)));
      let stage0: string | undefined;
      for (let i = 0; i < 100 && !stage0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        stage0 = fs.readdirSync('/proc').find((d) => {
          try {
            return /^\d+$/.test(d) && fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(tsrun.pid);
          } catch {
            return false;
          }
        });
      }
      expect(stage0).toBeDefined();
      expect(fs.readFileSync(`/proc/${stage0}/cmdline`, 'utf8')).toMatch(/^tsrun-init\x00/);
      expect(fs.readlinkSync(`/proc/${stage0}/exe`)).toBe('/memfd:tsrun-init (deleted)');
      expect(await exited).toBe(0);
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    });
  });

  describe('cwd through a leaked fd (CVE-2024-21626)', () => {
    it('a cwd of /proc/self/fd/N fails create with a clear error or stays inside, for N = 3..12', () => {
      for (let n = 3; n <= 12; n++) {
        const id = h.id(`cwd${n}`);
        const b = h.bundle((c) => {
          c.process.args = ['sh', '-c', 'pwd; ls -a ..; ls -a .'];
          c.process.cwd = `/proc/self/fd/${n}`;
        });
        // the runtime's own cwd is the host directory with the marker
        const r = h.tsrun(['run', '--bundle', b, id], { cwd: hostDir });
        expect(r.stdout + r.stderr, `N=${n}`).not.toContain('HOST-MARKER');
        if (r.code !== 0) expect(r.stderr, `N=${n}`).toMatch(new RegExp(`cwd "/proc/self/fd/${n}"`));
        else expect(r.stdout.split('\n')[0], `N=${n}`).toMatch(/^\//);
        expect(leftovers(h.root, id)).toEqual([]);
      }
    });

    it('a host directory passed with --preserve-fds cannot become the cwd', () => {
      const id = h.id('cwd-preserved');
      const b = h.bundle((c) => {
        c.process.args = ['sh', '-c', 'ls -a; ls -a ..'];
        c.process.cwd = '/proc/self/fd/3';
      });
      const dirfd = fs.openSync(hostDir, 'r');
      try {
        const r = h.tsrun(['run', '--preserve-fds', '1', '--bundle', b, id], { extraFds: [dirfd] });
        expect(r.stdout).not.toContain('HOST-MARKER');
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('cwd "/proc/self/fd/3" is outside the container\'s root');
      } finally {
        fs.closeSync(dirfd);
      }
      expect(leftovers(h.root, id)).toEqual([]);
    });

    it('exec --cwd /proc/self/fd/N never lands on the host either', () => {
      const id = h.id('cwd-exec');
      const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
      expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
      for (let n = 3; n <= 12; n++) {
        const r = h.tsrun(['exec', '--cwd', `/proc/self/fd/${n}`, id, 'sh', '-c', 'pwd; ls -a ..'], { cwd: hostDir });
        expect(r.stdout + r.stderr, `N=${n}`).not.toContain('HOST-MARKER');
        if (r.code !== 0) expect(r.stderr, `N=${n}`).toMatch(new RegExp(`cwd "/proc/self/fd/${n}"`));
      }
      const dirfd = fs.openSync(hostDir, 'r');
      try {
        const r = h.tsrun(['exec', '--preserve-fds', '1', '--cwd', '/proc/self/fd/3', id, 'ls', '-a'], { extraFds: [dirfd] });
        expect(r.stdout).not.toContain('HOST-MARKER');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('is outside the container\'s root');
      } finally {
        fs.closeSync(dirfd);
      }
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    });
  });

  describe('files planted in the image', () => {
    // no tmpfs on /dev: the image's own /dev is used, and a node it already has is kept (as runc)
    const imageDev = (c: Config) => {
      c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== '/dev');
    };

    for (const kind of ['symlink to /proc/sys/kernel/core_pattern', 'regular file']) {
      it(`refuses to mask paths with a /dev/null that is a ${kind} (CVE-2025-31133)`, () => {
        const corePattern = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
        const rootfs = hostileRootfs(`null-${kind.split(' ')[0]}`, (r) => {
          if (kind.startsWith('symlink')) fs.symlinkSync('/proc/sys/kernel/core_pattern', path.join(r, 'dev/null'));
          else fs.writeFileSync(path.join(r, 'dev/null'), '');
        });
        const id = h.id('null');
        const b = h.bundle((c) => {
          c.root.path = rootfs;
          imageDev(c);
          c.process.args = ['sh', '-c', 'cat /proc/keys | head -c 10; echo x > /proc/keys && echo WROTE'];
        });
        const r = h.tsrun(['run', '--bundle', b, id]);
        expect(r.code).toBe(1);
        // refused by the device check (a different file at /dev/null) or, failing that, by the mask's own check
        expect(r.stderr).toMatch(/device "\/dev\/null": the rootfs already has a different file there|"\/dev\/null" in the container is not the null device \(char 1:3\)/);
        expect(r.stdout).not.toContain('WROTE');
        expect(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8')).toBe(corePattern);
        expect(leftovers(h.root, id, [rootfs])).toEqual([]);
      });
    }

    it('masks with the image\'s /dev/null when it is the real null device', () => {
      const rootfs = hostileRootfs('null-real', (r) => execFileSync('mknod', ['-m', '666', path.join(r, 'dev/null'), 'c', '1', '3']));
      const id = h.id('null-ok');
      const b = h.bundle((c) => {
        c.root.path = rootfs;
        imageDev(c);
        c.process.args = ['sh', '-c', 'wc -c < /proc/keys'];
      });
      const r = h.tsrun(['run', '--bundle', b, id]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('0\n');
      expect(leftovers(h.root, id, [rootfs])).toEqual([]);
    });

    it('refuses to bind the console onto a /dev/console that is a symlink (CVE-2025-52565)', async () => {
      const rootfs = hostileRootfs('console', (r) => fs.symlinkSync('/proc/sysrq-trigger', path.join(r, 'dev/console')));
      const id = h.id('console');
      const b = h.bundle((c) => {
        c.root.path = rootfs;
        imageDev(c);
        c.process.terminal = true;
      });
      // foreground with a terminal: stage 0 takes the master (see terminal.test.ts); stdin is not a tty here
      const r = h.tsrun(['run', '--bundle', b, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('"/dev/console" in the container is a symlink');
      expect(leftovers(h.root, id, [rootfs])).toEqual([]);
    });

    for (const [dest, type] of [['/proc', 'proc'], ['/sys', 'sysfs']]) {
      it(`refuses ${type} on ${dest} when the image made it a symlink (CVE-2019-19921)`, () => {
        const rootfs = hostileRootfs(`${type}-link`, (r) => {
          fs.rmSync(path.join(r, dest.slice(1)), { recursive: true });
          fs.mkdirSync(path.join(r, 'fake'));
          fs.symlinkSync('/fake', path.join(r, dest.slice(1)));
        });
        const id = h.id(type);
        const b = h.bundle((c) => (c.root.path = rootfs));
        const r = h.tsrun(['run', '--bundle', b, id]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`mount destination "${dest}" of ${type} is a symlink`);
        expect(fs.readdirSync(path.join(rootfs, 'fake'))).toEqual([]);
        expect(leftovers(h.root, id, [rootfs])).toEqual([]);
      });
    }

    it('refuses a masked or read-only path that ends in a symlink', () => {
      const rootfs = hostileRootfs('mask-link', (r) => {
        fs.mkdirSync(path.join(r, 'data'));
        fs.symlinkSync('/data', path.join(r, 'ro-link'));
        fs.symlinkSync('/data', path.join(r, 'mask-link'));
      });
      for (const [field, p, what] of [['readonlyPaths', '/ro-link', 'read-only path'], ['maskedPaths', '/mask-link', 'masked path']]) {
        const id = h.id('masklink');
        const b = h.bundle((c) => {
          c.root.path = rootfs;
          c.linux[field].push(p);
        });
        const r = h.tsrun(['run', '--bundle', b, id]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`${what} "${p}" is a symlink`);
        expect(leftovers(h.root, id, [rootfs])).toEqual([]);
      }
    });

    it('mount destinations through symlinks to host paths stay inside the rootfs (CVE-2021-30465)', () => {
      const target = path.join(h.dir, 'host-target');
      fs.mkdirSync(target);
      const src = path.join(h.dir, 'bind-src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'file'), 'bound\n');
      const rootfs = hostileRootfs('dest-links', (r) => {
        fs.symlinkSync(target, path.join(r, 'abs')); // an absolute host path
        fs.symlinkSync(`../../../../../../../../..${target}`, path.join(r, 'rel')); // climbing out
        fs.symlinkSync('/proc/self/root/..', path.join(r, 'magic')); // through a magic link
        fs.symlinkSync(path.join(h.dir, 'no-such-dir'), path.join(r, 'dangling'));
        // inside the rootfs, the same path exists: that is where the symlinks lead
        fs.mkdirSync(path.join(r, target.slice(1)), { recursive: true });
      });
      const id = h.id('links');
      const b = h.bundle((c) => {
        c.root.path = rootfs;
        c.process.args = ['sh', '-c', 'cat /abs/b/file /rel/b/file; grep -c tmpfs /proc/self/mountinfo'];
        c.mounts.push(
          { destination: '/abs/t', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/abs/b', type: 'bind', source: src, options: ['rbind'] },
          { destination: '/rel/t', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/rel/b', type: 'bind', source: src, options: ['rbind'] },
        );
      });
      const r = h.tsrun(['run', '--bundle', b, id]);
      expect(r.stderr).toBe('');
      expect(r.stdout.startsWith('bound\nbound\n')).toBe(true);
      // the mounts landed at <rootfs><target>/..., never on the host's target
      expect(fs.readdirSync(target)).toEqual([]);
      expect(fs.readdirSync(path.join(rootfs, target.slice(1))).sort()).toEqual(['b', 't']); // the mount points
      const magic = h.tsrun(['run', '--bundle', h.bundle((c) => {
        c.root.path = rootfs;
        c.mounts.push({ destination: '/magic/x', type: 'tmpfs', source: 'tmpfs' });
      }), h.id('magic')]);
      expect(magic.code).toBe(1); // a magic link is never followed
      const dangling = h.tsrun(['run', '--bundle', h.bundle((c) => {
        c.root.path = rootfs;
        c.mounts.push({ destination: '/dangling/x', type: 'tmpfs', source: 'tmpfs' });
      }), h.id('dangling')]);
      expect(dangling.code).toBe(1); // no such directory inside the rootfs: refused, nothing made on the host
      expect(dangling.stderr).toContain('create mount point "/dangling/x" in the rootfs');
      expect(fs.existsSync(path.join(h.dir, 'no-such-dir'))).toBe(false);
      expect(leftovers(h.root, id, [target, src])).toEqual([]);
    });
  });

  describe('masked and read-only paths (default capabilities)', () => {
    it('cannot be reached around through /proc, remounts, umount or a new user namespace', () => {
      const script = [
        'echo "root:$(wc -c < /proc/self/root/proc/timer_list)"',
        'echo "pid1root:$(wc -c < /proc/1/root/proc/keys)"',
        'exec 3</proc/timer_list; echo "fd:$(wc -c < /proc/self/fd/3)"',
        'echo "cwd:$(cd /proc/self/cwd/proc && wc -c < keys)"',
        'umount /proc/keys 2>/dev/null && echo UMOUNTED',
        'umount -l /proc/timer_list 2>/dev/null && echo UMOUNTED-LAZY',
        'mount -o remount,bind,rw /proc/sys 2>/dev/null && echo REMOUNTED',
        'mount --bind /proc /mnt 2>/dev/null && echo BOUND',
        'mount -t proc proc /mnt 2>/dev/null && echo NEWPROC',
        'mount -t tmpfs t /proc/acpi 2>/dev/null && echo OVERMOUNTED',
        '(echo 1 > /proc/sys/kernel/sysrq) 2>/dev/null && echo SYSCTL-WRITTEN',
        '(echo h > /proc/sysrq-trigger) 2>/dev/null && echo SYSRQ-WRITTEN',
        // a user namespace of its own: mounts it inherits are locked, and a new procfs is refused while masked
        'unshare -Urm sh -c "umount /proc/keys" 2>/dev/null && echo USERNS-UMOUNTED',
        'unshare -Urm sh -c "mount -o remount,rw /proc/sys" 2>/dev/null && echo USERNS-REMOUNTED',
        'unshare -Urmpf sh -c "mount -t proc proc /mnt && wc -c < /mnt/keys" 2>/dev/null && echo USERNS-NEWPROC',
        'echo "keys:$(wc -c < /proc/keys)"',
      ].join('; ');
      const id = h.id('masked');
      const b = h.bundle((c) => {
        defaultCaps(c);
        c.process.args = ['sh', '-c', script];
      });
      const r = h.tsrun(['run', '--bundle', b, id]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('root:0\npid1root:0\nfd:0\ncwd:0\nkeys:0\n');
      expect(fs.readFileSync('/proc/keys', 'utf8').length).toBeGreaterThan(0);
      expect(leftovers(h.root, id)).toEqual([]);
    });

    it('a mount under a read-only path is read-only too', () => {
      const src = path.join(h.dir, 'under-ro');
      fs.mkdirSync(src, { recursive: true });
      const id = h.id('ro-sub');
      const b = h.bundle((c) => {
        c.process.args = ['sh', '-c', '(touch /data/sub/x) 2>/dev/null && echo WRITABLE; echo done'];
        c.mounts.push({ destination: '/data/sub', type: 'bind', source: src, options: ['rbind', 'rw'] });
        c.linux.readonlyPaths.push('/data');
      });
      const r = h.tsrun(['run', '--bundle', b, id]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('done\n');
      expect(fs.readdirSync(src)).toEqual([]);
    });
  });

  describe('fds', () => {
    it('fds open in the runtime but not asked for with --preserve-fds never reach the container', () => {
      const id = h.id('fds');
      const b = h.bundle((c) => (c.process.args = ['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "']));
      const dirfd = fs.openSync(hostDir, 'r');
      const filefd = fs.openSync(path.join(hostDir, 'HOST-MARKER'), 'r');
      try {
        const r = h.tsrun(['run', '--bundle', b, id], { extraFds: [dirfd, filefd] });
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('0 1 2 3 '); // stdio and ls's own
      } finally {
        fs.closeSync(dirfd);
        fs.closeSync(filefd);
      }
    });
  });
});
