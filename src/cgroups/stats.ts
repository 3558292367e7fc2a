// The statistics `runc events --stats` prints (runc 1.1.5 types/events.go),
// with the same JSON names. Counters are U64 (a bigint when a uint64 does not
// fit a double exactly); statsJson() prints them exactly and applies Go's
// `omitempty` the way runc's structs do.

import type { U64 } from './util';

export interface BlkioEntry {
  major: U64;
  minor: U64;
  op: string;
  value: U64;
}

export interface MemoryEntry {
  limit: U64;
  usage: U64;
  max: U64;
  failcnt: U64;
}

export interface Stats {
  cpu: {
    usage: { total: U64; percpu: U64[]; percpu_kernel: U64[]; percpu_user: U64[]; kernel: U64; user: U64 };
    throttling: { periods: U64; throttledPeriods: U64; throttledTime: U64 };
  };
  cpuset: {
    cpus: number[];
    cpu_exclusive: U64;
    mems: number[];
    mem_hardwall: U64;
    mem_exclusive: U64;
    memory_migrate: U64;
    memory_spread_page: U64;
    memory_spread_slab: U64;
    memory_pressure: U64;
    sched_load_balance: U64;
    sched_relax_domain_level: number;
  };
  memory: {
    cache: U64;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw: Record<string, U64>;
  };
  pids: { current: U64; limit: U64 };
  blkio: {
    ioServiceBytesRecursive: BlkioEntry[];
    ioServicedRecursive: BlkioEntry[];
    ioQueueRecursive: BlkioEntry[];
    ioServiceTimeRecursive: BlkioEntry[];
    ioWaitTimeRecursive: BlkioEntry[];
    ioMergedRecursive: BlkioEntry[];
    ioTimeRecursive: BlkioEntry[];
    sectorsRecursive: BlkioEntry[];
  };
  hugetlb: Record<string, { usage: U64; max: U64; failcnt: U64 }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const memEntry = (): MemoryEntry => ({ limit: 0, usage: 0, max: 0, failcnt: 0 });

export function emptyStats(): Stats {
  return {
    cpu: {
      usage: { total: 0, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 0, user: 0 },
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    cpuset: {
      cpus: [], cpu_exclusive: 0, mems: [], mem_hardwall: 0, mem_exclusive: 0, memory_migrate: 0,
      memory_spread_page: 0, memory_spread_slab: 0, memory_pressure: 0, sched_load_balance: 0, sched_relax_domain_level: 0,
    },
    memory: { cache: 0, usage: memEntry(), swap: memEntry(), kernel: memEntry(), kernelTCP: memEntry(), raw: {} },
    pids: { current: 0, limit: 0 },
    blkio: {
      ioServiceBytesRecursive: [], ioServicedRecursive: [], ioQueueRecursive: [], ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [], ioMergedRecursive: [], ioTimeRecursive: [], sectorsRecursive: [],
    },
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** Fields runc tags `omitempty` (dropped when zero or empty), by parent key. */
const OMIT_EMPTY: Record<string, Set<string>> = {
  usage: new Set(['total', 'percpu', 'percpu_kernel', 'percpu_user']),
  throttling: new Set(['periods', 'throttledPeriods', 'throttledTime']),
  cpuset: new Set(['cpus', 'mems']),
  memory: new Set(['cache', 'raw']),
  memoryEntry: new Set(['usage', 'max']),
  pids: new Set(['current', 'limit']),
  blkio: new Set(['ioServiceBytesRecursive', 'ioServicedRecursive', 'ioQueueRecursive', 'ioServiceTimeRecursive', 'ioWaitTimeRecursive', 'ioMergedRecursive', 'ioTimeRecursive', 'sectorsRecursive']),
  blkioEntry: new Set(['major', 'minor', 'op', 'value']),
  hugetlbEntry: new Set(['usage', 'max']),
};

function isEmpty(v: unknown): boolean {
  if (v === 0 || v === 0n || v === '' || v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function kind(parent: string, key: string): string {
  if (parent === 'memory' && ['usage', 'swap', 'kernel', 'kernelTCP'].includes(key)) return 'memoryEntry';
  if (parent === 'blkio') return 'blkioEntry';
  if (parent === 'hugetlb') return 'hugetlbEntry';
  return key;
}

function toJson(v: unknown, k: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => toJson(x, k)).join(',')}]`;
  const omit = OMIT_EMPTY[k];
  const parts: string[] = [];
  let entries = Object.entries(v as Record<string, unknown>);
  // Go's encoding/json writes map keys sorted (runc's raw and hugetlb are maps)
  if (k === 'raw' || k === 'hugetlb') entries = entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, val] of entries) {
    if (omit?.has(key) && isEmpty(val)) continue;
    parts.push(`${JSON.stringify(key)}:${toJson(val, k === 'raw' ? 'rawValue' : kind(k, key))}`);
  }
  return `{${parts.join(',')}}`;
}

/** The stats as runc prints them inside {"type":"stats","id":…,"data":…}. */
export function statsJson(s: Stats): string {
  return toJson(s, 'root');
}
