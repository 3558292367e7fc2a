import { beforeEach, describe, expect, it } from 'vitest';
import { FakeFs } from '../helpers/fake-cgroup-fs';
import { errnoError } from '../../src/cgroups/fs';
import { CgroupManager, cgroupManager, cgroupManagerFromPaths } from '../../src/cgroups/manager';
import { statsJson } from '../../src/cgroups/stats';
import { withDefaultDeviceRules } from '../../src/cgroups/device-rules';
import { fakeHybridHost } from './cgroups-fakehost';

const C = '/sys/fs/cgroup';
const MEM = `${C}/memory/process_api/abc/c1`;
let fs: FakeFs;
let cg: CgroupManager;

beforeEach(() => {
  fs = fakeHybridHost();
  cg = cgroupManager({ id: 'c1', fs });
  cg.create();
});

describe('v1 create and destroy', () => {
  it('creates every directory; a nested cpuset gets cpus/mems copied down level by level', () => {
    const nested = cgroupManager({ id: 'x', cgroupsPath: '/a/b/c', fs });
    nested.create();
    for (const d of ['a', 'a/b', 'a/b/c']) {
      expect(fs.files.get(`${C}/cpuset/${d}/cpuset.cpus`)).toBe('0-1');
      expect(fs.files.get(`${C}/cpuset/${d}/cpuset.mems`)).toBe('0');
    }
    expect(fs.isDirectory(`${C}/systemd/a/b/c`)).toBe(true);
    expect(fs.isDirectory(`${C}/unified/a/b/c`)).toBe(true);
    // An existing but empty cpuset in the middle is filled too.
    fs.files.set(`${C}/cpuset/a/b/cpuset.cpus`, '');
    fs.files.set(`${C}/cpuset/a/b/c/cpuset.cpus`, '');
    nested.create();
    expect(fs.files.get(`${C}/cpuset/a/b/cpuset.cpus`)).toBe('0-1');
    expect(fs.files.get(`${C}/cpuset/a/b/c/cpuset.cpus`)).toBe('0-1');
  });

  it('destroy removes sub-cgroups first and every hierarchy', () => {
    fs.mkdirp(`${C}/pids/c1/inner/deeper`);
    cg.destroy();
    expect(cg.exists()).toBe(false);
    for (const d of Object.values(cg.paths)) expect(fs.exists(d)).toBe(false);
  });

  it('destroy retries while the cgroup is busy, then gives up naming the processes', () => {
    let busy = 3;
    fs.onRmdir = (d) => {
      if (d === `${C}/pids/c1` && busy-- > 0) throw errnoError('EBUSY', 'rmdir', d);
    };
    cg.destroy();
    expect(fs.exists(`${C}/pids/c1`)).toBe(false);

    const cg2 = cgroupManager({ id: 'c2', fs });
    cg2.create();
    cg2.addProcess(77);
    const t0 = Date.now();
    expect(() => cg2.destroy()).toThrow(`remove cgroup ${C}/cpu/c2: device or resource busy (processes still in it: 77)`);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('pids() reads cgroup.procs recursively', () => {
    cg.addProcess(10);
    fs.mkdirp(`${C}/pids/c1/sub`);
    fs.files.set(`${C}/pids/c1/sub/cgroup.procs`, '12\n11\n');
    expect(cg.pids()).toEqual([10, 11, 12]);
  });
});

describe('v1 resources', () => {
  it('cpu: shares (read back), quota, period, burst, idle, realtime', () => {
    cg.apply({ cpu: { shares: 512, quota: 50000, period: 200000, burst: 1000, idle: 1, realtimePeriod: 900000, realtimeRuntime: 800 } });
    const d = `${C}/cpu/c1`;
    expect(fs.writes.filter((w) => w.path.startsWith(d + '/')).map((w) => [w.path.slice(d.length + 1), w.data])).toEqual([
      ['cpu.shares', '512'],
      ['cpu.cfs_period_us', '200000'],
      ['cpu.cfs_burst_us', '1000'],
      ['cpu.cfs_quota_us', '50000'],
      ['cpu.idle', '1'],
      ['cpu.rt_period_us', '900000'],
      ['cpu.rt_runtime_us', '800'],
    ]);
  });

  it('cpu: a period the kernel refuses before the quota is retried after it', () => {
    let first = true;
    fs.onWrite('cpu.cfs_period_us', (p) => {
      if (first) {
        first = false;
        throw errnoError('EINVAL', 'write', p);
      }
    });
    cg.apply({ cpu: { quota: 1000, period: 1000 } });
    expect(fs.writesTo(`${C}/cpu/c1/cpu.cfs_period_us`)).toEqual(['1000']);
    expect(fs.writesTo(`${C}/cpu/c1/cpu.cfs_quota_us`)).toEqual(['1000']);
  });

  it('cpu: write errors name the field, the value and the file', () => {
    fs.onWrite('cpu.cfs_quota_us', (p) => {
      throw errnoError('EINVAL', 'write', p);
    });
    expect(() => cg.apply({ cpu: { quota: 100000 } })).toThrow(
      `linux.resources.cpu.quota: write 100000 to ${C}/cpu/c1/cpu.cfs_quota_us: invalid argument`,
    );
    fs.onWrite('cpu.shares', (p, d) => (Number(d) > 262144 ? '262144' : undefined));
    expect(() => cg.apply({ cpu: { shares: 300000 } })).toThrow('linux.resources.cpu.shares: 300000 is above the maximum allowed cpu-shares, 262144');
  });

  it('cpuset: cpus and mems', () => {
    cg.apply({ cpu: { cpus: '1', mems: '0' } });
    expect(fs.files.get(`${C}/cpuset/c1/cpuset.cpus`)).toBe('1');
    expect(fs.files.get(`${C}/cpuset/c1/cpuset.mems`)).toBe('0');
  });

  it('memory: limit, swap (memory+swap), reservation, swappiness, OOM killer, hierarchy, kernel', () => {
    cg.apply({
      memory: { limit: 1 << 20, swap: 2 << 20, reservation: 1 << 19, swappiness: 10, disableOOMKiller: true, useHierarchy: true, kernel: 1 << 22, kernelTCP: 1 << 21 },
    });
    expect(fs.writes.filter((w) => w.path.startsWith(MEM + '/')).map((w) => [w.path.slice(MEM.length + 1), w.data])).toEqual([
      ['memory.limit_in_bytes', String(1 << 20)], // lowered first: memsw must stay >= limit
      ['memory.memsw.limit_in_bytes', String(2 << 20)],
      ['memory.soft_limit_in_bytes', String(1 << 19)],
      ['memory.kmem.limit_in_bytes', String(1 << 22)],
      ['memory.kmem.tcp.limit_in_bytes', String(1 << 21)],
      ['memory.oom_control', '1'],
      ['memory.swappiness', '10'],
      ['memory.use_hierarchy', '1'],
    ]);
  });

  it('memory: raising above the current limit writes memsw first; -1 is unlimited', () => {
    fs.files.set(`${MEM}/memory.limit_in_bytes`, String(1 << 20));
    cg.update({ memory: { limit: 4 << 20, swap: 8 << 20 } });
    expect(fs.writes.slice(-2).map((w) => w.path.split('/').pop())).toEqual(['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes']);
    cg.update({ memory: { limit: -1 } });
    expect(fs.writes.slice(-2).map((w) => [w.path.split('/').pop(), w.data])).toEqual([
      ['memory.memsw.limit_in_bytes', '-1'],
      ['memory.limit_in_bytes', '-1'],
    ]);
  });

  it('memory: checkBeforeUpdate refuses a limit at or below usage; EBUSY from the kernel says usage', () => {
    fs.files.set(`${MEM}/memory.usage_in_bytes`, '5000');
    expect(() => cg.update({ memory: { limit: 4000, checkBeforeUpdate: true } })).toThrow(
      'linux.resources.memory.limit: rejecting new limit 4000: it is not above the current usage 5000 (checkBeforeUpdate)',
    );
    fs.onWrite('memory.limit_in_bytes', (p) => {
      throw errnoError('EBUSY', 'write', p);
    });
    expect(() => cg.update({ memory: { limit: 4000 } })).toThrow(
      'linux.resources.memory.limit: unable to set memory limit to 4000 (current usage: 5000, peak usage: 8192)',
    );
  });

  it('memory: swap without swap accounting names the field; swappiness range', () => {
    fs.removeFile(`${MEM}/memory.memsw.limit_in_bytes`);
    expect(() => cg.apply({ memory: { limit: 1 << 20, swap: 2 << 20 } })).toThrow(
      `linux.resources.memory.swap: cannot apply: ${MEM}/memory.memsw.limit_in_bytes does not exist (no swap accounting on this kernel; it needs swapaccount=1)`,
    );
    expect(() => cg.apply({ memory: { swappiness: 101 } })).toThrow('linux.resources.memory.swappiness: invalid value 101 (valid range is 0-100)');
  });

  it('pids: a limit, 0 as a real limit, -1 as max', () => {
    cg.apply({ pids: { limit: 5 } });
    cg.apply({ pids: { limit: 0 } });
    cg.apply({ pids: { limit: -1 } });
    expect(fs.writesTo(`${C}/pids/c1/pids.max`)).toEqual(['5', '0', 'max']);
  });

  it('blkio: weights (BFQ files here), per-device weights, throttles', () => {
    cg.apply({
      blockIO: {
        weight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 500 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 700 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 80 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 90 }],
      },
    });
    const b = `${C}/blkio/c1`;
    expect(fs.writesTo(`${b}/blkio.bfq.weight`)).toEqual(['300']);
    expect(fs.writesTo(`${b}/blkio.bfq.weight_device`)).toEqual(['8:0 500']);
    expect(fs.writesTo(`${b}/blkio.throttle.read_bps_device`)).toEqual(['8:0 600']);
    expect(fs.writesTo(`${b}/blkio.throttle.write_bps_device`)).toEqual(['8:0 700']);
    expect(fs.writesTo(`${b}/blkio.throttle.read_iops_device`)).toEqual(['8:16 80']);
    expect(fs.writesTo(`${b}/blkio.throttle.write_iops_device`)).toEqual(['8:16 90']);
  });

  it('blkio: without CFQ/BFQ, a weight is an error naming the field and the file', () => {
    fs.removeFile(`${C}/blkio/c1/blkio.bfq.weight`);
    expect(() => cg.apply({ blockIO: { weight: 100 } })).toThrow(
      `linux.resources.blockIO.weight: cannot apply: ${C}/blkio/c1/blkio.weight does not exist (no CFQ/BFQ weight support on this kernel)`,
    );
    expect(() => cg.apply({ blockIO: { leafWeight: 100 } })).toThrow(/blockIO.leafWeight: cannot apply: .*blkio.leaf_weight does not exist/);
  });

  it('devices: deny all, then the rules in order; the result is checked against devices.list', () => {
    cg.apply({ devices: withDefaultDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 4, minor: 64, access: 'rw' }]) });
    const d = `${C}/devices/c1`;
    const seq = fs.writes.filter((w) => w.path.startsWith(d)).map((w) => `${w.path.endsWith('allow') ? 'allow' : 'deny'} ${w.data}`);
    expect(seq).toEqual([
      'deny a', 'deny a', 'allow c 4:64 rw', 'allow c *:* m', 'allow b *:* m', 'allow c 1:3 rwm', 'allow c 1:8 rwm', 'allow c 1:7 rwm',
      'allow c 5:0 rwm', 'allow c 1:5 rwm', 'allow c 1:9 rwm', 'allow c 136:* rwm', 'allow c 5:2 rwm', 'allow c 10:200 rwm',
    ]);
    expect(fs.files.get(`${d}/devices.list`)).toContain('c 4:64 rw\n');
  });

  it('devices: update writes only the differences, allows first', () => {
    const d = `${C}/devices/c1`;
    cg.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }] });
    const before = fs.writes.length;
    cg.update({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }] });
    expect(fs.writes.slice(before).map((w) => `${w.path.endsWith('allow') ? 'allow' : 'deny'} ${w.data}`)).toEqual([
      'allow b 8:0 r', 'deny c 1:3 wm', 'deny c 1:5 rwm',
    ]);
    expect(fs.files.get(`${d}/devices.list`)).toBe('b 8:0 r\nc 1:3 r\n');
  });

  it('devices: a rule v1 cannot express is refused before anything is written', () => {
    expect(() => cg.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }] })).toThrow(
      '$.linux.resources.devices[2]: cannot deny c 1:3 w: cgroup v1 cannot punch a hole in the wider rule c *:* rwm',
    );
    expect(fs.writesTo(`${C}/devices/c1/devices.deny`)).toEqual([]);
  });

  it('hugetlb: on this hybrid host it goes to the unified mount (hugetlb.<size>.max)', () => {
    cg.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] });
    expect(fs.writesTo(`${C}/unified/c1/hugetlb.2MB.max`)).toEqual([String(4 << 20)]);
    expect(fs.writesTo(`${C}/unified/c1/hugetlb.2MB.rsvd.max`)).toEqual([String(4 << 20)]);
    expect(() => cg.apply({ hugepageLimits: [{ pageSize: '3MB', limit: 1 }] })).toThrow(
      `linux.resources.hugepageLimits[0]: cannot apply: ${C}/unified/c1/hugetlb.3MB.max does not exist (huge page sizes on this host: 2MB, 1GB)`,
    );
  });

  it('controllers without a hierarchy here are errors naming the field', () => {
    expect(() => cg.apply({ network: { classID: 0x100001 } })).toThrow(
      '$.linux.resources.network.classID: cannot apply: no net_cls cgroup hierarchy is mounted on this host',
    );
    expect(() => cg.apply({ network: { priorities: [{ name: 'eth0', priority: 5 }] } })).toThrow(/network.priorities: cannot apply: no net_prio/);
    expect(() => cg.apply({ rdma: { mlx5_1: { hcaHandles: 3 } } })).toThrow(/linux.resources.rdma: cannot apply: no rdma cgroup hierarchy/);
    expect(() => cg.apply({ unified: { 'memory.max': '1' } })).toThrow(
      `linux.resources.unified["memory.max"]: cannot apply: controller memory is not available in ${C}/unified/c1 (cgroup.controllers: none)`,
    );
    cg.apply({ unified: { 'hugetlb.2MB.max': '2097152' } });
    expect(fs.writesTo(`${C}/unified/c1/hugetlb.2MB.max`)).toEqual(['2097152']);
    expect(() => cg.apply({ unified: { 'hugetlb.2MB.nope': '1' } })).toThrow(
      `${C}/unified/c1/hugetlb.2MB.nope does not exist`,
    );
  });

  it('net_cls, net_prio and rdma where the hierarchies exist', () => {
    fs.addFiles(`${C}/net_cls/c1`, { 'net_cls.classid': '0' }).addFiles(`${C}/net_prio/c1`, { 'net_prio.ifpriomap': '' });
    fs.addFiles(`${C}/rdma/c1`, { 'rdma.max': '' });
    const m = cgroupManagerFromPaths({ ...cg.paths, net_cls: `${C}/net_cls/c1`, net_prio: `${C}/net_prio/c1`, rdma: `${C}/rdma/c1` }, { fs });
    m.apply({ network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }, { name: 'eth1', priority: 1000 }] }, rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } } });
    expect(fs.writesTo(`${C}/net_cls/c1/net_cls.classid`)).toEqual(['1048577']);
    expect(fs.writesTo(`${C}/net_prio/c1/net_prio.ifpriomap`)).toEqual(['eth0 500', 'eth1 1000']);
    expect(fs.writesTo(`${C}/rdma/c1/rdma.max`)).toEqual(['mlx5_1 hca_handle=3 hca_object=10000']);
  });

  it('unset fields write nothing', () => {
    const before = fs.writes.length;
    cg.apply({ cpu: {}, memory: {}, pids: {}, blockIO: {} });
    cg.apply(undefined);
    expect(fs.writes.length).toBe(before);
  });
});

describe('v1 freezer, OOM and stats', () => {
  it('freeze / thaw / isFrozen', () => {
    cg.freeze();
    expect(fs.files.get(`${C}/freezer/c1/freezer.state`)).toBe('FROZEN');
    expect(cg.isFrozen()).toBe(true);
    cg.thaw();
    expect(cg.isFrozen()).toBe(false);
  });

  it('freeze keeps asking while FREEZING', () => {
    let n = 0;
    fs.onWrite('freezer.state', (_p, d) => (d === 'FROZEN' && n++ < 5 ? 'FREEZING' : undefined));
    cg.freeze();
    expect(fs.writesTo(`${C}/freezer/c1/freezer.state`).length).toBe(6);
  });

  it('oom_kill counter', () => {
    expect(cg.oomKillCount()).toBe(0);
    fs.files.set(`${MEM}/memory.oom_control`, 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect(cg.oomKillCount()).toBe(2);
  });

  it('stats in runc events shape', () => {
    cg.addProcess(1);
    fs.files.set(`${C}/pids/c1/pids.current`, '1');
    const s = JSON.parse(statsJson(cg.stats()));
    expect(s.cpu).toEqual({
      usage: { total: 5000, percpu: [3000, 2000], percpu_kernel: [1000, 500], percpu_user: [2000, 1500], kernel: 30000000, user: 70000000 },
      throttling: { periods: 10, throttledPeriods: 3, throttledTime: 12345 },
    });
    expect(s.memory.usage).toEqual({ limit: 9223372036854771712, usage: 4096, max: 8192, failcnt: 0 });
    expect(statsJson(cg.stats())).toContain('"limit":9223372036854771712');
    expect(s.memory.raw).toEqual({ cache: 100, rss: 200 });
    expect(s.pids).toEqual({ current: 1 });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([{ major: 8, op: 'Read', value: 10 }, { major: 8, op: 'Write', value: 20 }]);
    expect(s.cpuset.cpus).toEqual([0, 1]);
    expect(s.network_interfaces).toBeNull();
  });
});
