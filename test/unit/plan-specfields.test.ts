// Planning of linux.memoryPolicy, linux.netDevices and linux.intelRdt (the last against a fake resctrl
// directory: this host has no resctrl).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planMemoryPolicy } from '../../src/plan/memory-policy';
import { planNetDevices } from '../../src/plan/netdevices';
import { planIntelRdt } from '../../src/plan/intel-rdt';
import { applyIntelRdt, dirView, intelRdtRecord, joinIntelRdt, removeIntelRdt } from '../../src/runtime/intel-rdt';
import { namespaceMap } from '../../src/plan/namespaces';
import { buildCreatePlan, buildExecPlan } from '../../src/plan/build';
import { parseNetDev, parseNodeList } from '../../src/plan/host';
import type { Spec } from '../../src/spec/types';
import { baseSpec, CGROUP_PROCS, ctxFor, fakeHost } from './plan-helpers';

const linuxWith = (linux: Spec['linux']): Spec => ({ ociVersion: '1.3.0', linux });

describe('linux.memoryPolicy', () => {
  const plan = (mp: NonNullable<Spec['linux']>['memoryPolicy'], numa: number[] | null = [0, 1, 2, 3]) =>
    planMemoryPolicy(linuxWith({ memoryPolicy: mp }), ctxFor(fakeHost({ numa })));

  it('maps modes and flags to their kernel numbers and the nodes to a mask', () => {
    expect(plan({ mode: 'MPOL_INTERLEAVE', nodes: '0-1,3', flags: ['MPOL_F_STATIC_NODES'] })).toEqual({
      mode: 3,
      flags: 0x8000,
      nodes: [0b1011n],
    });
    expect(plan({ mode: 'MPOL_LOCAL' })).toEqual({ mode: 4, flags: 0, nodes: [] });
    expect(plan({ mode: 'MPOL_BIND', nodes: '2', flags: ['MPOL_F_NUMA_BALANCING'] })).toEqual({ mode: 2, flags: 0x2000, nodes: [4n] });
    expect(plan(undefined)).toBeUndefined();
  });

  it('needs the nodes to exist, unless they are static or relative', () => {
    expect(() => plan({ mode: 'MPOL_BIND', nodes: '0,7-8' })).toThrow('$.linux.memoryPolicy.nodes: nodes 7,8 do not exist on this host (online: 0,1,2,3)');
    expect(() => plan({ mode: 'MPOL_PREFERRED', nodes: '1' }, null)).toThrow('this kernel has no NUMA support');
    // a node number above 63 takes a second word
    expect(plan({ mode: 'MPOL_BIND', nodes: '64', flags: ['MPOL_F_RELATIVE_NODES'] })?.nodes).toEqual([0n, 1n]);
    expect(() => plan({ mode: 'MPOL_BIND', nodes: '40000', flags: ['MPOL_F_STATIC_NODES'] })).toThrow('above the largest node');
  });

  it('goes to the init and to every exec: it is the process policy', () => {
    const spec = baseSpec();
    spec.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' };
    const host = fakeHost();
    const create = buildCreatePlan({ spec, bundle: '/bundle', rootfs: '/bundle/rootfs', opts: { id: 'c', fifoPath: '/run/f', hostMountPoint: '/run/m' }, host, cgroupProcs: CGROUP_PROCS });
    expect(create.plan.memPolicy).toEqual({ mode: 2, flags: 0, nodes: [1n] });
    const exec = buildExecPlan({ spec, pid: 42, process: spec.process!, opts: { id: 'c' }, host, cgroupProcs: CGROUP_PROCS });
    expect(exec.plan.memPolicy).toEqual({ mode: 2, flags: 0, nodes: [1n] });
  });
});

describe('linux.netDevices', () => {
  const withNet = (netDevices: Record<string, { name?: string }>, namespaces = [{ type: 'network' }, { type: 'mount' }]) =>
    linuxWith({ netDevices, namespaces });
  const plan = (spec: Spec, netdevs = ['lo', 'eth0', 'veth1', 'veth2']) =>
    planNetDevices(spec, namespaceMap(spec), ctxFor(fakeHost({ netdevs })));

  it('renames per the spec, keeping the host name when none is given', () => {
    expect(plan(withNet({ veth1: { name: 'eth1' }, veth2: {}, eth0: { name: 'net%d' } }))).toEqual([
      { name: 'veth1', newName: 'eth1' },
      { name: 'veth2', newName: 'veth2' },
      { name: 'eth0', newName: 'net%d' },
    ]);
    expect(plan(withNet({}))).toBeUndefined();
  });

  it('refuses a device the host lacks, lo, and two devices with one new name', () => {
    expect(() => plan(withNet({ veth9: {} }))).toThrow('$.linux.netDevices.veth9: no network device "veth9" on the host');
    expect(() => plan(withNet({ lo: { name: 'x' } }))).toThrow('$.linux.netDevices.lo: the loopback device cannot leave');
    expect(() => plan(withNet({ veth1: { name: 'eth1' }, veth2: { name: 'eth1' } }))).toThrow(
      '$.linux.netDevices.veth2.name: "eth1" is also the new name of linux.netDevices.veth1',
    );
    expect(() => plan(withNet({ veth1: { name: 'lo' } }))).toThrow('$.linux.netDevices.veth1.name: the container already has "lo"');
  });

  it('refuses a new network namespace made inside a joined user namespace; a joined one is fine', () => {
    const joinedUser = [{ type: 'network' }, { type: 'mount' }, { type: 'user', path: '/proc/9/ns/user' }];
    expect(() => plan(withNet({ veth1: {} }, joinedUser))).toThrow('cannot be moved into a new network namespace of a joined user namespace');
    const bothJoined = [{ type: 'network', path: '/proc/9/ns/net' }, { type: 'mount' }, { type: 'user', path: '/proc/9/ns/user' }];
    expect(plan(withNet({ veth1: { name: 'lo' } }, bothJoined))).toEqual([{ name: 'veth1', newName: 'lo' }]);
  });
});

describe('host facts for them', () => {
  it('parses sysfs node lists and /proc/net/dev', () => {
    expect(parseNodeList('0-2,5\n')).toEqual([0, 1, 2, 5]);
    expect(parseNodeList('x')).toBeUndefined();
    const dev = 'Inter-|   Receive\n face |bytes\n    lo: 1 2 3\n  eth0: 4 5 6\nveth-a.1: 7\n';
    expect(parseNetDev(dev)).toEqual(['lo', 'eth0', 'veth-a.1']);
  });
});

describe('linux.intelRdt against a fake resctrl directory', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-resctrl-'));
    fs.mkdirSync(path.join(root, 'info'));
    fs.mkdirSync(path.join(root, 'mon_groups'));
    fs.writeFileSync(path.join(root, 'schemata'), '    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n');
    fs.mkdirSync(path.join(root, 'shared'));
    fs.writeFileSync(path.join(root, 'shared', 'schemata'), '    L3:0=0f0;1=7ff\n    MB:0= 20;1=100\n');
    fs.mkdirSync(path.join(root, 'shared', 'mon_groups'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const rdt = (intelRdt: Record<string, unknown>, id = 'c1') => planIntelRdt(linuxWith({ intelRdt }), id, dirView(root));

  it('is an error without a mounted resctrl, whatever it asks', () => {
    for (const r of [{}, { closID: '/' }, { enableMonitoring: true }]) {
      expect(() => planIntelRdt(linuxWith({ intelRdt: r }), 'c1', undefined)).toThrow(
        '$.linux.intelRdt: no resctrl filesystem is mounted (/sys/fs/resctrl is absent)',
      );
    }
    expect(planIntelRdt(linuxWith({}), 'c1', undefined)).toBeUndefined();
  });

  it('without closID: a group named after the container, made and removed by the runtime', () => {
    expect(rdt({ l3CacheSchema: 'L3:0=f', memBwSchema: 'MB:0=50', schemata: ['L2:0=3'] })).toEqual({
      group: path.join(root, 'c1'),
      createGroup: true,
      removeGroup: true,
      schemata: ['L3:0=f', 'MB:0=50', 'L2:0=3'], // l3CacheSchema first, memBwSchema, then schemata
    });
    fs.mkdirSync(path.join(root, 'c1'));
    expect(() => rdt({})).toThrow(`the resctrl group ${path.join(root, 'c1')} of this container's id already exists`);
  });

  it('closID "/" is the default group; an existing closID is joined, never removed', () => {
    expect(rdt({ closID: '/' })).toMatchObject({ group: root, createGroup: false, removeGroup: false, schemata: [] });
    expect(rdt({ closID: 'shared' })).toMatchObject({ group: path.join(root, 'shared'), createGroup: false, schemata: [] });
    expect(() => rdt({ closID: 'absent' })).toThrow('$.linux.intelRdt.closID: no resctrl group');
    // a closID that does not exist yet, with schemata: made, and kept at delete
    expect(rdt({ closID: 'new', schemata: ['L3:0=1'] })).toMatchObject({ createGroup: true, removeGroup: false, schemata: ['L3:0=1'] });
  });

  it('compares l3CacheSchema and memBwSchema with an existing group, by value', () => {
    // resctrl pads the names and zero-pads the masks: the values are what count
    expect(rdt({ closID: 'shared', l3CacheSchema: 'L3:0=f0', memBwSchema: 'MB:0=20', schemata: ['L2:0=1'] })).toMatchObject({
      schemata: ['L2:0=1'],
    });
    expect(() => rdt({ closID: 'shared', l3CacheSchema: 'L3:0=ff' })).toThrow(
      '$.linux.intelRdt.l3CacheSchema: does not match the existing group',
    );
    expect(() => rdt({ closID: 'shared', memBwSchema: 'MB:1=90' })).toThrow('domain 1 of MB is 100, the config asks 90');
  });

  it('enableMonitoring: a MON group named after the container', () => {
    expect(rdt({ closID: 'shared', enableMonitoring: true })?.monGroup).toBe(path.join(root, 'shared', 'mon_groups', 'c1'));
    expect(rdt({ enableMonitoring: true })?.monGroup).toBe(path.join(root, 'c1', 'mon_groups', 'c1'));
    fs.rmSync(path.join(root, 'mon_groups'), { recursive: true });
    expect(() => rdt({ enableMonitoring: true })).toThrow('resctrl monitoring is not available');
  });

  it('applies the plan in the directory and removes only what it made', () => {
    // a plain directory stands in for the kernel: mkdir makes no files, so the test makes mon_groups itself
    const p = rdt({ schemata: ['L3:0=3'] })!;
    applyIntelRdt(p, root);
    expect(fs.readFileSync(path.join(root, 'c1', 'schemata'), 'utf8')).toBe('L3:0=3\n');
    joinIntelRdt(p, 4242, root);
    expect(fs.readFileSync(path.join(root, 'c1', 'tasks'), 'utf8')).toBe('4242\n');
    fs.rmSync(path.join(root, 'c1', 'schemata'));
    fs.rmSync(path.join(root, 'c1', 'tasks'));
    expect(removeIntelRdt(intelRdtRecord(p))).toEqual([]);
    expect(fs.existsSync(path.join(root, 'c1'))).toBe(false);
    const shared = rdt({ closID: 'shared', enableMonitoring: true })!;
    expect(intelRdtRecord(shared)).toEqual({ group: undefined, monGroup: path.join(root, 'shared', 'mon_groups', 'c1') });
  });
});
