// The systemd driver's pure parts: cgroupsPath "slice:prefix:name" -> unit, slice and cgroup; resources -> unit
// properties; the D-Bus framing.
import { describe, expect, it } from 'vitest';
import { expandSlice, systemdUnitPath } from '../../src/cgroups/systemd/unit-path';
import {
  INFINITY,
  cpuQuotaPerSecUSec,
  deviceProperties,
  listToMask,
  parseProcDevices,
  resourceProperties,
  unitBaseProperties,
  type PropertyHost,
} from '../../src/cgroups/systemd/properties';
import { messageLength, socketPathOf } from '../../src/cgroups/systemd/dbus';
import { withDefaultDeviceRules } from '../../src/cgroups/device-rules';

describe('systemdUnitPath (runc\'s "slice:prefix:name")', () => {
  it('names the scope and nests the slice as systemd does', () => {
    expect(systemdUnitPath('c1', 'system.slice:docker:c1')).toEqual({ slice: 'system.slice', unit: 'docker-c1.scope', cgroup: '/system.slice/docker-c1.scope' });
    expect(systemdUnitPath('c1', 'machine-libpod.slice:libpod:abc')).toEqual({
      slice: 'machine-libpod.slice',
      unit: 'libpod-abc.scope',
      cgroup: '/machine.slice/machine-libpod.slice/libpod-abc.scope',
    });
    expect(systemdUnitPath('c1', '-.slice:p:n').cgroup).toBe('/p-n.scope');
  });
  it('takes the defaults for empty parts and an absent path', () => {
    expect(systemdUnitPath('c1', ':tsrun:c1')).toMatchObject({ slice: 'system.slice', unit: 'tsrun-c1.scope' });
    expect(systemdUnitPath('c1', undefined)).toMatchObject({ slice: 'system.slice', unit: 'tsrun-c1.scope', cgroup: '/system.slice/tsrun-c1.scope' });
    expect(systemdUnitPath('c1', undefined, { rootless: true }).slice).toBe('user.slice');
    expect(systemdUnitPath('c1', 'a.slice::n').unit).toBe('-n.scope'); // as runc
  });
  it('takes a name ending in .slice as a slice unit of its own', () => {
    expect(systemdUnitPath('c1', 'machine.slice::machine-x.slice')).toEqual({ slice: 'machine.slice', unit: 'machine-x.slice', cgroup: '/machine.slice/machine-x.slice' });
    expect(() => systemdUnitPath('c1', 'machine.slice::other.slice')).toThrow(/would not put in "machine.slice"/);
  });
  it('refuses what is not the form, and names systemd would refuse', () => {
    expect(() => systemdUnitPath('c1', '/a/b')).toThrow('$.linux.cgroupsPath: "/a/b" is not in the systemd driver\'s form "slice:prefix:name"');
    expect(() => systemdUnitPath('c1', 'a:b')).toThrow(/not in the systemd driver's form/);
    expect(() => systemdUnitPath('c1', 'system.slice:p:')).toThrow(/empty name/);
    expect(() => systemdUnitPath('c1', 'system:p:n')).toThrow(/"system", which systemd refuses/);
    expect(() => systemdUnitPath('c1', 'a--b.slice:p:n')).toThrow(/empty part/);
    expect(() => systemdUnitPath('c1', '-a.slice:p:n')).toThrow(/empty part/);
    expect(() => systemdUnitPath('c1', 'a/b.slice:p:n')).toThrow(/may not hold "\/"/);
    expect(() => systemdUnitPath('c1', 'system.slice:p:bad name')).toThrow(/which systemd refuses \(only letters/);
    expect(() => systemdUnitPath('c1', `system.slice:p:${'x'.repeat(250)}`)).toThrow(/longer than 255/);
  });
  it('expands slices', () => {
    expect(expandSlice('', 'a-b-c.slice')).toBe('/a.slice/a-b.slice/a-b-c.slice');
    expect(expandSlice('', '-.slice')).toBe('/');
  });
});

const host = (version: 'v1' | 'v2'): PropertyHost => ({
  version,
  devices: parseProcDevices('Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n\nBlock devices:\n  8 sd\n'),
});
const byName = (props: [string, [string, unknown]][]) => Object.fromEntries(props.map(([k, v]) => [k, v]));

describe('unit properties', () => {
  it('puts the pid in a delegated unit of the slice, with accounting on', () => {
    const p = byName(unitBaseProperties({ id: 'c1', slice: 'system.slice', pid: 42, version: 'v1' }));
    expect(p.PIDs).toEqual(['au', [42]]);
    expect(p.Slice).toEqual(['s', 'system.slice']);
    expect(p.Delegate).toEqual(['b', true]);
    expect(p.DefaultDependencies).toEqual(['b', false]);
    expect(p.BlockIOAccounting).toEqual(['b', true]);
    expect(byName(unitBaseProperties({ id: 'c1', pid: 1, version: 'v2' })).IOAccounting).toEqual(['b', true]);
  });
  it('maps resources per cgroup version, as runc', () => {
    const r = { memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20 }, cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0-1,3', mems: '0' }, pids: { limit: 100 }, blockIO: { weight: 500 } };
    const v1 = byName(resourceProperties(r, undefined, host('v1')));
    expect(v1).toEqual({
      MemoryLimit: ['t', 64n << 20n],
      CPUShares: ['t', 512n],
      CPUQuotaPeriodUSec: ['t', 100_000n],
      CPUQuotaPerSecUSec: ['t', 500_000n],
      AllowedCPUs: ['ay', [0b1011]],
      AllowedMemoryNodes: ['ay', [1]],
      TasksMax: ['t', 100n],
      BlockIOWeight: ['t', 500n],
    });
    const v2 = byName(resourceProperties(r, undefined, host('v2')));
    expect(v2.MemoryMax).toEqual(['t', 64n << 20n]);
    expect(v2.MemoryLow).toEqual(['t', 32n << 20n]);
    expect(v2.MemorySwapMax).toEqual(['t', 64n << 20n]);
    expect(v2.CPUWeight).toEqual(['t', 20n]);
    expect(v2.IOWeight).toEqual(['t', BigInt(1 + Math.floor(((500 - 10) * 9999) / 990))]);
    expect(byName(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 } }, undefined, host('v2')))).toEqual({ MemoryMax: ['t', INFINITY], TasksMax: ['t', INFINITY] });
  });
  it('rounds the quota up to systemd\'s 10 ms steps', () => {
    expect(cpuQuotaPerSecUSec(5_000, 100_000)).toBe(50_000n);
    expect(cpuQuotaPerSecUSec(1_234, 100_000)).toBe(20_000n);
    expect(cpuQuotaPerSecUSec(-1, 100_000)).toBe(INFINITY);
    expect(listToMask('9')).toEqual([0, 2]);
  });
  it('says the usual device rules as a strict allow list', () => {
    const rules = withDefaultDeviceRules([{ allow: false, access: 'rwm' }]);
    const { props, expressed } = deviceProperties(rules, host('v1'));
    expect(expressed).toBe(true);
    const p = byName(props);
    expect(p.DevicePolicy).toEqual(['s', 'strict']);
    const allow = (p.DeviceAllow as [string, [string, string][]])[1];
    expect(allow).toContainEqual(['char-*', 'm']);
    expect(allow).toContainEqual(['block-*', 'm']);
    expect(allow).toContainEqual(['/dev/char/1:3', 'rwm']);
    expect(allow).toContainEqual(['char-pts', 'rwm']);
  });
  it('leaves out of DeviceAllow a device the host does not have, as runc does (systemd would warn)', () => {
    const rules = withDefaultDeviceRules([{ allow: false, access: 'rwm' }]);
    const seen: string[] = [];
    const exists = (kind: 'char' | 'block', major: number, minor: number) => {
      seen.push(`${kind} ${major}:${minor}`);
      return !(kind === 'char' && major === 10 && minor === 200);
    };
    const allow = (byName(deviceProperties(rules, { ...host('v2'), deviceExists: exists }).props).DeviceAllow as [string, [string, string][]])[1];
    expect(seen).toContain('char 10:200');
    expect(allow.map(([node]) => node)).not.toContain('/dev/char/10:200');
    expect(allow).toContainEqual(['/dev/char/1:3', 'rwm']);
    const all = (byName(deviceProperties(rules, host('v2')).props).DeviceAllow as [string, [string, string][]])[1];
    expect(all).toContainEqual(['/dev/char/10:200', 'rwm']);
    expect(all).toHaveLength(allow.length + 1);
  });
  it('leaves to the cgroup files what systemd cannot say (a deny after allows)', () => {
    const { props, expressed } = deviceProperties([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }], host('v1'));
    expect(expressed).toBe(false);
    expect(byName(props).DevicePolicy).toEqual(['s', 'auto']);
  });
});

describe('D-Bus framing', () => {
  it('finds the socket of an address', () => {
    expect(socketPathOf('unix:path=/run/dbus/system_bus_socket')).toBe('/run/dbus/system_bus_socket');
    expect(socketPathOf('tcp:host=x;unix:path=/a%20b,guid=1')).toBe('/a b');
    expect(() => socketPathOf('tcp:host=x')).toThrow(/no unix:path=/);
  });
  it('measures a message from its header, and waits for the rest', () => {
    const head = Buffer.alloc(16);
    head.write('l', 0);
    head.writeUInt32LE(5, 4); // body
    head.writeUInt32LE(20, 12); // header fields: 16 + 20 = 36 -> 40, + 5
    expect(messageLength(head)).toBe(0);
    expect(messageLength(Buffer.concat([head, Buffer.alloc(29)]))).toBe(45);
    expect(messageLength(Buffer.concat([head, Buffer.alloc(28)]))).toBe(0);
    head.write('X', 0);
    expect(() => messageLength(Buffer.concat([head, Buffer.alloc(40)]))).toThrow(/byte order/);
  });
});
