import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCapBnd, parseCgroupFacts, parseMountinfo, passwdHome, readHostFacts, resolveInRoot } from '../../src/plan/host';

const HYBRID_MOUNTINFO = `\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,relatime shared:8 - tmpfs tmpfs rw,mode=755
27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
28 26 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
29 26 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
30 26 0:28 /docker /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
31 30 0:29 / /mnt/with\\040space rw - ext4 /dev/sda1 rw
`;

const HYBRID_CGROUP = `\
12:memory:/docker/abc
4:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/session-1.scope
0::/user.slice/session-1.scope
`;

describe('host parsers', () => {
  it('reads CapBnd', () => {
    expect(parseCapBnd('Name:\tx\nCapPrm:\t000001ffffffffff\nCapBnd:\t000001fffeffffff\n')).toBe(0x1fffeffffffn);
  });

  it('parses mountinfo, unescaping paths', () => {
    const m = parseMountinfo(HYBRID_MOUNTINFO);
    expect(m).toHaveLength(7);
    expect(m[5]).toEqual({ root: '/docker', mountpoint: '/sys/fs/cgroup/memory', fstype: 'cgroup', source: 'cgroup', superOptions: ['rw', 'memory'] });
    expect(m[6].mountpoint).toBe('/mnt/with space');
  });

  it('finds v1 hierarchies and the cgroup2 mount of a hybrid host', () => {
    expect(parseCgroupFacts(HYBRID_MOUNTINFO, HYBRID_CGROUP)).toEqual({
      unified: false,
      v2Mountpoint: '/sys/fs/cgroup/unified',
      v2OwnPath: '/user.slice/session-1.scope',
      v1: [
        { mountpoint: '/sys/fs/cgroup/memory', root: '/docker', controllers: ['memory'], ownPath: '/docker/abc' },
        { mountpoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', controllers: ['cpu', 'cpuacct'], ownPath: '/user.slice' },
        { mountpoint: '/sys/fs/cgroup/systemd', root: '/', controllers: ['name=systemd'], ownPath: '/user.slice/session-1.scope' },
      ],
    });
  });

  it('recognises a unified host', () => {
    const mi = '30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n';
    expect(parseCgroupFacts(mi, '0::/init.scope\n')).toEqual({ unified: true, v1: [], v2Mountpoint: '/sys/fs/cgroup', v2OwnPath: '/init.scope' });
  });

  it('finds a home directory in /etc/passwd', () => {
    const pw = '# comment\nroot:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n';
    expect(passwdHome(pw, 0)).toBe('/root');
    expect(passwdHome(pw, 65534)).toBe('/nonexistent');
    expect(passwdHome(pw, 5)).toBeUndefined();
  });
});

describe('rootfs files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-plan-host-'));
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'secret'), 'outside');
  fs.writeFileSync(path.join(rootfs, 'etc', 'real-passwd'), 'root:x:0:0::/root:/bin/sh\n');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('follows symlinks inside the rootfs only', () => {
    fs.symlinkSync('/etc/real-passwd', path.join(rootfs, 'etc', 'passwd'));
    fs.symlinkSync('../../../secret', path.join(rootfs, 'etc', 'escape'));
    fs.symlinkSync(path.join(dir, 'secret'), path.join(rootfs, 'etc', 'abs-escape'));
    const host = readHostFacts(rootfs);
    expect(host.readRootfsFile('/etc/passwd')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(resolveInRoot(rootfs, '/etc/escape')).toBeUndefined(); // resolves to <rootfs>/secret, which is absent
    expect(host.readRootfsFile('/etc/escape')).toBeUndefined();
    expect(host.readRootfsFile('/etc/abs-escape')).toBeUndefined();
    expect(host.readRootfsFile('/../secret')).toBeUndefined();
    expect(host.readRootfsFile('/etc')).toBeUndefined();
  });
});

describe('readHostFacts on this machine', () => {
  it('gathers facts without throwing', () => {
    const h = readHostFacts();
    expect(h.capLastCap).toBeGreaterThanOrEqual(36);
    expect(typeof h.boundingSet).toBe('bigint');
    expect(h.statHost('/')).toEqual({ kind: 'dir' });
    expect(h.statHost('/dev/null')).toEqual({ kind: 'char' });
    expect(h.statHost('/no/such/path')).toBeUndefined();
    expect(h.readRootfsFile('/etc/passwd')).toBeUndefined(); // no rootfs given
    expect(typeof h.cgroup.unified).toBe('boolean');
  });
});
