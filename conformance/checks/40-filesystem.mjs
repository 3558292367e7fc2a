// The container's filesystem: root, mounts and their options, devices, /dev
// symlinks, masked and read-only paths, rootfs propagation.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check, parseMountinfo } from '../lib.mjs';

/** The container's own mountinfo, printed by the program, parsed. */
function mountinfo(t, edit) {
  const { out } = t.sh('cat /proc/self/mountinfo', edit);
  return parseMountinfo(out);
}

const lastAt = (mounts, dir) => mounts.filter((m) => m.mountPoint === dir).at(-1);

check('config.md#root', 'root.readonly true makes the root filesystem read-only', (t) => {
  const { out } = t.sh('touch /rofile 2>&1; echo rc=$?', (c) => { c.root.readonly = true; });
  t.ok(/Read-only file system/.test(out) && !/rc=0/.test(out), 'a file could be created in a read-only root', { out });
});

check('config.md#root', 'root.readonly false leaves the root filesystem writable', (t) => {
  const b = t.shBundle('echo data > /rwfile && echo rc=$?');
  const { out } = t.run(b);
  t.eq(out.trim(), 'rc=0', 'write to the root filesystem');
  t.eq(fs.readFileSync(path.join(b.rootfs, 'rwfile'), 'utf8'), 'data\n', 'the file in the bundle rootfs');
});

check('config.md#mounts', 'a tmpfs mount is mounted at its destination with its type', (t) => {
  const m = mountinfo(t, (c) => { c.mounts.push({ destination: '/conf-tmpfs', type: 'tmpfs', source: 'conftmp', options: ['size=1m'] }); });
  const e = lastAt(m, '/conf-tmpfs');
  t.ok(e && e.fstype === 'tmpfs', 'no tmpfs at /conf-tmpfs', { mount: e });
});

check('config.md#mounts', 'mounts are mounted in the listed order', (t) => {
  const m = mountinfo(t, (c) => {
    c.mounts.push({ destination: '/conf-order', type: 'tmpfs', source: 'first', options: ['size=1m'] });
    c.mounts.push({ destination: '/conf-order/inner', type: 'tmpfs', source: 'second', options: ['size=1m'] });
    c.mounts.push({ destination: '/conf-order/inner', type: 'tmpfs', source: 'third', options: ['size=2m'] });
  });
  const seq = m.filter((e) => e.mountPoint.startsWith('/conf-order')).map((e) => `${e.mountPoint}:${e.source}`);
  t.eq(seq, ['/conf-order:first', '/conf-order/inner:second', '/conf-order/inner:third'], 'mounts under /conf-order, in mountinfo order');
});

check('config.md#mounts', 'a relative destination is taken relative to "/"', (t) => {
  const m = mountinfo(t, (c) => { c.mounts.push({ destination: 'conf-relative', type: 'tmpfs', source: 'rel', options: ['size=1m'] }); });
  t.ok(lastAt(m, '/conf-relative'), 'no mount at /conf-relative', { mounts: m.map((e) => e.mountPoint) });
});

check('config.md#linux-mount-options', 'ro, nosuid, nodev and noexec are applied', (t) => {
  const m = mountinfo(t, (c) => {
    c.mounts.push({ destination: '/conf-opts', type: 'tmpfs', source: 'opts', options: ['ro', 'nosuid', 'nodev', 'noexec'] });
  });
  const e = lastAt(m, '/conf-opts');
  t.ok(e, 'no mount at /conf-opts');
  const missing = ['ro', 'nosuid', 'nodev', 'noexec'].filter((o) => !e.options.includes(o));
  t.ok(missing.length === 0, `missing mount flags: ${missing.join(',')}`, { options: e.options });
});

check('config.md#linux-mount-options', 'atime options are applied (noatime, nodiratime)', (t) => {
  const m = mountinfo(t, (c) => {
    c.mounts.push({ destination: '/conf-atime', type: 'tmpfs', source: 'atime', options: ['noatime', 'nodiratime'] });
  });
  const e = lastAt(m, '/conf-atime');
  t.ok(e && e.options.includes('noatime') && e.options.includes('nodiratime'), 'noatime/nodiratime not set', { options: e?.options });
});

check('config.md#linux-mount-options', 'unknown options are passed as filesystem data (tmpfs mode=)', (t) => {
  const { out } = t.sh('stat -c %a /conf-data', (c) => {
    c.mounts.push({ destination: '/conf-data', type: 'tmpfs', source: 'data', options: ['mode=700', 'size=1m'] });
  });
  t.eq(out.trim(), '700', 'mode of the tmpfs root');
});

check('config.md#linux-mount-options', 'nosymfollow is applied', (t) => {
  const m = mountinfo(t, (c) => {
    c.mounts.push({ destination: '/conf-nosym', type: 'tmpfs', source: 'nosym', options: ['nosymfollow'] });
  });
  const e = lastAt(m, '/conf-nosym');
  t.ok(e && e.options.includes('nosymfollow'), 'nosymfollow not set', { options: e?.options });
}, { level: 'SHOULD' });

check('config.md#linux-mount-options', 'bind mounts a host directory', (t) => {
  const src = t.tmp('bindsrc');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'hello'), 'from-host\n');
  const { out } = t.sh('cat /mnt/bind/hello', (c) => {
    c.mounts.push({ destination: '/mnt/bind', type: 'none', source: src, options: ['bind'] });
  });
  t.eq(out.trim(), 'from-host', 'content of the bound file');
});

check('config.md#linux-mount-options', 'bind mounts a host file onto a path that does not exist yet', (t) => {
  const src = t.tmp('bindfile');
  fs.writeFileSync(src, 'file-from-host\n');
  const { out } = t.sh('cat /etc/conf-bound.txt', (c) => {
    c.mounts.push({ destination: '/etc/conf-bound.txt', type: 'bind', source: src, options: ['bind'] });
  });
  t.eq(out.trim(), 'file-from-host', 'content of the bound file');
});

check('config.md#linux-mount-options', 'filesystem data options on a bind mount are ignored, as mount(8) does', (t) => {
  const src = t.tmp('binddata');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'hello'), 'data-ignored\n');
  const { out } = t.sh('cat /mnt/bd/hello', (c) => {
    c.mounts.push({ destination: '/mnt/bd', type: 'bind', source: src, options: ['nosuid', 'mode=755', 'size=1k', 'bind'] });
  });
  t.eq(out.trim(), 'data-ignored', 'content of the bound file');
}, { level: 'SHOULD' });

check('config.md#linux-mount-options', 'a bind mount with ro is read-only', (t) => {
  const src = t.tmp('bindro');
  fs.mkdirSync(src);
  const { out } = t.sh('touch /mnt/ro/x 2>&1; echo rc=$?', (c) => {
    c.mounts.push({ destination: '/mnt/ro', type: 'none', source: src, options: ['bind', 'ro'] });
  });
  t.ok(/Read-only file system/.test(out), 'a file could be created in a ro bind mount', { out });
  t.ok(!fs.existsSync(path.join(src, 'x')), 'the file appeared on the host');
});

check('config.md#linux-mount-options', 'bind (not rbind) does not bring the submounts', (t) => {
  const src = t.tmp('bindnorec');
  t.hostTmpfs(path.join(src, 'sub'));
  fs.writeFileSync(path.join(src, 'sub', 'in-submount'), '');
  const { out } = t.sh('ls /mnt/b/sub', (c) => {
    c.mounts.push({ destination: '/mnt/b', type: 'none', source: src, options: ['bind'] });
  });
  t.ok(!out.includes('in-submount'), 'the submount is visible through a non-recursive bind', { out });
});

check('config.md#linux-mount-options', 'rbind brings the submounts', (t) => {
  const src = t.tmp('rbind');
  t.hostTmpfs(path.join(src, 'sub'));
  fs.writeFileSync(path.join(src, 'sub', 'in-submount'), '');
  const { out } = t.sh('ls /mnt/rb/sub', (c) => {
    c.mounts.push({ destination: '/mnt/rb', type: 'none', source: src, options: ['rbind'] });
  });
  t.ok(out.includes('in-submount'), 'the submount is not visible through rbind', { out });
});

check('config.md#linux-mount-options', 'rro makes a recursive bind mount read-only, submounts included', (t) => {
  const src = t.tmp('rro');
  t.hostTmpfs(path.join(src, 'sub'));
  const { out } = t.sh('touch /mnt/rro/sub/x 2>&1; echo rc=$?', (c) => {
    c.mounts.push({ destination: '/mnt/rro', type: 'none', source: src, options: ['rbind', 'rro'] });
  });
  t.ok(/Read-only file system/.test(out), 'the submount of an rro mount is writable', { out });
}, { level: 'SHOULD' });

check('config.md#linux-mount-options', 'a bind mount with a propagation option (shared) gets it', (t) => {
  const src = t.tmp('bindshared');
  fs.mkdirSync(src);
  const m = mountinfo(t, (c) => {
    c.mounts.push({ destination: '/mnt/shared', type: 'none', source: src, options: ['rbind', 'rshared'] });
  });
  const e = lastAt(m, '/mnt/shared');
  t.ok(e && e.optional.some((o) => o.startsWith('shared:')), 'the mount is not shared', { optional: e?.optional });
});

check('config-linux.md#default-filesystems', '/proc, /sys, /dev/pts and /dev/shm are proc, sysfs, devpts and tmpfs', (t) => {
  const m = mountinfo(t);
  const got = Object.fromEntries(['/proc', '/sys', '/dev/pts', '/dev/shm'].map((d) => [d, lastAt(m, d)?.fstype ?? null]));
  t.eq(got, { '/proc': 'proc', '/sys': 'sysfs', '/dev/pts': 'devpts', '/dev/shm': 'tmpfs' }, 'filesystem types');
}, { level: 'SHOULD' });

check('config-linux.md#default-devices', '/dev/null, zero, full, random, urandom and tty are the right devices', (t) => {
  const devs = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
  const { out } = t.sh(devs.map((d) => `stat -L -c '%n %F %t:%T' /dev/${d}`).join('; '));
  const want = ['/dev/null character special file 1:3', '/dev/zero character special file 1:5', '/dev/full character special file 1:7',
    '/dev/random character special file 1:8', '/dev/urandom character special file 1:9', '/dev/tty character special file 5:0'];
  t.eq(out.trim().split('\n'), want, 'devices');
});

check('config-linux.md#default-devices', '/dev/null and /dev/zero work', (t) => {
  const { out } = t.sh('echo x > /dev/null && head -c 4 /dev/zero | wc -c');
  t.eq(out.trim(), '4', 'bytes read from /dev/zero');
});

check('config-linux.md#default-devices', '/dev/ptmx is the container\'s /dev/pts/ptmx (bind mount or symlink)', (t) => {
  const { out } = t.sh('if [ -L /dev/ptmx ]; then echo link $(readlink /dev/ptmx); else stat -c "%t:%T" /dev/ptmx; fi');
  const v = out.trim();
  t.ok(v === 'link pts/ptmx' || v === 'link /dev/pts/ptmx' || v === '5:2', '/dev/ptmx is not /dev/pts/ptmx', { got: v });
});

check('runtime-linux.md#dev-symbolic-links', '/dev/fd, /dev/stdin, /dev/stdout and /dev/stderr are symlinks to /proc/self/fd', (t) => {
  const { out } = t.sh('for l in fd stdin stdout stderr; do echo "$l $(readlink /dev/$l)"; done');
  t.eq(out.trim().split('\n'), ['fd /proc/self/fd', 'stdin /proc/self/fd/0', 'stdout /proc/self/fd/1', 'stderr /proc/self/fd/2'], 'symlinks');
});

check('config-linux.md#devices', 'a character device is created with type, numbers, mode, uid and gid', (t) => {
  const { out } = t.sh("stat -c '%F %t:%T %a %u %g' /dev/conf-char", (c) => {
    c.linux.devices = [{ path: '/dev/conf-char', type: 'c', major: 1, minor: 5, fileMode: 0o640, uid: 1, gid: 2 }];
  });
  t.eq(out.trim(), 'character special file 1:5 640 1 2', 'stat of /dev/conf-char');
});

check('config-linux.md#devices', 'a block device is created', (t) => {
  const { out } = t.sh("stat -c '%F %t:%T' /dev/conf-block", (c) => {
    c.linux.devices = [{ path: '/dev/conf-block', type: 'b', major: 7, minor: 0, fileMode: 0o600 }];
  });
  t.eq(out.trim(), 'block special file 7:0', 'stat of /dev/conf-block');
});

check('config-linux.md#devices', 'a fifo device (type p) is created', (t) => {
  const { out } = t.sh("stat -c '%F' /dev/conf-fifo", (c) => {
    c.linux.devices = [{ path: '/dev/conf-fifo', type: 'p', fileMode: 0o600 }];
  });
  t.eq(out.trim(), 'fifo', 'stat of /dev/conf-fifo');
});

check('config-linux.md#devices', 'a fifo device that also gives major and minor is created (they are optional for p)', (t) => {
  const { out } = t.sh("stat -c '%F %a' /dev/conf-fifo2", (c) => {
    c.linux.devices = [{ path: '/dev/conf-fifo2', type: 'p', major: 8, minor: 666, fileMode: 0o640 }];
  });
  t.eq(out.trim(), 'fifo 640', 'stat of /dev/conf-fifo2');
});

check('config-linux.md#devices', 'a device path outside /dev is honoured', (t) => {
  const { out } = t.sh("stat -c '%F %t:%T' /mnt/conf-dev", (c) => {
    c.linux.devices = [{ path: '/mnt/conf-dev', type: 'c', major: 1, minor: 3, fileMode: 0o666 }];
  });
  t.eq(out.trim(), 'character special file 1:3', 'stat of /mnt/conf-dev');
});

check('config-linux.md#devices', 'a file at a device path that is not that device is an error', (t) => {
  const b = t.bundle((c) => { c.linux.devices = [{ path: '/mnt/conf-conflict', type: 'c', major: 1, minor: 3, fileMode: 0o666 }]; });
  fs.writeFileSync(path.join(b.rootfs, 'mnt', 'conf-conflict'), 'a regular file\n');
  const c = t.create(b);
  t.ok(c.code !== 0, 'create succeeded though a regular file is at the device path', t.res(c));
});

check('config-linux.md#masked-paths', 'a masked file cannot be read (reads nothing)', (t) => {
  const { out } = t.sh('wc -c < /proc/timer_list; cat /proc/timer_list >/dev/null 2>&1 && echo readable', (c) => {
    c.linux.maskedPaths = ['/proc/timer_list'];
  });
  const lines = out.trim().split('\n');
  t.ok(lines[0] === '0', '/proc/timer_list still has content', { out });
});

check('config-linux.md#masked-paths', 'a masked directory shows nothing', (t) => {
  const { out } = t.sh('ls -A /proc/scsi /sys/firmware 2>/dev/null | grep -v ":$" | grep -c . ; echo end', (c) => {
    c.linux.maskedPaths = ['/proc/scsi', '/sys/firmware'];
  });
  t.eq(out.trim().split('\n')[0], '0', 'entries visible in the masked directories', { out });
});

check('config-linux.md#readonly-paths', 'a readonly path in /proc cannot be written (/proc/sys)', (t) => {
  // without CAP_SYS_ADMIN the write fails anyway: only EROFS shows the path is read-only
  const { out } = t.sh('(echo x > /proc/sys/kernel/domainname) 2>&1; echo rc=$?', (c) => { c.linux.readonlyPaths = ['/proc/sys']; });
  t.ok(/Read-only file system/.test(out) && !/rc=0/.test(out), '/proc/sys is not read-only', { out });
});

check('config-linux.md#readonly-paths', 'a readonly path in the rootfs cannot be written (/etc)', (t) => {
  const { out } = t.sh('touch /etc/conf-x 2>&1; echo rc=$?; touch /root/conf-y && echo other-ok', (c) => { c.linux.readonlyPaths = ['/etc']; });
  t.ok(/Read-only file system/.test(out) && out.includes('other-ok'), '/etc is writable, or the rest of the root is not', { out });
});

for (const [prop, want] of [['shared', (o) => o.some((x) => x.startsWith('shared:'))],
  ['slave', (o) => o.some((x) => x.startsWith('master:')) && !o.some((x) => x.startsWith('shared:'))],
  ['private', (o) => o.length === 0],
  ['unbindable', (o) => o.includes('unbindable')]]) {
  check('config-linux.md#rootfs-mount-propagation', `rootfsPropagation ${prop} applies to the root mount`, (t) => {
    // the bundle sits on a shared mount of the host, so slave and shared can be told apart
    t.hostDirPropagation('shared');
    const m = mountinfo(t, (c) => { c.linux.rootfsPropagation = prop; });
    const root = lastAt(m, '/');
    t.ok(root && want(root.optional), `the root mount is not ${prop}`, { optional: root?.optional });
  });
}

check('config-linux.md#rootfs-mount-propagation', 'rootfsPropagation unbindable works with the bundle on the host\'s root mount', (t) => {
  // the bundle in a directory of "/" itself: no mount point between it and the root mount, which is
  // the mount "unbindable" applies to (a bundle in /tmp on a disk without a /tmp mount is the same)
  try { fs.accessSync('/', fs.constants.W_OK); } catch { t.skip('"/" is not writable'); }
  const b = t.bundle((c) => { c.process.args = ['/bin/sh', '-c', 'echo ran']; c.linux.rootfsPropagation = 'unbindable'; }, 'unbindable', { parent: '/' });
  const { out } = t.run(b);
  t.eq(out.trim(), 'ran', 'output');
});

check('config.md#linux-mount-options', 'tmpcopyup copies what the rootfs has at the destination into the tmpfs', (t) => {
  const { out } = t.sh('cat /etc/conf-copyup/file; stat -c %a /etc/conf-copyup; grep " /etc " /proc/self/mountinfo | cut -d" " -f9', (c, b) => {
    fs.mkdirSync(path.join(b.rootfs, 'etc/conf-copyup'), { mode: 0o750 });
    fs.chmodSync(path.join(b.rootfs, 'etc/conf-copyup'), 0o750);
    fs.writeFileSync(path.join(b.rootfs, 'etc/conf-copyup/file'), 'from the rootfs\n');
    c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] });
  });
  t.eq(out.trim().split('\n'), ['from the rootfs', '750', 'tmpfs'], 'the file, its directory mode and the mount type at /etc');
}, { level: 'MAY' });
