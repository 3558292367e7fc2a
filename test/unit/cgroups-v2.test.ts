import { beforeEach, describe, expect, it } from 'vitest';
import { ACC_READ, ACC_WRITE } from '../../src/cgroups/device-rules';
import { FakeFs } from '../helpers/fake-cgroup-fs';
import { errnoError } from '../../src/cgroups/fs';
import { CgroupManager, cgroupManager } from '../../src/cgroups/manager';
import { statsJson } from '../../src/cgroups/stats';
import { withDefaultDeviceRules } from '../../src/cgroups/device-rules';
import { decode, runDeviceProgram } from '../helpers/device-bpf';
import type { BpfSys } from '../../src/cgroups/v2/bpf-sys';
import { sharesToWeight } from '../../src/cgroups/v2/cpu';
import { blkioWeightToIoWeight } from '../../src/cgroups/v2/io';
import { swapMaxValue } from '../../src/cgroups/v2/memory';
import { fakeV2Host } from './cgroups-fakehost';

const D = '/sys/fs/cgroup/user.slice/c1';
let fs: FakeFs;
let bpf: BpfSys & { loaded: { dir: string; insns: Buffer }[] };
let cg: CgroupManager;

beforeEach(() => {
  fs = fakeV2Host();
  bpf = {
    loaded: [],
    queryDevicePrograms: () => [],
    replaceDeviceProgram(dir, insns) {
      this.loaded.push({ dir, insns });
    },
  };
  cg = cgroupManager({ id: 'c1', fs, bpf });
  cg.create();
});

const wrote = (file: string) => fs.writesTo(`${D}/${file}`);

describe('v2 create', () => {
  it('enables every available controller in each ancestor, not in the leaf', () => {
    expect(cg.paths).toEqual({ unified: D });
    expect(fs.files.get('/sys/fs/cgroup/cgroup.subtree_control')).toBe('cpuset cpu io memory hugetlb pids rdma');
    expect(fs.files.get('/sys/fs/cgroup/user.slice/cgroup.subtree_control')).toBe('cpuset cpu io memory hugetlb pids rdma');
    expect(fs.files.get(`${D}/cgroup.subtree_control`)).toBe('');
    expect(cg.procsFiles()).toEqual([`${D}/cgroup.procs`]);
  });

  it('a controller that could not be enabled is an error naming the field and why', () => {
    const f = fakeV2Host();
    f.onWrite('cgroup.subtree_control', (p, d) => {
      if (p === '/sys/fs/cgroup/user.slice/cgroup.subtree_control' && d === '+memory') throw errnoError('EBUSY', 'write', p);
    });
    const m = cgroupManager({ id: 'c1', fs: f, bpf });
    m.create();
    expect(() => m.apply({ memory: { limit: 1 << 20 } })).toThrow(
      `linux.resources.memory.limit: cannot apply: the memory controller is not available in ${D} (cgroup.controllers: cpuset cpu io hugetlb pids rdma); ` +
        'enabling it in /sys/fs/cgroup/user.slice/cgroup.subtree_control failed: device or resource busy',
    );
  });

  it('no cpuset controller (like the v2 lab): cpus is an error', () => {
    const f = fakeV2Host({ controllers: 'cpu io memory pids' });
    const m = cgroupManager({ id: 'c1', fs: f, bpf });
    m.create();
    expect(() => m.apply({ cpu: { cpus: '0' } })).toThrow(
      `linux.resources.cpu.cpus: cannot apply: the cpuset controller is not available in ${D} (cgroup.controllers: cpu io memory pids)`,
    );
  });
});

describe('v2 resources', () => {
  it('cpu: shares -> cpu.weight, quota/period -> cpu.max, burst, idle', () => {
    cg.apply({ cpu: { shares: 1024, quota: 50000, period: 200000, burst: 1000, idle: 0 } });
    expect(wrote('cpu.idle')).toEqual(['0']);
    expect(wrote('cpu.weight')).toEqual(['39']);
    expect(wrote('cpu.max.burst')).toEqual(['1000']);
    expect(wrote('cpu.max')).toEqual(['50000 200000']);
  });

  it('cpu.max keeps the half that is not given; quota -1 is max', () => {
    cg.apply({ cpu: { period: 50000 } });
    cg.update({ cpu: { quota: 20000 } });
    cg.update({ cpu: { quota: -1 } });
    expect(wrote('cpu.max')).toEqual(['max 50000', '20000 50000', 'max 50000']);
  });

  it('shares -> weight is runc 1.1.5 formula', () => {
    expect([2, 1024, 262144, 0, 300000].map(sharesToWeight)).toEqual([1, 39, 10000, 1, 10000]);
  });

  it('realtime settings are an error on v2', () => {
    expect(() => cg.apply({ cpu: { realtimeRuntime: 1000 } })).toThrow(
      '$.linux.resources.cpu.realtimeRuntime: cannot apply: cgroup v2 has no realtime group scheduling (cpu.rt_*)',
    );
  });

  it('cpuset', () => {
    cg.apply({ cpu: { cpus: '0-1', mems: '0' } });
    expect(wrote('cpuset.cpus')).toEqual(['0-1']);
    expect(wrote('cpuset.mems')).toEqual(['0']);
  });

  it('memory: max, low, swap.max = swap - limit', () => {
    cg.apply({ memory: { limit: 100 << 20, swap: 150 << 20, reservation: 50 << 20 } });
    expect(wrote('memory.swap.max')).toEqual([String(50 << 20)]);
    expect(wrote('memory.max')).toEqual([String(100 << 20)]);
    expect(wrote('memory.low')).toEqual([String(50 << 20)]);
    cg.update({ memory: { limit: -1 } });
    expect(wrote('memory.swap.max').at(-1)).toBe('max');
    expect(wrote('memory.max').at(-1)).toBe('max');
  });

  it('swap conversion as runc', () => {
    expect(swapMaxValue(0, -1)).toBe(-1);
    expect(swapMaxValue(-1, 100)).toBe(-1);
    expect(swapMaxValue(0, 100)).toBeUndefined();
    expect(swapMaxValue(100, 100)).toBe(0);
    expect(swapMaxValue(300, -1)).toBe(300);
    expect(() => swapMaxValue(50, 100)).toThrow('memory+swap limit 50 must not be below the memory limit 100');
    expect(() => swapMaxValue(50, 0)).toThrow('unable to set a swap limit without a memory limit');
  });

  it('memory: update of swap alone is relative to the limit in force', () => {
    fs.files.set(`${D}/memory.max`, String(100 << 20));
    cg.update({ memory: { swap: 120 << 20 } });
    expect(wrote('memory.swap.max')).toEqual([String(20 << 20)]);
  });

  it('memory: checkBeforeUpdate', () => {
    fs.files.set(`${D}/memory.current`, '1000000');
    expect(() => cg.update({ memory: { limit: 999999, checkBeforeUpdate: true } })).toThrow(
      'linux.resources.memory.limit: rejecting new limit 999999: it is not above the current usage 1000000 (checkBeforeUpdate)',
    );
    cg.update({ memory: { limit: 999999 } }); // without the check the kernel reclaims / OOM-kills
    expect(wrote('memory.max')).toEqual(['999999']);
  });

  it('memory: v1-only settings are errors unless neutral', () => {
    expect(() => cg.apply({ memory: { swappiness: 10 } })).toThrow('linux.resources.memory.swappiness: cannot apply: cgroup v2 has no per-cgroup swappiness');
    expect(() => cg.apply({ memory: { disableOOMKiller: true } })).toThrow(/disableOOMKiller: cannot apply/);
    expect(() => cg.apply({ memory: { kernel: 1 << 20 } })).toThrow(/memory.kernel: cannot apply: cgroup v2 has no kernel memory limits/);
    expect(() => cg.apply({ memory: { useHierarchy: false } })).toThrow(/useHierarchy: cannot apply/);
    cg.apply({ memory: { swappiness: -1, disableOOMKiller: false, kernel: -1, kernelTCP: -1, useHierarchy: true } });
  });

  it('pids: 0 is a real limit', () => {
    cg.apply({ pids: { limit: 0 } });
    cg.update({ pids: { limit: 100 } });
    cg.update({ pids: { limit: -1 } });
    expect(wrote('pids.max')).toEqual(['0', '100', 'max']);
  });

  it('io: io.weight (converted) without BFQ, io.bfq.weight with it; throttles to io.max', () => {
    fs.addFile(`${D}/io.weight`, 'default 100');
    cg.apply({
      blockIO: {
        weight: 500,
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 120 }],
      },
    });
    expect(wrote('io.weight')).toEqual([String(blkioWeightToIoWeight(500))]);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(wrote('io.max')).toEqual(['8:0 rbps=1048576', '8:0 wiops=120']);
    fs.addFile(`${D}/io.bfq.weight`, 'default 100');
    cg.update({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] } });
    expect(wrote('io.bfq.weight')).toEqual(['500', '8:0 300']);
  });

  it('io: no weight support names io.weight; leaf weights are errors', () => {
    expect(() => cg.apply({ blockIO: { weight: 100 } })).toThrow(
      `linux.resources.blockIO.weight: cannot apply: ${D}/io.weight does not exist (no BFQ (io.bfq.weight) or io.cost (io.weight) weight support on this kernel)`,
    );
    expect(() => cg.apply({ blockIO: { leafWeight: 100 } })).toThrow('linux.resources.blockIO.leafWeight: cannot apply: cgroup v2 has no leaf weights');
  });

  it('hugetlb, rdma, unified', () => {
    fs.addFile(`${D}/cgroup.max.descendants`, 'max');
    fs.addFile(`${D}/memory.high`, 'max');
    cg.apply({
      pids: { limit: 5 },
      hugepageLimits: [{ pageSize: '1GB', limit: 1 << 30 }],
      rdma: { mlx4_0: { hcaObjects: 1000 } },
      unified: { 'memory.high': '1000000', 'cgroup.max.descendants': '5', 'pids.max': '7' },
    });
    expect(wrote('hugetlb.1GB.max')).toEqual([String(1 << 30)]);
    expect(wrote('hugetlb.1GB.rsvd.max')).toEqual([String(1 << 30)]);
    expect(wrote('rdma.max')).toEqual(['mlx4_0 hca_object=1000']);
    expect(wrote('pids.max')).toEqual(['5', '7']); // unified is written last and wins
    expect(wrote('memory.high')).toEqual(['1000000']);
    expect(wrote('cgroup.max.descendants')).toEqual(['5']);
  });

  it('unified: an unknown controller or file is an error naming the key', () => {
    expect(() => cg.apply({ unified: { 'misc.max': 'x 1' } })).toThrow(
      `linux.resources.unified["misc.max"]: cannot apply: controller misc is not available in ${D}`,
    );
    expect(() => cg.apply({ unified: { 'memory.nope': '1' } })).toThrow(
      `linux.resources.unified["memory.nope"]: cannot apply: ${D}/memory.nope does not exist`,
    );
    expect(() => cg.apply({ unified: { '../x': '1' } })).toThrow(/invalid cgroup file name/);
  });

  it('network is an error on v2', () => {
    expect(() => cg.apply({ network: { classID: 1 } })).toThrow('linux.resources.network.classID: cannot apply: cgroup v2 has no net_cls controller');
  });

  it('devices: a BPF program that enforces the rules is handed to bpf()', () => {
    cg.apply({ devices: withDefaultDeviceRules([{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 9, access: 'w' }]) });
    expect(bpf.loaded).toHaveLength(1);
    expect(bpf.loaded[0].dir).toBe(D);
    const prog = decode(bpf.loaded[0].insns);
    expect(runDeviceProgram(prog, 'c', 1, 3, ACC_READ | ACC_WRITE)).toBe(true); // /dev/null (default list)
    expect(runDeviceProgram(prog, 'c', 1, 9, ACC_WRITE)).toBe(true); // the default list comes last and wins, as in runc
    expect(runDeviceProgram(prog, 'b', 8, 0, ACC_READ)).toBe(false);
  });

  it('unset fields write nothing and load no program', () => {
    const before = fs.writes.length;
    cg.apply({ cpu: {}, memory: {}, pids: {}, blockIO: {} });
    expect(fs.writes.length).toBe(before);
    expect(bpf.loaded).toHaveLength(0);
  });
});

describe('v2 freezer, kill, OOM, stats', () => {
  it('freeze waits for "frozen 1"; thaw for "frozen 0"', () => {
    cg.freeze();
    expect(cg.isFrozen()).toBe(true);
    cg.thaw();
    expect(cg.isFrozen()).toBe(false);
    expect(wrote('cgroup.freeze')).toEqual(['1', '0']);
  });

  it('killAll with SIGKILL uses cgroup.kill', () => {
    cg.killAll();
    expect(wrote('cgroup.kill')).toEqual(['1']);
  });

  it('OOM kills come from memory.events', () => {
    fs.files.set(`${D}/memory.events`, 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    expect(cg.oomKillCount()).toBe(1);
  });

  it('stats in runc events shape', () => {
    const s = JSON.parse(statsJson(cg.stats()));
    expect(s.cpu).toEqual({
      usage: { total: 10000, kernel: 4000, user: 6000 },
      throttling: { periods: 5, throttledPeriods: 2, throttledTime: 7000 },
    });
    expect(s.memory.usage).toEqual({ limit: 18446744073709551615, usage: 4096, max: 8192, failcnt: 0 });
    expect(statsJson(cg.stats())).toContain('"limit":18446744073709551615');
    expect(s.memory.cache).toBe(200);
    expect(s.blkio.ioServiceBytesRecursive).toEqual([{ major: 8, op: 'Read', value: 10 }, { major: 8, op: 'Write', value: 20 }]);
    expect(s.hugetlb['2MB']).toEqual({ failcnt: 0 });
  });
});
