// linux.intelRdt -> what the runtime does in the resctrl filesystem (config-linux.md#intelrdt). Pure but for
// the reads of the resctrl directory it is given (a fake one in the unit tests); src/runtime/intel-rdt.ts applies
// the result: it makes the groups, writes the schemata and the container's pid to `tasks`, and removes at delete
// what it made.
import * as path from 'node:path';
import type { Spec } from '../spec/types';
import { planError } from './util';

/** What the runtime may read of the resctrl filesystem mounted at root. */
export interface ResctrlView {
  root: string;
  isDir(p: string): boolean;
  /** A file's text; undefined when it cannot be read. */
  read(p: string): string | undefined;
}

export interface IntelRdtPlan {
  /** The CTRL_MON group the container joins: the resctrl root (the default CLOS) or a directory of it. */
  group: string;
  /** The runtime makes the group (and, when removeGroup, takes it away at delete). */
  createGroup: boolean;
  /** "If closID is not set and the runtime has created the sub-directory, the runtime MUST remove" it. */
  removeGroup: boolean;
  /** Lines for group/schemata, in the spec's order: l3CacheSchema, memBwSchema, then schemata. */
  schemata: string[];
  /** enableMonitoring: the MON group mon_groups/<container id> of the group, made and removed by the runtime. */
  monGroup?: string;
}

type SchemaLine = { resource: string; domains: Map<string, string> };

/** "L3:0=7f0;1=1f" (resctrl pads the name with spaces on output) -> its resource and per-domain values. */
export function parseSchemaLine(line: string): SchemaLine | undefined {
  const m = /^\s*([A-Za-z0-9_]+):(.*)$/.exec(line);
  if (!m) return undefined;
  const domains = new Map<string, string>();
  for (const part of m[2].split(';')) {
    if (part.trim() === '') continue;
    const kv = /^\s*(\d+)\s*=\s*([0-9a-fA-Fx]+)\s*$/.exec(part);
    if (!kv) return undefined;
    domains.set(kv[1], kv[2]);
  }
  return { resource: m[1].toUpperCase(), domains };
}

/** Cache bitmasks are hex (resctrl prints them zero-padded), memory bandwidth decimal. */
function sameValue(resource: string, a: string, b: string): boolean {
  const base = resource.startsWith('MB') ? 10 : 16;
  return parseInt(a, base) === parseInt(b, base);
}

/** Where an existing group's schemata disagree with a line the config asks for: a message, or undefined. */
function mismatch(current: string, asked: string): string | undefined {
  const want = parseSchemaLine(asked);
  if (!want) return `${JSON.stringify(asked)} is not a schemata line`;
  const have = current
    .split('\n')
    .map(parseSchemaLine)
    .find((l) => l?.resource === want.resource);
  if (!have) return `the group has no ${want.resource} resource`;
  for (const [id, v] of want.domains) {
    const h = have.domains.get(id);
    if (h === undefined || !sameValue(want.resource, v, h)) return `domain ${id} of ${want.resource} is ${h ?? 'absent'}, the config asks ${v}`;
  }
  return undefined;
}

export function planIntelRdt(spec: Spec, id: string, fs: ResctrlView | undefined): IntelRdtPlan | undefined {
  const rdt = spec.linux?.intelRdt as
    | { closID?: string; l3CacheSchema?: string; memBwSchema?: string; schemata?: string[]; enableMonitoring?: boolean }
    | undefined;
  if (rdt === undefined) return undefined;
  const at = 'linux.intelRdt';
  // "If no mounted resctrl pseudo-filesystem is available in the runtime mount namespace, the runtime MUST
  // generate an error": every intelRdt setting puts the container's pid in a resctrl `tasks` file
  if (!fs) {
    throw planError(
      at,
      'no resctrl filesystem is mounted (/sys/fs/resctrl is absent): Intel RDT needs a CPU with RDT (or AMD PQoS) and a kernel with CONFIG_X86_CPU_RESCTRL, then `mount -t resctrl resctrl /sys/fs/resctrl`',
    );
  }
  const asked = [rdt.l3CacheSchema, rdt.memBwSchema].filter((s): s is string => s !== undefined && s !== '');
  const schemata = [...asked, ...(rdt.schemata ?? [])];
  const plan: IntelRdtPlan = { group: fs.root, createGroup: false, removeGroup: false, schemata };
  if (rdt.closID === undefined) {
    plan.group = path.join(fs.root, id);
    if (fs.isDir(plan.group)) throw planError(at, `the resctrl group ${plan.group} of this container's id already exists`);
    plan.createGroup = plan.removeGroup = true;
  } else if (rdt.closID !== '/') {
    plan.group = path.join(fs.root, rdt.closID);
    if (!fs.isDir(plan.group)) {
      if (schemata.length === 0) throw planError(`${at}.closID`, `no resctrl group ${plan.group} (with no schemata to make it with)`);
      plan.createGroup = true;
    }
  }
  if (!plan.createGroup && asked.length > 0) {
    // an existing CLOS is shared: the config's l3CacheSchema/memBwSchema must be what it has
    const current = fs.read(path.join(plan.group, 'schemata'));
    if (current === undefined) throw planError(at, `cannot read ${path.join(plan.group, 'schemata')}`);
    for (const [key, line] of [['l3CacheSchema', rdt.l3CacheSchema], ['memBwSchema', rdt.memBwSchema]] as const) {
      const why = line ? mismatch(current, line) : undefined;
      if (why) throw planError(`${at}.${key}`, `does not match the existing group ${plan.group}: ${why}`);
    }
    plan.schemata = rdt.schemata ?? [];
  }
  if (rdt.enableMonitoring) {
    const monDir = path.join(plan.group, 'mon_groups');
    // a group made by the runtime gets its mon_groups from the kernel; an existing one must show it
    if (!plan.createGroup && !fs.isDir(monDir)) throw planError(`${at}.enableMonitoring`, `resctrl monitoring is not available (no ${monDir})`);
    if (plan.createGroup && !fs.isDir(path.join(fs.root, 'mon_groups'))) {
      throw planError(`${at}.enableMonitoring`, `resctrl monitoring is not available (no ${path.join(fs.root, 'mon_groups')})`);
    }
    plan.monGroup = path.join(monDir, id);
    if (fs.isDir(plan.monGroup)) throw planError(`${at}.enableMonitoring`, `the MON group ${plan.monGroup} already exists`);
  }
  return plan;
}
