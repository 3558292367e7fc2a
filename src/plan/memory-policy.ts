// linux.memoryPolicy -> set_mempolicy(2) arguments (config-linux.md#memory-policy). The config checks have
// refused an unknown mode or flag, a malformed node list, nodes where the mode takes none (or none where it needs
// some) and MPOL_F_STATIC_NODES with MPOL_F_RELATIVE_NODES; here the nodes meet the host. The kernel judges the
// rest (a flag a mode does not take, say) and the init reports its refusal.
import type { Spec } from '../spec/types';
import type { PlanMemPolicy } from './types';
import { parseIdList } from '../spec/checks/shared';
import { invariant, planError, type PlanContext } from './util';

/** <linux/mempolicy.h>: the modes in their kernel order, and the mode flags. */
export const MEMPOLICY_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const MEMPOLICY_FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

/** set_mempolicy's maxnode may not pass PAGE_SIZE * 8 bits. */
const MAX_NODE = 4096 * 8 - 2;

export function planMemoryPolicy(spec: Spec, ctx: PlanContext): PlanMemPolicy | undefined {
  const m = spec.linux?.memoryPolicy;
  if (m === undefined) return undefined;
  const at = 'linux.memoryPolicy';
  const mode = MEMPOLICY_MODES[m.mode];
  invariant(mode !== undefined, `${at}.mode`, `unknown mode ${JSON.stringify(m.mode)}`);
  let flags = 0;
  (m.flags ?? []).forEach((f, i) => {
    const bit = MEMPOLICY_FLAGS[f];
    invariant(bit !== undefined, `${at}.flags[${i}]`, `unknown flag ${JSON.stringify(f)}`);
    flags |= bit;
  });
  const nodes = parseIdList(m.nodes ?? '');
  invariant(nodes !== undefined, `${at}.nodes`, `not a node list: ${JSON.stringify(m.nodes)}`);
  const tooBig = nodes.find((n) => n > MAX_NODE);
  if (tooBig !== undefined) throw planError(`${at}.nodes`, `node ${tooBig} is above the largest node set_mempolicy takes (${MAX_NODE})`);
  // with MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES the numbers need not be nodes of this host (set_mempolicy(2))
  if (nodes.length > 0 && (flags & (MEMPOLICY_FLAGS.MPOL_F_STATIC_NODES | MEMPOLICY_FLAGS.MPOL_F_RELATIVE_NODES)) === 0) {
    const online = ctx.host.numaNodes();
    if (online === undefined) throw planError(`${at}.nodes`, 'this kernel has no NUMA support (/sys/devices/system/node/online is absent)');
    const missing = nodes.filter((n) => !online.includes(n));
    if (missing.length > 0) {
      throw planError(
        `${at}.nodes`,
        `${missing.length === 1 ? 'node' : 'nodes'} ${missing.join(',')} ${missing.length === 1 ? 'does' : 'do'} not exist on this host (online: ${online.join(',')})`,
      );
    }
  }
  const words: bigint[] = [];
  for (const n of nodes) {
    while (words.length <= n >> 6) words.push(0n);
    words[n >> 6] |= 1n << BigInt(n & 63);
  }
  return { mode, flags, nodes: words };
}
