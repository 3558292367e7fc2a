import { describe, expect, it } from 'vitest';
import * as M from '../../src/plan/mounts';
import { mountOptionTable, parseMountOptions, planMounts, devIsBindMounted } from '../../src/plan/mounts';
import { namespaceMap } from '../../src/plan/namespaces';
import type { Mount, Spec } from '../../src/spec/types';
import { ctxFor, fakeHost, HYBRID_CGROUPS, UNIFIED_CGROUPS, CGROUP_PROCS } from './plan-helpers';
import type { HostFacts } from '../../src/plan/host';

// Every plain flag option: [option, flag, clears?] (runc's mountFlags table).
const FLAG_OPTIONS: [string, bigint, boolean][] = [
  ['ro', M.MS_RDONLY, false],
  ['rw', M.MS_RDONLY, true],
  ['suid', M.MS_NOSUID, true],
  ['nosuid', M.MS_NOSUID, false],
  ['dev', M.MS_NODEV, true],
  ['nodev', M.MS_NODEV, false],
  ['exec', M.MS_NOEXEC, true],
  ['noexec', M.MS_NOEXEC, false],
  ['sync', M.MS_SYNCHRONOUS, false],
  ['async', M.MS_SYNCHRONOUS, true],
  ['dirsync', M.MS_DIRSYNC, false],
  ['remount', M.MS_REMOUNT, false],
  ['mand', M.MS_MANDLOCK, false],
  ['nomand', M.MS_MANDLOCK, true],
  ['atime', M.MS_NOATIME, true],
  ['noatime', M.MS_NOATIME, false],
  ['diratime', M.MS_NODIRATIME, true],
  ['nodiratime', M.MS_NODIRATIME, false],
  ['relatime', M.MS_RELATIME, false],
  ['norelatime', M.MS_RELATIME, true],
  ['strictatime', M.MS_STRICTATIME, false],
  ['nostrictatime', M.MS_STRICTATIME, true],
  ['bind', M.MS_BIND, false],
  ['rbind', M.MS_BIND | M.MS_REC, false],
  ['lazytime', M.MS_LAZYTIME, false],
  ['nolazytime', M.MS_LAZYTIME, true],
  ['silent', M.MS_SILENT, false],
  ['loud', M.MS_SILENT, true],
  ['iversion', M.MS_I_VERSION, false],
  ['noiversion', M.MS_I_VERSION, true],
  ['nosymfollow', M.MS_NOSYMFOLLOW, false],
  ['symfollow', M.MS_NOSYMFOLLOW, true],
];

const PROPAGATION_OPTIONS: [string, bigint][] = [
  ['private', M.MS_PRIVATE],
  ['rprivate', M.MS_PRIVATE | M.MS_REC],
  ['shared', M.MS_SHARED],
  ['rshared', M.MS_SHARED | M.MS_REC],
  ['slave', M.MS_SLAVE],
  ['rslave', M.MS_SLAVE | M.MS_REC],
  ['unbindable', M.MS_UNBINDABLE],
  ['runbindable', M.MS_UNBINDABLE | M.MS_REC],
];

const ATIME = M.MOUNT_ATTR__ATIME;
// [option, attrSet, attrClr] for an option given alone.
const RECURSIVE_OPTIONS: [string, bigint, bigint][] = [
  ['rro', M.MOUNT_ATTR_RDONLY, 0n],
  ['rrw', 0n, M.MOUNT_ATTR_RDONLY],
  ['rnosuid', M.MOUNT_ATTR_NOSUID, 0n],
  ['rsuid', 0n, M.MOUNT_ATTR_NOSUID],
  ['rnodev', M.MOUNT_ATTR_NODEV, 0n],
  ['rdev', 0n, M.MOUNT_ATTR_NODEV],
  ['rnoexec', M.MOUNT_ATTR_NOEXEC, 0n],
  ['rexec', 0n, M.MOUNT_ATTR_NOEXEC],
  ['rnodiratime', M.MOUNT_ATTR_NODIRATIME, 0n],
  ['rdiratime', 0n, M.MOUNT_ATTR_NODIRATIME],
  ['rrelatime', 0n, ATIME],
  ['rnorelatime', 0n, ATIME],
  ['rnoatime', M.MOUNT_ATTR_NOATIME, ATIME],
  ['ratime', 0n, ATIME],
  ['rstrictatime', M.MOUNT_ATTR_STRICTATIME, ATIME],
  ['rnostrictatime', 0n, ATIME],
  ['rnosymfollow', M.MOUNT_ATTR_NOSYMFOLLOW, 0n],
  ['rsymfollow', 0n, M.MOUNT_ATTR_NOSYMFOLLOW],
];

describe('mount option table', () => {
  it.each(FLAG_OPTIONS)('%s sets or clears its MS_ flag', (opt, flag, clears) => {
    const o = parseMountOptions('o', [opt]);
    if (clears) {
      expect(o.flags).toBe(0n);
      expect(o.clearedFlags).toBe(flag);
      expect(parseMountOptions('o', [FLAG_OPTIONS.find((x) => x[1] === flag && !x[2])?.[0] as string, opt]).flags).toBe(0n);
    } else {
      expect(o.flags).toBe(flag);
      expect(o.clearedFlags).toBe(0n);
    }
    expect(o.data).toEqual([]);
  });

  it.each(PROPAGATION_OPTIONS)('%s is a propagation change', (opt, flags) => {
    const o = parseMountOptions('o', [opt]);
    expect(o.propagation).toEqual([flags]);
    expect(o.flags).toBe(0n);
  });

  it.each(RECURSIVE_OPTIONS)('%s sets/clears MOUNT_ATTR_ recursively', (opt, set, clr) => {
    const o = parseMountOptions('o', [opt]);
    expect([o.attrSet, o.attrClr]).toEqual([set, clr]);
  });

  it('covers the whole table in these tests', () => {
    const tested = new Set([...FLAG_OPTIONS, ...PROPAGATION_OPTIONS, ...RECURSIVE_OPTIONS].map((x) => x[0]));
    for (const x of ['defaults', 'idmap', 'ridmap', 'tmpcopyup']) tested.add(x);
    expect(Object.keys(mountOptionTable).sort()).toEqual([...tested].sort());
  });

  it('later options win, and propagation keeps its order', () => {
    const o = parseMountOptions('o', ['ro', 'rw', 'nosuid', 'rshared', 'private', 'rro', 'rrw']);
    expect(o.flags).toBe(M.MS_NOSUID);
    expect(o.clearedFlags).toBe(M.MS_RDONLY);
    expect(o.propagation).toEqual([M.MS_SHARED | M.MS_REC, M.MS_PRIVATE]);
    expect(o.attrSet).toBe(0n);
    expect(o.attrClr).toBe(M.MOUNT_ATTR_RDONLY);
  });

  it('unknown options become data; defaults is a no-op; tmpcopyup is noted, not data', () => {
    const o = parseMountOptions('mounts[0].options', ['mode=755', 'defaults', 'size=64k', 'tmpcopyup']);
    expect(o.data.map((d) => d.option)).toEqual(['mode=755', 'size=64k']);
    expect(o.flags).toBe(0n);
    expect(o.tmpcopyup).toBe(3);
  });
});

function plan(mounts: Mount[], host: HostFacts = fakeHost(), linux: Spec['linux'] = { namespaces: [{ type: 'mount' }] }, extra = {}) {
  const spec: Spec = { ociVersion: '1.2.0', mounts, linux };
  const ctx = ctxFor(host);
  const out = planMounts({ spec, bundle: '/bundle', namespaces: namespaceMap(spec), cgroupProcs: CGROUP_PROCS, ...extra }, ctx);
  return { ...out, warnings: ctx.warnings };
}

describe('planMounts', () => {
  it('passes filesystem mounts through with flags and data', () => {
    const { mounts } = plan([{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] }]);
    expect(mounts).toEqual([
      { source: 'tmpfs', destination: '/dev', type: 'tmpfs', flags: M.MS_NOSUID | M.MS_STRICTATIME, data: 'mode=755,size=65536k', propagation: [] },
    ]);
  });

  it('binds a directory, relative to the bundle, without a remount when only bind flags are given', () => {
    const host = fakeHost({ paths: { '/bundle/data': 'dir' } });
    const { mounts } = plan([{ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'rprivate'] }], host);
    expect(mounts).toEqual([{ source: '/bundle/data', destination: '/data', flags: M.MS_BIND | M.MS_REC, propagation: [M.MS_PRIVATE | M.MS_REC] }]);
  });

  it('binds a file with destIsFile and a read-only remount', () => {
    const host = fakeHost({ paths: { '/etc/hosts': 'file' } });
    const { mounts } = plan([{ destination: '/etc/hosts', source: '/etc/hosts', options: ['bind', 'ro', 'nosuid'] }], host);
    expect(mounts[0]).toMatchObject({
      source: '/etc/hosts',
      destIsFile: true,
      flags: M.MS_BIND | M.MS_RDONLY | M.MS_NOSUID,
      remountFlags: M.MS_BIND | M.MS_RDONLY | M.MS_NOSUID,
    });
    expect(mounts[0].type).toBeUndefined();
  });

  it('remounts a bind when a flag was only cleared, and carries recursive attributes', () => {
    const host = fakeHost({ paths: { '/src': 'dir' } });
    const { mounts } = plan([{ destination: '/x', source: '/src', options: ['rbind', 'rw', 'rro', 'rnoexec'] }], host);
    expect(mounts[0].remountFlags).toBe(M.MS_BIND | M.MS_REC);
    expect(mounts[0].attrSet).toBe(M.MOUNT_ATTR_RDONLY | M.MOUNT_ATTR_NOEXEC);
    expect(mounts[0].attrClr).toBe(0n);
  });

  it('takes type "bind" without a bind option as a bind', () => {
    const host = fakeHost({ paths: { '/src': 'dir' } });
    expect(plan([{ destination: '/x', type: 'bind', source: '/src' }], host).mounts[0].flags).toBe(M.MS_BIND);
  });

  it('refuses binds with a missing source, and ignores filesystem data on them (runc, mount(8))', () => {
    expect(() => plan([{ destination: '/x', source: '/nope', options: ['bind'] }])).toThrow(
      'mounts[0].source: bind source "/nope" does not exist',
    );
    const host = fakeHost({ paths: { '/src': 'dir' } });
    const withData = plan([{ destination: '/x', source: '/src', options: ['bind', 'nosuid', 'mode=755', 'size=1k'] }], host);
    expect(withData.mounts[0].data).toBeUndefined();
    expect(withData.mounts[0].remountFlags).toBe(M.MS_BIND | M.MS_NOSUID);
    expect(() => plan([{ destination: '/x', options: ['bind'] }])).toThrow('mounts[0].source: a bind mount needs a source');
  });

  it('checks destinations like runc checkProcMount, and warns on relative ones', () => {
    expect(() => plan([{ destination: '/proc', type: 'tmpfs', source: 'tmpfs' }])).toThrow('not of type proc');
    expect(() => plan([{ destination: '/proc/sys/x', type: 'tmpfs', source: 'tmpfs' }])).toThrow('mounts[0].destination: "/proc/sys/x" cannot be mounted because it is inside /proc');
    const host = fakeHost({ paths: { '/lxcfs/proc/uptime': 'file' } });
    expect(plan([{ destination: '/proc/uptime', source: '/lxcfs/proc/uptime', options: ['bind'] }], host).mounts).toHaveLength(1);
    expect(() => plan([{ destination: '/', type: 'tmpfs', source: 'tmpfs' }])).toThrow('cannot mount over the container root');
    const r = plan([{ destination: 'tmp', type: 'tmpfs', source: 'tmpfs' }]);
    expect(r.mounts[0].destination).toBe('/tmp');
    expect(r.warnings[0]).toMatch(/mounts\[0\]\.destination: "tmp" is not absolute/);
  });

  it('adds the mount label as context= only when SELinux is enabled', () => {
    const m: Mount[] = [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }];
    const linux = { namespaces: [{ type: 'mount' }], mountLabel: 'system_u:object_r:x:s0' };
    expect(plan(m, fakeHost(), linux).mounts[0].data).toBe('size=1m');
    expect(plan(m, fakeHost({ selinuxEnabled: true }), linux).mounts[0].data).toBe('size=1m,context="system_u:object_r:x:s0"');
  });

  it('knows when /dev is bind-mounted', () => {
    const host = fakeHost({ paths: { '/dev': 'dir' } });
    expect(devIsBindMounted(plan([{ destination: '/dev/', source: '/dev', options: ['rbind'] }], host).mounts)).toBe(true);
    expect(devIsBindMounted(plan([{ destination: '/dev', type: 'tmpfs', source: 'tmpfs' }]).mounts)).toBe(false);
  });
});

describe('tmpcopyup', () => {
  it('marks a tmpfs for the copy, and refuses it on anything else', () => {
    const tmpfs: Mount = { destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'mode=755'] };
    const m = plan([tmpfs]).mounts[0];
    expect(m).toMatchObject({ type: 'tmpfs', tmpcopyup: true, data: 'mode=755' });
    expect(plan([{ ...tmpfs, options: ['mode=755'] }]).mounts[0].tmpcopyup).toBeUndefined();
    expect(() => plan([{ destination: '/x', type: 'proc', source: 'proc', options: ['nosuid', 'tmpcopyup'] }])).toThrow(
      'mounts[0].options[1]: tmpcopyup is for tmpfs mounts',
    );
  });
});

describe('idmapped mounts', () => {
  const host = fakeHost({ paths: { '/src': 'dir' } });
  const userLinux: Spec['linux'] = {
    namespaces: [{ type: 'mount' }, { type: 'user' }],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 100 }],
    gidMappings: [{ containerID: 0, hostID: 2000, size: 100 }],
  };

  const ownMaps: Mount = {
    destination: '/x',
    source: '/src',
    options: ['rbind', 'ridmap'],
    uidMappings: [{ containerID: 1000, hostID: 5, size: 1 }],
    gidMappings: [{ containerID: 1000, hostID: 6, size: 2 }],
  };

  it("passes the mount's own mappings as given, for the init to make a user namespace with", () => {
    const m = plan([ownMaps], host, userLinux).mounts[0];
    expect(m.idmapMaps).toEqual({ uidMap: '1000 5 1\n', gidMap: '1000 6 2\n' });
    expect(m.idmapUserns).toBeUndefined();
    expect(m.idmapRecursive).toBe(true);
    expect(m.flags & M.MS_REC).toBe(M.MS_REC);
  });

  it('needs no user namespace of the container for its own mappings; idmap is not recursive', () => {
    const m = plan([{ ...ownMaps, options: ['rbind', 'idmap'] }], host).mounts[0];
    expect(m.idmapMaps).toEqual({ uidMap: '1000 5 1\n', gidMap: '1000 6 2\n' });
    expect(m.idmapRecursive).toBeUndefined();
  });

  it("falls back to the container's user namespace: its path, or its mappings", () => {
    const joined: Spec['linux'] = { namespaces: [{ type: 'mount' }, { type: 'user', path: '/proc/5/ns/user' }] };
    const j = plan([{ destination: '/x', source: '/src', options: ['bind', 'idmap'] }], host, joined).mounts[0];
    expect(j.idmapUserns).toBe('/proc/5/ns/user');
    expect(j.idmapMaps).toBeUndefined();
    const r = plan([{ destination: '/x', source: '/src', options: ['bind', 'idmap'] }], host, userLinux).mounts[0];
    expect(r.idmapMaps).toEqual({ uidMap: '0 1000 100\n', gidMap: '0 2000 100\n' });
  });

  it('refuses idmap on non-binds and without any mapping', () => {
    expect(() => plan([{ destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }], host, userLinux)).toThrow(
      'mounts[0]: idmapped mounts must be bind mounts',
    );
    expect(() => plan([{ destination: '/x', source: '/src', options: ['bind', 'idmap'] }], host)).toThrow(
      'mounts[0].options[1]: an idmapped mount needs uidMappings and gidMappings on the mount, or a user namespace',
    );
  });
});

describe('cgroup mounts', () => {
  const cg: Mount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
  const ro = M.MS_NOSUID | M.MS_NOEXEC | M.MS_NODEV | M.MS_RELATIME | M.MS_RDONLY;
  const dflt = M.MS_NOSUID | M.MS_NOEXEC | M.MS_NODEV;
  const withNs: Spec['linux'] = { namespaces: [{ type: 'mount' }, { type: 'cgroup' }] };

  it('v1 with a cgroup namespace: tmpfs, one cgroup mount per hierarchy, controller symlinks', () => {
    const r = plan([cg], fakeHost({ cgroup: HYBRID_CGROUPS }), withNs);
    expect(r.mounts).toEqual([
      { source: 'tmpfs', destination: '/sys/fs/cgroup', type: 'tmpfs', flags: dflt, data: 'mode=755', propagation: [] },
      { source: 'cgroup', destination: '/sys/fs/cgroup/cpu,cpuacct', type: 'cgroup', flags: dflt | M.MS_RDONLY, data: 'cpu,cpuacct', propagation: [] },
      { source: 'cgroup', destination: '/sys/fs/cgroup/memory', type: 'cgroup', flags: dflt | M.MS_RDONLY, data: 'memory', propagation: [] },
      { source: 'systemd', destination: '/sys/fs/cgroup/systemd', type: 'cgroup', flags: dflt | M.MS_RDONLY, data: 'name=systemd', propagation: [] },
    ]);
    expect(r.symlinks).toEqual([
      { target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' },
      { target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpuacct' },
    ]);
  });

  it('v1 without a cgroup namespace: binds of the container\'s cgroup directories', () => {
    const r = plan([cg], fakeHost({ cgroup: HYBRID_CGROUPS }));
    expect(r.mounts.slice(1)).toEqual([
      {
        source: '/sys/fs/cgroup/cpu,cpuacct/tsrun/c1',
        destination: '/sys/fs/cgroup/cpu,cpuacct',
        flags: M.MS_BIND | M.MS_REC | ro,
        propagation: [],
        remountFlags: M.MS_BIND | M.MS_REC | ro,
      },
      expect.objectContaining({ source: '/sys/fs/cgroup/memory/tsrun/c1', destination: '/sys/fs/cgroup/memory' }),
      expect.objectContaining({ source: '/sys/fs/cgroup/systemd/tsrun/c1', destination: '/sys/fs/cgroup/systemd' }),
    ]);
  });

  it('v1 without cgroupProcs for a hierarchy binds the cgroup the init inherits', () => {
    const spec: Spec = { ociVersion: '1', mounts: [cg], linux: { namespaces: [{ type: 'mount' }] } };
    const ctx = ctxFor(fakeHost({ cgroup: HYBRID_CGROUPS }));
    const r = planMounts({ spec, bundle: '/b', namespaces: namespaceMap(spec), cgroupProcs: [] }, ctx);
    expect(r.mounts[3].source).toBe('/sys/fs/cgroup/systemd/user.slice/x.scope');
  });

  it('v2 with a cgroup namespace: one cgroup2 mount', () => {
    const r = plan([cg], fakeHost({ cgroup: UNIFIED_CGROUPS }), withNs);
    expect(r.mounts).toEqual([{ source: 'cgroup', destination: '/sys/fs/cgroup', type: 'cgroup2', flags: ro, propagation: [] }]);
    expect(r.symlinks).toEqual([]);
  });

  it('v2 without a cgroup namespace: a bind of the container\'s cgroup', () => {
    const spec: Spec = { ociVersion: '1', mounts: [cg], linux: { namespaces: [{ type: 'mount' }] } };
    const ctx = ctxFor(fakeHost({ cgroup: UNIFIED_CGROUPS }));
    const r = planMounts({ spec, bundle: '/b', namespaces: namespaceMap(spec), cgroupProcs: ['/sys/fs/cgroup/tsrun/c1/cgroup.procs'] }, ctx);
    expect(r.mounts).toEqual([
      { source: '/sys/fs/cgroup/tsrun/c1', destination: '/sys/fs/cgroup', flags: M.MS_BIND | ro, propagation: [], remountFlags: M.MS_BIND | ro },
    ]);
  });
});
