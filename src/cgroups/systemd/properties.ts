// The resources of a config as systemd unit properties, for StartTransientUnit and SetUnitProperties, as runc's
// systemd driver sets them. systemd then owns these files; what it has no property for is written to the unit's
// cgroup files by the cgroupfs code afterwards (manager.ts). Pure: the host facts come in as arguments.
//
// A property is [name, [D-Bus signature, value]], the shape dbus-native's codec takes for an a(sv) entry.
import type { DeviceCgroup, Resources } from '../../spec/types';
import { accessString, normalizeRules, type DeviceRule } from '../device-rules';
import { parseCpuList } from '../v1/cpuset';
import { sharesToWeight } from '../v2/cpu';
import { blkioWeightToIoWeight } from '../v2/io';

export type Property = [string, [string, unknown]];

/** systemd's "infinity" for a uint64 property. */
export const INFINITY = 0xffffffffffffffffn;

const u64 = (v: number | bigint): ['t', bigint] => ['t', BigInt(v)];

/** What the properties depend on besides the config. */
export interface PropertyHost {
  version: 'v1' | 'v2';
  /** Char and block device majors by number, from /proc/devices, for DeviceAllow="char-NAME". */
  devices: { char: Map<number, string>; block: Map<number, string> };
  /**
   * Whether the host has the device kind major:minor (/dev/char/M:m or /sys/dev/char/M:m). systemd resolves a
   * DeviceAllow path when it applies it and warns on one that is missing, so a device the host does not have is
   * left out, as runc does (the runtime's own rules still allow it, should it appear). Absent: all exist.
   */
  deviceExists?: (kind: 'char' | 'block', major: number, minor: number) => boolean;
}

/** The properties every container's unit gets, with the pid that goes in it. */
export function unitBaseProperties(o: { id: string; slice?: string; pid: number; version: 'v1' | 'v2' }): Property[] {
  const props: Property[] = [
    ['Description', ['s', `tsrun container ${o.id}`]],
    ['PIDs', ['au', [o.pid]]],
    // the runtime manages the cgroup below the unit (sub-cgroups, exec --cgroup, the container's own)
    ['Delegate', ['b', true]],
    ['DefaultDependencies', ['b', false]],
    ['MemoryAccounting', ['b', true]],
    ['CPUAccounting', ['b', true]],
    ['TasksAccounting', ['b', true]],
    [o.version === 'v2' ? 'IOAccounting' : 'BlockIOAccounting', ['b', true]],
  ];
  if (o.slice) props.splice(1, 0, ['Slice', ['s', o.slice]]);
  return props;
}

/**
 * CPUQuotaPerSecUSec from quota/period: systemd keeps it in 10 ms steps, so it is rounded up as runc does
 * (a quota of 5000/100000 becomes 10 ms per second, i.e. 1000/100000). A quota of -1 is no limit.
 */
export function cpuQuotaPerSecUSec(quota: number, period: number | undefined): bigint {
  if (quota < 0) return INFINITY;
  const p = period && period > 0 ? period : 100_000;
  const perSec = Math.ceil((quota * 1_000_000) / p);
  return BigInt(Math.ceil(perSec / 10_000) * 10_000);
}

/** A cpu or memory-node list ("0-2,4") as the byte mask AllowedCPUs/AllowedMemoryNodes take (bit n of byte n/8). */
export function listToMask(list: string): number[] {
  const ids = parseCpuList(list);
  const mask: number[] = [];
  for (const id of ids) {
    const byte = id >> 3;
    while (mask.length <= byte) mask.push(0);
    mask[byte] |= 1 << (id & 7);
  }
  return mask;
}

/** The device rules as DevicePolicy and DeviceAllow; `expressed` is false where systemd cannot say them (auto). */
export function deviceProperties(rules: DeviceCgroup[], host: PropertyHost): { props: Property[]; expressed: boolean } {
  let allowAll = false;
  let expressible = true;
  let allowed: DeviceRule[] = [];
  for (const r of normalizeRules(rules)) {
    const blanket = r.type === 'a' && r.major === -1 && r.minor === -1;
    if (blanket && r.access === 7) {
      allowAll = r.allow;
      allowed = [];
    } else if (r.allow) {
      if (!allowAll) allowed.push(r);
    } else if (allowAll || allowed.length) {
      // a deny after allows: systemd's lists only allow; the cgroup files (v1) or our filter (v2) say it
      expressible = false;
    }
  }
  if (allowAll || !expressible) return { props: [['DevicePolicy', ['s', 'auto']], ['DeviceAllow', ['a(ss)', []]]], expressed: expressible };
  const entries: [string, string][] = [];
  const add = (node: string, access: number) => {
    if (access) entries.push([node, accessString(access)]);
  };
  for (const r of allowed) {
    for (const t of r.type === 'a' ? (['c', 'b'] as const) : [r.type]) {
      const kind = t === 'c' ? 'char' : 'block';
      if (r.major === -1) add(`${kind}-*`, r.access);
      else if (r.minor === -1) {
        const name = (t === 'c' ? host.devices.char : host.devices.block).get(r.major);
        // a major the kernel does not list has no device to reach: nothing to allow
        if (name) add(`${kind}-${name}`, r.access);
      } else if (host.deviceExists?.(kind, r.major, r.minor) ?? true) add(`/dev/${kind}/${r.major}:${r.minor}`, r.access);
    }
  }
  return { props: [['DevicePolicy', ['s', 'strict']], ['DeviceAllow', ['a(ss)', entries]]], expressed: true };
}

/** The resource properties for a unit (create) or for SetUnitProperties (update). */
export function resourceProperties(r: Resources, devices: DeviceCgroup[] | undefined, host: PropertyHost): Property[] {
  const props: Property[] = [];
  const v2 = host.version === 'v2';
  const mem = r.memory;
  if (mem?.limit !== undefined && mem.limit !== 0) props.push([v2 ? 'MemoryMax' : 'MemoryLimit', mem.limit < 0 ? ['t', INFINITY] : u64(mem.limit)]);
  if (v2 && mem?.reservation !== undefined && mem.reservation > 0) props.push(['MemoryLow', u64(mem.reservation)]);
  if (v2 && mem?.swap !== undefined && mem.swap !== 0) {
    // v1's swap is memory+swap; v2's MemorySwapMax is swap alone
    const limit = mem.limit ?? -1;
    if (mem.swap < 0) props.push(['MemorySwapMax', ['t', INFINITY]]);
    else if (limit > 0 && mem.swap >= limit) props.push(['MemorySwapMax', u64(mem.swap - limit)]);
  }
  const cpu = r.cpu;
  if (cpu?.shares) props.push(v2 ? ['CPUWeight', u64(sharesToWeight(cpu.shares))] : ['CPUShares', u64(cpu.shares)]);
  if (cpu?.period) props.push(['CPUQuotaPeriodUSec', u64(cpu.period)]);
  if (cpu?.quota !== undefined && cpu.quota !== 0) props.push(['CPUQuotaPerSecUSec', ['t', cpuQuotaPerSecUSec(cpu.quota, cpu.period)]]);
  if (cpu?.cpus) props.push(['AllowedCPUs', ['ay', listToMask(cpu.cpus)]]);
  if (cpu?.mems) props.push(['AllowedMemoryNodes', ['ay', listToMask(cpu.mems)]]);
  const limit = r.pids?.limit;
  if (limit !== undefined && limit !== 0) props.push(['TasksMax', limit < 0 ? ['t', INFINITY] : u64(limit)]);
  const w = r.blockIO?.weight;
  if (w) props.push(v2 ? ['IOWeight', u64(blkioWeightToIoWeight(w))] : ['BlockIOWeight', u64(w)]);
  if (devices) props.push(...deviceProperties(devices, host).props);
  return props;
}

/** /proc/devices -> majors by number, per kind. */
export function parseProcDevices(text: string): PropertyHost['devices'] {
  const out = { char: new Map<number, string>(), block: new Map<number, string>() };
  let into: Map<number, string> | undefined;
  for (const line of text.split('\n')) {
    if (/^Character devices:/.test(line)) into = out.char;
    else if (/^Block devices:/.test(line)) into = out.block;
    else {
      const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
      if (m && into) into.set(Number(m[1]), m[2]);
    }
  }
  return out;
}
