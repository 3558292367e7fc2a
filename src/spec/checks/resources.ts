// What the container may use of the machine: its cgroup (cgroupsPath and
// resources), Intel RDT (cache and memory bandwidth), the NUMA memory policy.
// Citations as in index.ts.

import type { PathSegment } from '../problem';
import { Collector, arr, isNum, isObj, isStr, parseIdList, quote, type Obj } from './shared';

/**
 * config-linux.md#cgroups-path: absolute or relative; "Runtimes MAY consider
 * certain cgroupsPath values to be invalid, and MUST generate an error". tsrun
 * refuses ".." components (they could leave the cgroup tree or the parent
 * given to it) and NUL bytes.
 */
export function checkCgroupsPath(linux: Obj, c: Collector): void {
  const p = linux.cgroupsPath;
  if (!isStr(p)) return;
  if (p.includes('\0')) c.error(['linux', 'cgroupsPath'], 'must not contain a NUL byte');
  else if (p.split('/').includes('..')) c.error(['linux', 'cgroupsPath'], `must not contain ".." (got ${quote(p)})`);
}

export function checkResources(linux: Obj, c: Collector): void {
  const r = linux.resources;
  if (!isObj(r)) return;
  const at: PathSegment[] = ['linux', 'resources'];

  // config-linux.md#allowed-device-list: type a, c or b; access a composition
  // of r, w, m. runc specconv: "device access at %d field cannot be empty".
  arr(r.devices).forEach((d, i) => {
    if (!isObj(d)) return;
    if (isStr(d.type) && d.type !== '' && !['a', 'b', 'c'].includes(d.type)) {
      c.error([...at, 'devices', i, 'type'], `must be one of: a, b, c (got ${quote(d.type)})`);
    }
    if (d.access === undefined || d.access === '') c.error([...at, 'devices', i, 'access'], 'is required (a combination of r, w and m)');
    else if (isStr(d.access) && !/^[rwm]+$/.test(d.access)) {
      c.error([...at, 'devices', i, 'access'], `must be a combination of r, w and m (got ${quote(d.access)})`);
    }
  });

  if (isObj(r.memory)) {
    const m = r.memory;
    // config-linux.md#memory: swappiness "values are from 0 to 100".
    if (isNum(m.swappiness) && m.swappiness > 100) {
      c.error([...at, 'memory', 'swappiness'], `must be between 0 and 100 (got ${m.swappiness})`);
    }
    // swap is the memory+swap limit: below the memory limit, cgroup v1 refuses it and
    // runc's v2 conversion fails ("memory+swap limit should be >= memory limit").
    if (isNum(m.limit) && isNum(m.swap) && m.limit > 0 && m.swap > 0 && m.swap < m.limit) {
      c.error([...at, 'memory', 'swap'], `must be at least memory.limit, as it limits memory+swap (${m.swap} < ${m.limit})`);
    }
  }

  // config-linux.md#cpu: burst "MUST be no larger than any positive quota (runtimes MAY generate an error)".
  if (isObj(r.cpu) && isNum(r.cpu.quota) && isNum(r.cpu.burst) && r.cpu.quota > 0 && r.cpu.burst > r.cpu.quota) {
    c.error([...at, 'cpu', 'burst'], `must not be larger than quota (${r.cpu.burst} > ${r.cpu.quota})`);
  }

  // config-linux.md#block-io: "You MUST specify at least one of weight or leafWeight in a given entry".
  if (isObj(r.blockIO)) {
    arr(r.blockIO.weightDevice).forEach((w, i) => {
      if (isObj(w) && w.weight === undefined && w.leafWeight === undefined) {
        c.error([...at, 'blockIO', 'weightDevice', i], 'must have weight or leafWeight');
      }
    });
  }

  // config-linux.md#rdma: "You MUST specify at least one of the hcaHandles or hcaObjects in a given entry".
  if (isObj(r.rdma)) {
    for (const [dev, l] of Object.entries(r.rdma)) {
      if (isObj(l) && l.hcaHandles === undefined && l.hcaObjects === undefined) {
        c.error([...at, 'rdma', dev], 'must have hcaHandles or hcaObjects');
      }
    }
  }

  // config-linux.md#unified: each key "refers to a file in the cgroup unified
  // hierarchy"; runc fs2: "unified resource %q must be a file name (no slashes)".
  if (isObj(r.unified)) {
    for (const k of Object.keys(r.unified)) {
      if (k.includes('/') || k === '.' || k === '..' || k === '') {
        c.error([...at, 'unified', k], 'must be a file name of the cgroup (no slashes), such as memory.high');
      }
    }
  }
}

// --- intelRdt, memoryPolicy ----------------------------------------------------

/**
 * config-linux.md#intelrdt: closID names a directory of the resctrl
 * filesystem, "/" being the default CLOS (runc validator intelrdtCheck refuses
 * ".", ".." and other slashes); schemata "MUST NOT contain newlines", nor
 * l3CacheSchema (SHOULD NOT; tsrun writes it as one line).
 */
export function checkIntelRdt(linux: Obj, c: Collector): void {
  const r = linux.intelRdt;
  if (!isObj(r)) return;
  if (isStr(r.closID) && (r.closID === '.' || r.closID === '..' || (r.closID.length > 1 && r.closID.includes('/')))) {
    c.error(['linux', 'intelRdt', 'closID'], `must be a directory name or "/" (got ${quote(r.closID)})`);
  }
  arr(r.schemata).forEach((line, i) => {
    if (isStr(line) && line.includes('\n')) c.error(['linux', 'intelRdt', 'schemata', i], 'must not contain a newline');
  });
  // l3CacheSchema "SHOULD start with L3: and SHOULD NOT contain newlines" (a newline would write a second line)
  if (isStr(r.l3CacheSchema) && r.l3CacheSchema.includes('\n')) c.error(['linux', 'intelRdt', 'l3CacheSchema'], 'must not contain a newline');
  else if (isStr(r.l3CacheSchema) && r.l3CacheSchema !== '' && !r.l3CacheSchema.startsWith('L3')) {
    c.warn(['linux', 'intelRdt', 'l3CacheSchema'], `should start with "L3:" (got ${quote(r.l3CacheSchema)})`);
  }
}

/**
 * config-linux.md#memory-policy: mode is REQUIRED; nodes is a list like "0-3,7";
 * MPOL_DEFAULT and MPOL_LOCAL take no nodes, MPOL_BIND, MPOL_INTERLEAVE,
 * MPOL_WEIGHTED_INTERLEAVE and MPOL_PREFERRED_MANY at least one (runc validator
 * memoryPolicy, after set_mempolicy(2)); set_mempolicy(2) refuses
 * MPOL_F_STATIC_NODES with MPOL_F_RELATIVE_NODES.
 */
export function checkMemoryPolicy(linux: Obj, c: Collector): void {
  const m = linux.memoryPolicy;
  if (!isObj(m)) return;
  const at: PathSegment[] = ['linux', 'memoryPolicy'];
  if (m.mode === undefined) c.error([...at, 'mode'], 'is required');
  let count: number | undefined = 0;
  if (isStr(m.nodes)) {
    count = parseIdList(m.nodes)?.length;
    if (count === undefined) c.error([...at, 'nodes'], `must be a node list such as 0-3,7 (got ${quote(m.nodes)})`);
  }
  if (count !== undefined && isStr(m.mode)) {
    if ((m.mode === 'MPOL_DEFAULT' || m.mode === 'MPOL_LOCAL') && count > 0) {
      c.error([...at, 'nodes'], `must be empty for ${m.mode}`);
    }
    if (['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY'].includes(m.mode) && count === 0) {
      c.error([...at, 'nodes'], `must name at least one node for ${m.mode}`);
    }
  }
  const flags = arr(m.flags);
  if (flags.includes('MPOL_F_STATIC_NODES') && flags.includes('MPOL_F_RELATIVE_NODES')) {
    c.error([...at, 'flags'], 'cannot have both MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES');
  }
}
