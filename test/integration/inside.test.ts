// What the config asks for, seen from inside real containers: namespaces,
// hostname, mounts, devices, users, rlimits, sysctls, masked and read-only
// paths, cwd and env, and the fds a container gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Harness, leftovers, rootAvailable, TSRUN } from '../helpers/harness';

const enabled = rootAvailable();

describe.skipIf(!enabled)('inside the container', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('inside');
    // for tmpcopyup: something of every kind under the rootfs's /etc
    const dir = path.join(h.rootfs, 'etc/copyup-dir');
    fs.mkdirSync(dir, { mode: 0o710 });
    fs.chmodSync(dir, 0o710);
    fs.writeFileSync(path.join(dir, 'f'), 'x', { mode: 0o600 });
    fs.chownSync(path.join(dir, 'f'), 1000, 1001);
    fs.chownSync(dir, 1000, 1001);
    fs.symlinkSync('passwd', path.join(h.rootfs, 'etc/copyup-link'));
  });
  afterAll(() => h?.cleanup());

  function sh(script: string, edit: Parameters<Harness['run']>[1] = () => undefined) {
    const r = h.run(['sh', '-c', script], edit);
    expect(r.stderr, r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(leftovers(h.root, r.id)).toEqual([]);
    return r.stdout;
  }

  it('has its own namespaces for each one the config asks', () => {
    const out = sh('for n in pid net ipc uts mnt cgroup user; do echo "$n $(readlink /proc/self/ns/$n)"; done');
    const inside = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')));
    for (const n of ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup']) {
      expect(inside[n], n).not.toBe(fs.readlinkSync(`/proc/self/ns/${n}`));
    }
    // no user namespace in the config: the host's
    expect(inside.user).toBe(fs.readlinkSync('/proc/self/ns/user'));
  });

  it('is pid 1 of its pid namespace', () => {
    expect(sh('echo $$')).toBe('1\n');
  });

  it('sets hostname and domainname', () => {
    expect(sh('hostname; cat /proc/sys/kernel/domainname', (c) => (c.domainname = 'example.org'))).toBe('tsrun-test\nexample.org\n');
  });

  it('mounts what the config lists, and / read-only', () => {
    const out = sh('cat /proc/self/mountinfo; touch /x 2>&1 || echo "root is read-only"');
    const mounts = out
      .split('\n')
      .filter((l) => / - /.test(l))
      .map((l) => {
        const f = l.split(' ');
        return { point: f[4], opts: f[5], type: l.split(' - ')[1].split(' ')[0] };
      });
    const at = (p: string) => mounts.find((m) => m.point === p);
    expect(at('/')?.opts).toMatch(/^ro\b/);
    expect(at('/proc')?.type).toBe('proc');
    expect(at('/dev')?.type).toBe('tmpfs');
    expect(at('/dev/pts')?.type).toBe('devpts');
    expect(at('/dev/shm')?.type).toBe('tmpfs');
    expect(at('/dev/mqueue')?.type).toBe('mqueue');
    expect(at('/sys')?.type).toBe('sysfs');
    expect(at('/sys')?.opts).toMatch(/^ro\b/);
    expect(at('/dev/shm')?.opts).toContain('nodev');
    expect(out).toContain('root is read-only');
    // no host path leaks in as a mount point
    expect(mounts.some((m) => m.point.startsWith(h.dir))).toBe(false);
  });

  it('binds a host directory, read-only when asked', () => {
    const src = path.join(h.dir, 'shared');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'note'), 'from the host');
    const out = sh('cat /mnt/data/note; echo; touch /mnt/data/x 2>/dev/null && echo writable || echo read-only', (c) =>
      c.mounts.push({ destination: '/mnt/data', type: 'bind', source: src, options: ['rbind', 'ro'] }),
    );
    expect(out).toBe('from the host\nread-only\n');
  });

  it('copies what the rootfs has at a tmpfs destination into it with tmpcopyup', () => {
    // the rootfs's /etc: files, a directory, a symlink, their modes and owners; the copy is writable, the rootfs untouched
    const out = sh(
      'stat -c "%n %a %u:%g" /etc /etc/passwd /etc/copyup-dir /etc/copyup-dir/f; readlink /etc/copyup-link; ' +
        'grep -c root /etc/passwd; echo new > /etc/copyup-dir/g && cat /etc/copyup-dir/g; grep " /etc " /proc/self/mountinfo | cut -d" " -f9',
      (c) => c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'nosuid', 'mode=755'] }),
    );
    expect(out).toBe(
      ['/etc 755 0:0', '/etc/passwd 644 0:0', '/etc/copyup-dir 710 1000:1001', '/etc/copyup-dir/f 600 1000:1001', 'passwd', '1', 'new', 'tmpfs', ''].join('\n'),
    );
    expect(fs.existsSync(path.join(h.rootfs, 'etc/copyup-dir/g'))).toBe(false);
    // without it, the tmpfs is empty
    expect(sh('ls -A /etc', (c) => c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs' }))).toBe('');
  });

  it('creates the default devices and symlinks, and the config\'s devices', () => {
    const out = sh('ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/mydev; for l in /dev/fd /dev/stdin /dev/ptmx; do readlink $l; done; echo x > /dev/null && echo ok', (c) => {
      c.linux.devices = [{ path: '/dev/mydev', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 0, gid: 0 }];
    });
    expect(out).toMatch(/^crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .* \/dev\/null$/m);
    expect(out).toMatch(/^crw-rw-rw-\s+1 root\s+root\s+1,\s+9 .* \/dev\/urandom$/m);
    expect(out).toMatch(/^crw-r-----\s+1 root\s+root\s+1,\s+3 .* \/dev\/mydev$/m);
    expect(out).toContain('/proc/self/fd\n/proc/self/fd/0\npts/ptmx\nok\n');
  });

  it('runs as the configured user, groups and umask, in the configured cwd with the env', () => {
    const out = sh('grep -E "^(Uid|Gid|Groups):" /proc/self/status; umask; pwd; echo "$FOO"; echo "$HOME"', (c) => {
      c.process.user = { uid: 1000, gid: 1001, additionalGids: [5, 1002], umask: 0o027 };
      c.process.cwd = '/tmp';
      c.process.env.push('FOO=bar baz');
    });
    expect(out).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(out).toMatch(/^Gid:\s+1001\s+1001\s+1001\s+1001$/m);
    expect(out).toMatch(/^Groups:\s+5 1002\s*$/m);
    expect(out).toContain('0027\n/tmp\nbar baz\n/\n');
  });

  it('takes HOME from the container\'s /etc/passwd when the env has none', () => {
    expect(sh('echo $HOME')).toBe('/root\n');
  });

  it('applies rlimits and oom_score_adj', () => {
    const out = sh('grep -E "Max open files|Max processes" /proc/self/limits; cat /proc/self/oom_score_adj', (c) => {
      c.process.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 },
        { type: 'RLIMIT_NPROC', soft: 77, hard: 88 },
      ];
      c.process.oomScoreAdj = 123;
    });
    expect(out).toMatch(/^Max open files\s+512\s+1000\s+files/m);
    expect(out).toMatch(/^Max processes\s+77\s+88\s+processes/m);
    expect(out.trim().endsWith('123')).toBe(true);
  });

  it('writes sysctls before /proc/sys turns read-only', () => {
    const out = sh('cat /proc/sys/net/ipv4/ip_forward; (echo 0 > /proc/sys/net/ipv4/ip_forward) 2>/dev/null || echo ro', (c) => {
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    });
    expect(out).toBe('1\nro\n');
  });

  it('masks and write-protects paths', () => {
    // files are masked with /dev/null, directories with an empty read-only tmpfs
    const out = sh('wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; ls /proc/acpi | wc -l; (touch /proc/acpi/x) 2>/dev/null || echo ro; (mkdir /proc/bus/x) 2>/dev/null || echo ro', (c) => {
      c.linux.maskedPaths = ['/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/acpi', '/proc/no-such-path'];
      c.linux.readonlyPaths = ['/proc/bus', '/proc/no-such-path'];
    });
    expect(out).toBe('0\n0\n0\n0\nro\nro\n');
    expect(fs.readFileSync('/proc/keys', 'utf8').length).toBeGreaterThan(0);
  });

  it('brings up loopback in a new network namespace', () => {
    expect(sh('ip -o link show lo | grep -o "UP" | head -1')).toBe('UP\n');
  });

  it('gives the container only its stdio: no other fd reaches it', () => {
    const out = sh('ls /proc/self/fd');
    // 0, 1, 2 and the fd ls itself holds on /proc/self/fd
    expect(out.trim().split('\n').map(Number).sort()).toEqual([0, 1, 2, 3]);
  });

  it('creates a user namespace with the mappings', () => {
    const out = sh('cat /proc/self/uid_map /proc/self/gid_map; id -u', (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      // sysfs cannot be mounted in a user namespace without a new network namespace owned by it: it has one
    });
    expect(out.replace(/\s+/g, ' ').trim()).toBe('0 100000 65536 0 100000 65536 0');
  });

  it("binds sources the user namespace's root could not reach (opened by stage 0, as runc 1.1 does)", () => {
    // a 0700 directory of the host's root: host uid 100000 may not search it
    const hidden = fs.mkdtempSync(path.join(h.dir, 'hidden-'));
    fs.chmodSync(hidden, 0o700);
    fs.writeFileSync(path.join(hidden, 'file'), 'reached\n');
    fs.mkdirSync(path.join(hidden, 'dir'));
    fs.writeFileSync(path.join(hidden, 'dir', 'inner'), 'inner\n');
    const out = sh('cat /etc/hostname /mnt/inner; touch /mnt/x 2>/dev/null || echo read-only', (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.mounts.push({ destination: '/etc/hostname', source: path.join(hidden, 'file'), options: ['bind', 'ro'] });
      c.mounts.push({ destination: '/mnt', source: path.join(hidden, 'dir'), options: ['rbind', 'ro'] });
    });
    expect(out).toBe('reached\ninner\nread-only\n');
  });

  it('creates a time namespace with the offsets', () => {
    const out = sh('cut -d. -f1 /proc/uptime', (c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { boottime: { secs: 86400 * 365, nanosecs: 0 }, monotonic: { secs: 86400 * 30, nanosecs: 0 } };
    });
    expect(Number(out.trim())).toBeGreaterThan(86400 * 365);
  });

  it('joins an existing namespace by path', () => {
    const id = h.id('netowner');
    const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
    expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
    const pid = JSON.parse(h.tsrun(['state', id]).stdout).pid;
    const theirs = fs.readlinkSync(`/proc/${pid}/ns/net`);
    const out = sh('readlink /proc/self/ns/net', (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : n));
    });
    expect(out.trim()).toBe(theirs);
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
  });

  it('works without pivot_root (--no-pivot)', () => {
    const id = h.id('nopivot');
    const b = h.bundle((c) => (c.process.args = ['sh', '-c', 'cat /etc/hostname']));
    const r = h.tsrun(['run', '--no-pivot', '--bundle', b, id]);
    expect(r.stdout).toBe('tsrun\n');
    expect(r.code).toBe(0);
  });

  it('passes --preserve-fds N more descriptors, and no others', () => {
    const id = h.id('fds');
    const b = h.bundle((c) => (c.process.args = ['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; cat <&3; cat <&4']));
    const f3 = path.join(h.dir, 'fd3');
    const f4 = path.join(h.dir, 'fd4');
    fs.writeFileSync(f3, 'three\n');
    fs.writeFileSync(f4, 'four\n');
    const fd3 = fs.openSync(f3, 'r');
    const fd4 = fs.openSync(f4, 'r');
    try {
      const r = h.tsrun(['run', '--preserve-fds', '2', '--bundle', b, id], { extraFds: [fd3, fd4] });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('0 1 2 3 4 5 three\nfour\n');
    } finally {
      fs.closeSync(fd3);
      fs.closeSync(fd4);
    }
  });

  it('passes socket-activation fds (LISTEN_FDS for its own pid) first, then --preserve-fds; LISTEN_PID=1 inside', () => {
    const b = h.bundle((c) => (c.process.args = ['sh', '-c', 'echo "$LISTEN_FDS $LISTEN_PID"; cat <&3; cat <&4; ls /proc/self/fd | sort -n | tr "\\n" " "']));
    const files = ['listen', 'preserved'].map((n) => {
      const f = path.join(h.dir, `fd-${n}`);
      fs.writeFileSync(f, `${n}\n`);
      return fs.openSync(f, 'r');
    });
    try {
      // LISTEN_PID must name the runtime itself: a shell sets it to its own pid, then execs tsrun
      const id = h.id('listen');
      const script = `export LISTEN_FDS=1 LISTEN_PID=$$; exec "$0" --root "$1" run --preserve-fds 1 --bundle "$2" "$3"`;
      const r = spawnSync('sh', ['-c', script, TSRUN, h.root, b, id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', ...files], timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('1 1\nlisten\npreserved\n0 1 2 3 4 5 ');
      // LISTEN_FDS meant for another process: not passed on, and not set inside
      const other = h.id('listen');
      const r2 = spawnSync('sh', ['-c', `export LISTEN_FDS=1 LISTEN_PID=1; exec "$0" --root "$1" run --bundle "$2" "$3"`, TSRUN, h.root, b, other], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe', ...files],
        timeout: 60_000,
      });
      expect(r2.stdout.split('\n')[0]).toBe(' ');
      expect(r2.stdout).not.toContain('listen');
    } finally {
      for (const fd of files) fs.closeSync(fd);
    }
  });

  it('joins a new session keyring named after the container, unless --no-new-keyring', () => {
    const keys = (extra: string[]) => {
      const id = h.id('keyring');
      const b = h.bundle((c) => {
        c.process.args = ['cat', '/proc/self/../keys'];
        c.linux.maskedPaths = [];
      });
      const r = h.tsrun(['run', ...extra, '--bundle', b, id]);
      expect(r.code).toBe(0);
      return { id, out: r.stdout };
    };
    const fresh = keys([]);
    expect(fresh.out).toContain(`_ses.${fresh.id}`);
    const none = keys(['--no-new-keyring']);
    expect(none.out).not.toContain(`_ses.${none.id}`);
  });

  it('follows rootfsPropagation and a mount\'s propagation option', () => {
    const src = path.join(h.dir, 'prop');
    fs.mkdirSync(src, { recursive: true });
    const out = sh('awk \'$5 == "/" || $5 == "/mnt/p"\' /proc/self/mountinfo', (c) => {
      c.linux.rootfsPropagation = 'shared';
      c.mounts.push({ destination: '/mnt/p', type: 'bind', source: src, options: ['rbind', 'rprivate'] });
    });
    const root = out.split('\n').find((l) => l.split(' ')[4] === '/')!;
    const mnt = out.split('\n').find((l) => l.split(' ')[4] === '/mnt/p')!;
    expect(root).toMatch(/ shared:\d+/);
    expect(mnt).not.toMatch(/ (shared|master):\d+/);
  });

  it('fails create when the executable does not exist, in podman\'s words', () => {
    const r = h.run(['no-such-program']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('executable file not found in $PATH');
    expect(leftovers(h.root, r.id)).toEqual([]);
  });
});
