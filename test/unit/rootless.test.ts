// Rootless decisions without a user: the cgroups a rootless container keeps or leaves out (as runc 1.1.5's
// rootless cgroupfs manager), and the way its id maps get written (direct, setgroups denied, or
// newuidmap/newgidmap). test/rootless/ runs the same as a real user.
import { describe, expect, it } from 'vitest';
import { cgroupManager } from '../../src/cgroups/manager';
import { rootlessIdMapWay, subRanges, type RootlessIdHost } from '../../src/runtime/rootless-idmap';
import type { Spec } from '../../src/spec/types';
import { fakeHybridHost, fakeV2Host } from './cgroups-fakehost';

const C = '/sys/fs/cgroup';

describe('rootless cgroups', () => {
  it('leaves out every hierarchy the user cannot write and applies nothing but checks', () => {
    const fs = fakeHybridHost();
    const cg = cgroupManager({ id: 'c1', fs, rootless: true, writable: () => false });
    expect(cg.paths).toEqual({});
    expect(cg.procsFiles()).toEqual([]);
    cg.create();
    expect(fs.exists(`${C}/pids/c1`)).toBe(false);
    // device rules are root's business: not applied, no error (runc ignores their errors when rootless)
    cg.apply({ devices: [{ allow: false, access: 'rwm' }] });
    expect(() => cg.apply({ memory: { limit: 1 << 26 } })).toThrow(
      /^\$\.linux\.resources\.memory\.limit: cannot apply: a rootless container could not create or join its memory cgroup/,
    );
    expect(() => cg.apply({ pids: { limit: 10 } })).toThrow(/pids\.limit: cannot apply/);
    expect(() => cg.freeze()).toThrow(/cannot be frozen/);
  });

  it('on pure v2 the one cgroup carries every field, and the error names the field', () => {
    const cg = cgroupManager({ id: 'c1', fs: fakeV2Host(), rootless: true, writable: () => false });
    expect(cg.paths).toEqual({});
    cg.apply({ devices: [{ allow: false, access: 'rwm' }] });
    expect(() => cg.apply({ memory: { limit: 1 << 26 } })).toThrow(
      /^\$\.linux\.resources\.memory\.limit: cannot apply: a rootless container could not create or join its cgroup \(/,
    );
    expect(() => cg.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] })).toThrow(/hugepageLimits: cannot apply/);
  });

  it('keeps the hierarchies the user may write (a delegated one) and applies limits there', () => {
    const fs = fakeHybridHost();
    const cg = cgroupManager({ id: 'c1', fs, rootless: true, writable: (p) => p.startsWith(`${C}/pids`) });
    expect(Object.keys(cg.paths)).toEqual(['pids']);
    cg.create();
    cg.apply({ pids: { limit: 10 }, devices: [{ allow: false, access: 'rwm' }] });
    expect(fs.files.get(`${C}/pids/c1/pids.max`)).toBe('10');
    expect(() => cg.apply({ cpu: { shares: 512 } })).toThrow(/cpu\.shares: cannot apply: .*cpu cgroup/);
  });

  it('with a cgroupsPath keeps every hierarchy, and a failure is an error naming the directory', () => {
    const fs = fakeHybridHost();
    const cg = cgroupManager({ id: 'c1', cgroupsPath: '/mine', fs, rootless: true, writable: () => false });
    expect(cg.paths.pids).toBe(`${C}/pids/mine`);
    const mkdirp = fs.mkdirp.bind(fs);
    fs.mkdirp = (p: string) => {
      if (p.startsWith(`${C}/cpu`)) {
        const e = Object.assign(new Error('EACCES'), { code: 'EACCES', path: p });
        throw e;
      }
      return mkdirp(p);
    };
    expect(() => cg.create()).toThrow(/^create the cgroup \/sys\/fs\/cgroup\/cpu.*: permission denied$/);
  });
});

const host = (over: Partial<RootlessIdHost> = {}): RootlessIdHost => ({
  uid: 1001,
  gid: 1001,
  user: 'alice',
  subuid: 'bob:100000:65536\nalice:200000:65536\n',
  subgid: '1001:300000:1000\n',
  which: (n) => `/usr/bin/${n}`,
  ...over,
});

function spec(uid: [number, number, number][], gid: [number, number, number][], extra: Partial<Spec> = {}): Spec {
  const m = (l: [number, number, number][]) => l.map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'user' }], uidMappings: m(uid), gidMappings: m(gid) },
    ...extra,
  } as Spec;
}

describe('rootless id maps', () => {
  it('reads the ranges of the user by name or by uid', () => {
    expect(subRanges('bob:1:2\nalice:200000:65536\n# x\n1001:5:5\n', 'alice', 1001)).toEqual([
      { start: 200000, count: 65536 },
      { start: 5, count: 5 },
    ]);
  });

  it('a map of the own ids alone: written directly, setgroups denied', () => {
    expect(rootlessIdMapWay(spec([[0, 1001, 1]], [[0, 1001, 1]]), host())).toEqual({ setgroupsDeny: true });
  });

  it('ranges from /etc/subuid and /etc/subgid: newuidmap and newgidmap, setgroups left to them', () => {
    const way = rootlessIdMapWay(spec([[0, 1001, 1], [1, 200000, 65536]], [[0, 300000, 1000]]), host());
    expect(way).toEqual({ uidMapHelper: '/usr/bin/newuidmap', gidMapHelper: '/usr/bin/newgidmap' });
  });

  it('refuses a map outside the ranges, naming the field and the ranges', () => {
    expect(() => rootlessIdMapWay(spec([[0, 1001, 1], [1, 100000, 10]], [[0, 1001, 1]]), host())).toThrow(
      '$.linux.uidMappings[1]: host uids 100000-100009 are not allowed to this user: only its own uid 1001 and its ranges in /etc/subuid (200000-265535)',
    );
    expect(() => rootlessIdMapWay(spec([[0, 0, 1]], [[0, 1001, 1]]), host())).toThrow(/uidMappings\[0\]: host uids 0-0/);
    expect(() => rootlessIdMapWay(spec([[0, 1001, 1]], [[0, 300500, 1000]]), host())).toThrow(/gidMappings\[0\].*\(300000-300999\)/);
  });

  it('a range without newuidmap in PATH is an error that names the package', () => {
    expect(() => rootlessIdMapWay(spec([[0, 200000, 10]], [[0, 1001, 1]]), host({ which: () => undefined }))).toThrow(
      /^\$\.linux\.uidMappings: a rootless map of more than the user's own id needs newuidmap \(Debian package uidmap\), which is not in PATH$/,
    );
  });

  it('needs a user namespace; additional gids need a gid range', () => {
    const noUserNs = spec([[0, 1001, 1]], [[0, 1001, 1]]);
    noUserNs.linux!.namespaces = [{ type: 'pid' }];
    expect(() => rootlessIdMapWay(noUserNs, host())).toThrow(/^\$\.linux\.namespaces: a rootless container needs a user namespace/);
    const groups = spec([[0, 1001, 1]], [[0, 1001, 1]], { process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0, additionalGids: [5] } } });
    expect(() => rootlessIdMapWay(groups, host())).toThrow(/^\$\.process\.user\.additionalGids: /);
  });
});
