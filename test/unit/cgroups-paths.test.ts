import { describe, expect, it } from 'vitest';
import { detect, parseMountinfo, parseProcCgroup } from '../../src/cgroups/detect';
import { FakeFs } from '../helpers/fake-cgroup-fs';
import { cgroupManager, cgroupManagerFromPaths } from '../../src/cgroups/manager';
import { cleanCgroupsPath, resolvePaths } from '../../src/cgroups/paths';
import { fakeHybridHost, fakeV2Host } from './cgroups-fakehost';

describe('detect', () => {
  it('sees this machine as hybrid, with name=systemd and the unified mount', () => {
    const d = detect(fakeHybridHost());
    expect(d.mode).toBe('hybrid');
    expect(d.v1.map((h) => h.controllers.join(','))).toEqual([
      'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'name=systemd',
    ]);
    expect(d.v1.find((h) => h.controllers.includes('memory'))).toMatchObject({
      mountPoint: '/sys/fs/cgroup/memory', ownPath: '/process_api/abc',
    });
    expect(d.unified).toEqual({ mountPoint: '/sys/fs/cgroup/unified', root: '/', ownPath: '/', controllers: ['hugetlb'] });
  });

  it('sees a pure v2 host', () => {
    const d = detect(fakeV2Host());
    expect(d.mode).toBe('v2');
    expect(d.v1).toEqual([]);
    expect(d.unified?.ownPath).toBe('/user.slice/session-1.scope');
    expect(d.unified?.controllers).toContain('memory');
  });

  it('sees a pure v1 host with co-mounted controllers', () => {
    const fs = new FakeFs()
      .addFile('/proc/self/mountinfo',
        '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n' +
        '33 31 0:30 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n' +
        '34 31 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,release_agent=/x,name=systemd\n')
      .addFile('/proc/self/cgroup', '3:cpu,cpuacct:/a\n2:net_cls,net_prio:/b\n1:name=systemd:/c\n');
    const d = detect(fs);
    expect(d.mode).toBe('v1');
    expect(d.v1).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', controllers: ['cpu', 'cpuacct'], ownPath: '/a' },
      { mountPoint: '/sys/fs/cgroup/net_cls,net_prio', root: '/', controllers: ['net_cls', 'net_prio'], ownPath: '/b' },
      { mountPoint: '/sys/fs/cgroup/systemd', root: '/', controllers: ['name=systemd'], ownPath: '/c' },
    ]);
    const paths = resolvePaths(d, 'ctr');
    expect(paths.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/a/ctr');
    expect(paths.cpuacct).toBe(paths.cpu);
    expect(paths.net_prio).toBe('/sys/fs/cgroup/net_cls,net_prio/b/ctr');
  });

  it('strips a mount root (bind-mounted subtree, cgroup namespace) and decodes escapes', () => {
    const mi = parseMountinfo('40 31 0:37 /docker/x /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,memory\n');
    expect(mi[0]).toMatchObject({ root: '/docker/x', mountPoint: '/sys/fs/cgroup/my dir', fsType: 'cgroup' });
    const fs = new FakeFs()
      .addFile('/proc/self/mountinfo', '40 31 0:37 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n')
      .addFile('/proc/self/cgroup', '4:memory:/docker/x/inner\n');
    expect(detect(fs).v1[0].ownPath).toBe('/inner');
  });

  it('parses /proc/self/cgroup', () => {
    const m = parseProcCgroup('4:cpu,cpuacct:/a\n1:name=systemd:/s\n0::/u\n');
    expect(m.get('cpu')).toBe('/a');
    expect(m.get('cpuacct')).toBe('/a');
    expect(m.get('name=systemd')).toBe('/s');
    expect(m.get('')).toBe('/u');
  });
});

describe('cgroupsPath', () => {
  const hybrid = detect(fakeHybridHost());
  const v2 = detect(fakeV2Host());

  it('absent: the id, relative to our own cgroup in each hierarchy (runc cgroupfs)', () => {
    const p = resolvePaths(hybrid, 'c1');
    expect(p).toEqual({
      cpu: '/sys/fs/cgroup/cpu/c1',
      cpuacct: '/sys/fs/cgroup/cpuacct/c1',
      cpuset: '/sys/fs/cgroup/cpuset/c1',
      memory: '/sys/fs/cgroup/memory/process_api/abc/c1',
      devices: '/sys/fs/cgroup/devices/c1',
      freezer: '/sys/fs/cgroup/freezer/c1',
      blkio: '/sys/fs/cgroup/blkio/c1',
      pids: '/sys/fs/cgroup/pids/c1',
      'name=systemd': '/sys/fs/cgroup/systemd/c1',
      unified: '/sys/fs/cgroup/unified/c1',
    });
  });

  it('absolute: under each mount point, ignoring our own cgroup', () => {
    const p = resolvePaths(hybrid, 'c1', '/tsrun/c1');
    expect(p.memory).toBe('/sys/fs/cgroup/memory/tsrun/c1');
    expect(p.unified).toBe('/sys/fs/cgroup/unified/tsrun/c1');
    expect(p['name=systemd']).toBe('/sys/fs/cgroup/systemd/tsrun/c1');
  });

  it('relative: under our own cgroup (v1 and hybrid unified), under its parent on pure v2', () => {
    expect(resolvePaths(hybrid, 'c1', 'a/b').memory).toBe('/sys/fs/cgroup/memory/process_api/abc/a/b');
    expect(resolvePaths(v2, 'c1', 'a/b')).toEqual({ unified: '/sys/fs/cgroup/user.slice/a/b' });
    expect(resolvePaths(v2, 'c1')).toEqual({ unified: '/sys/fs/cgroup/user.slice/c1' });
    expect(resolvePaths(v2, 'c1', '/x/y')).toEqual({ unified: '/sys/fs/cgroup/x/y' });
  });

  it('cleans "." and inner "..", and refuses to climb out or to name the root', () => {
    expect(cleanCgroupsPath('/a/./b/../c//')).toEqual({ absolute: true, path: 'a/c' });
    expect(cleanCgroupsPath('a/b/..')).toEqual({ absolute: false, path: 'a' });
    expect(() => resolvePaths(hybrid, 'c1', '/../../etc')).toThrow('linux.cgroupsPath: "/../../etc" escapes the cgroup root with ".."');
    expect(() => resolvePaths(hybrid, 'c1', 'a/../../x')).toThrow(/escapes/);
    expect(() => resolvePaths(hybrid, 'c1', '/')).toThrow(/does not name a cgroup below the root/);
    expect(() => resolvePaths(hybrid, 'c1', '/a/..')).toThrow(/does not name a cgroup/);
  });

  it('an empty cgroupsPath is the same as none', () => {
    expect(resolvePaths(hybrid, 'c1', '')).toEqual(resolvePaths(hybrid, 'c1'));
  });
});

describe('managers', () => {
  it('procsFiles: every v1 hierarchy, name=systemd and, on hybrid, the unified one (co-mounted once)', () => {
    const fs = fakeHybridHost();
    const cg = cgroupManager({ id: 'c1', fs });
    expect(cg.version).toBe('v1');
    expect(cg.procsFiles()).toEqual([
      '/sys/fs/cgroup/cpu/c1/cgroup.procs',
      '/sys/fs/cgroup/cpuacct/c1/cgroup.procs',
      '/sys/fs/cgroup/cpuset/c1/cgroup.procs',
      '/sys/fs/cgroup/memory/process_api/abc/c1/cgroup.procs',
      '/sys/fs/cgroup/devices/c1/cgroup.procs',
      '/sys/fs/cgroup/freezer/c1/cgroup.procs',
      '/sys/fs/cgroup/blkio/c1/cgroup.procs',
      '/sys/fs/cgroup/pids/c1/cgroup.procs',
      '/sys/fs/cgroup/systemd/c1/cgroup.procs',
      '/sys/fs/cgroup/unified/c1/cgroup.procs',
    ]);
  });

  it('reopens from saved paths without detection', () => {
    const fs = fakeHybridHost();
    const cg = cgroupManager({ id: 'c1', fs });
    cg.create();
    cg.addProcess(4242);
    fs.removeFile('/proc/self/mountinfo'); // detection would fail now
    const again = cgroupManagerFromPaths(JSON.parse(JSON.stringify(cg.paths)), { fs });
    expect(again.version).toBe('v1');
    expect(again.pids()).toEqual([4242]);
    const v2fs = fakeV2Host();
    const v2 = cgroupManager({ id: 'c2', fs: v2fs });
    expect(cgroupManagerFromPaths(v2.paths, { fs: v2fs }).version).toBe('v2');
  });
});

describe('checkBeforeCreate', () => {
  it('warns about processes, refuses a frozen cgroup (runc 1.1.5)', async () => {
    const { checkBeforeCreate } = await import('../../src/cgroups/manager');
    const fs = fakeHybridHost();
    const cg = cgroupManager({ id: 'c1', fs });
    expect(checkBeforeCreate(cg)).toEqual([]);
    cg.create();
    expect(checkBeforeCreate(cg)).toEqual([]);
    cg.addProcess(5);
    expect(checkBeforeCreate(cg)).toEqual(["container's cgroup is not empty: 1 process(es) found"]);
    cg.freeze();
    expect(() => checkBeforeCreate(cg)).toThrow("container's cgroup unexpectedly frozen");
  });
});
