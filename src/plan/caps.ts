// Capabilities: names → bit masks. A name that is no capability is an error; a real capability this host
// cannot grant (above cap_last_cap, or outside the runtime's bounding set) is dropped with a warning
// (DESIGN "Choices where sources disagree", as runtime-tools checks; runc 1.1.5 only warns for both).
import type { Capabilities } from '../spec/types';
import type { PlanCaps } from './types';
import { capabilityNumbers } from '../spec/names';
import { planError, type PlanContext } from './util';

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/** The capabilities the host lets the init keep: bits 0..cap_last_cap that are in the bounding set. */
export function grantableMask(ctx: PlanContext): bigint {
  const upTo = (1n << BigInt(Math.min(ctx.host.capLastCap, 63) + 1)) - 1n;
  return ctx.host.boundingSet & upTo;
}

/** The five capability sets as masks. `process.capabilities` absent means the plan keeps every capability. */
export function planCaps(caps: Capabilities | undefined, ctx: PlanContext, where = 'process.capabilities'): PlanCaps | undefined {
  if (caps === undefined) return undefined;
  const grantable = grantableMask(ctx);
  const dropped = new Set<string>();
  const masks = {} as Record<(typeof SETS)[number], bigint>;
  for (const set of SETS) {
    let mask = 0n;
    (caps[set] ?? []).forEach((name, i) => {
      if (!Object.prototype.hasOwnProperty.call(capabilityNumbers, name)) {
        throw planError(`${where}.${set}[${i}]`, `unknown capability "${name}"`);
      }
      const bit = 1n << BigInt(capabilityNumbers[name]);
      if ((grantable & bit) === 0n) dropped.add(name);
      else mask |= bit;
    });
    masks[set] = mask;
  }
  for (const name of [...dropped].sort((a, b) => capabilityNumbers[a] - capabilityNumbers[b])) {
    const n = capabilityNumbers[name];
    const why = n > ctx.host.capLastCap ? `the kernel knows capabilities up to ${ctx.host.capLastCap} only` : `it is not in the host's bounding set`;
    ctx.warnings.push(`${where}: ${name} dropped, ${why}`);
  }
  return masks;
}
