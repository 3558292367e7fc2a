// Capabilities: names → bit masks. A name that is no capability is an error; a real capability this host
// cannot grant (above cap_last_cap, or outside the runtime's bounding set) is dropped with a warning
// (DESIGN "Choices where sources disagree", as runtime-tools checks; runc 1.1.5 only warns for both).
import type { Capabilities } from '../spec/types';
import type { PlanCaps } from './types';
import { planError, type PlanContext } from './util';

/** Every capability tsrun knows, name → number (linux/capability.h, through CAP_CHECKPOINT_RESTORE). */
export const capabilityNames: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** number → name. */
export const capabilityByNumber: string[] = Object.entries(capabilityNames)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name);

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
      if (!Object.prototype.hasOwnProperty.call(capabilityNames, name)) {
        throw planError(`${where}.${set}[${i}]`, `unknown capability "${name}"`);
      }
      const bit = 1n << BigInt(capabilityNames[name]);
      if ((grantable & bit) === 0n) dropped.add(name);
      else mask |= bit;
    });
    masks[set] = mask;
  }
  for (const name of [...dropped].sort((a, b) => capabilityNames[a] - capabilityNames[b])) {
    const n = capabilityNames[name];
    const why = n > ctx.host.capLastCap ? `the kernel knows capabilities up to ${ctx.host.capLastCap} only` : `it is not in the host's bounding set`;
    ctx.warnings.push(`${where}: ${name} dropped, ${why}`);
  }
  return masks;
}
