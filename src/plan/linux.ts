// Smaller pieces of the plan: sysctl, rootfs propagation, personality, seccomp, hooks.
import type { Hook, Seccomp, Spec } from '../spec/types';
import type { InitPlan, PlanHook } from './types';
import { internalError, planError, noNul, type PlanContext } from './util';
import { MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE } from './mounts';
import { IPC_SYSCTLS } from '../spec/names';

// ---- sysctl ----------------------------------------------------------------------------------------------

/**
 * A sysctl key → its path under /proc/sys. As in sysctl(8) (and runc's validator): when the first separator
 * is "/", the key is already a path and its dots are part of names ("net/ipv4/conf/eth0.100/forwarding");
 * otherwise dots separate ("net.ipv4.ip_forward" → "net/ipv4/ip_forward").
 */
export function sysctlPath(key: string): string {
  const i = key.search(/[./]/);
  const p = i >= 0 && key[i] === '/' ? key : key.replace(/\./g, '/');
  const parts = p.split('/');
  if (key === '' || parts.some((c) => c === '' || c === '.' || c === '..')) {
    throw planError(`linux.sysctl["${key}"]`, 'is not a valid sysctl name');
  }
  return p;
}


/**
 * runc's validator sysctl(): a sysctl is allowed only when the namespace it belongs to is the container's own,
 * so that writing it cannot change the host.
 */
export function checkSysctlNamespace(key: string, ns: Map<string, string>): void {
  const dotted = sysctlPath(key).replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
  const where = `linux.sysctl["${key}"]`;
  if (IPC_SYSCTLS.has(dotted) || dotted.startsWith('fs.mqueue.')) {
    if (!ns.has('ipc')) throw internalError(where, 'is not allowed in the host IPC namespace');
    return;
  }
  if (dotted.startsWith('net.')) {
    if (!ns.has('network')) throw internalError(where, 'is not allowed in the host network namespace');
    return;
  }
  if (ns.has('uts') && dotted === 'kernel.domainname') return;
  if (ns.has('uts') && dotted === 'kernel.hostname') {
    throw internalError(where, 'conflicts with the "hostname" field; set that instead');
  }
  if (dotted.startsWith('user.')) {
    if (!ns.has('user')) throw internalError(where, 'is not allowed without a user namespace');
    return;
  }
  throw internalError(where, 'is not in a separate kernel namespace');
}

export function planSysctls(spec: Spec, ns: Map<string, string>): InitPlan['sysctls'] {
  return Object.entries(spec.linux?.sysctl ?? {}).map(([key, value]) => {
    checkSysctlNamespace(key, ns);
    return { path: sysctlPath(key), value: noNul(`linux.sysctl["${key}"]`, String(value)) };
  });
}

// ---- rootfs propagation -----------------------------------------------------------------------------------

export const rootfsPropagationValues: Record<string, bigint> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

/**
 * The flags for mount(NULL, "/", NULL, flags) in the new mount namespace: runc's prepareRoot uses
 * MS_SLAVE|MS_REC unless linux.rootfsPropagation says otherwise (the spec's four values, and runc's r* forms).
 * The init then makes the rootfs's parent mount MS_SLAVE when these flags hold MS_SLAVE, else MS_PRIVATE,
 * and after pivot_root re-applies these flags to "/" when they are shared or unbindable.
 */
export function planRootfsPropagation(spec: Spec, noPivot: boolean): bigint {
  const v = spec.linux?.rootfsPropagation;
  if (v === undefined || v === '') return MS_SLAVE | MS_REC;
  if (!Object.prototype.hasOwnProperty.call(rootfsPropagationValues, v)) {
    throw internalError('linux.rootfsPropagation', `unknown propagation "${v}"`);
  }
  const flags = rootfsPropagationValues[v];
  if (noPivot && (flags & MS_PRIVATE) !== 0n) {
    throw planError('linux.rootfsPropagation', `"${v}" is not safe without pivot_root (--no-pivot)`);
  }
  return flags;
}

// ---- personality ------------------------------------------------------------------------------------------

export const personalityDomains: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

export function planPersonality(spec: Spec): number | undefined {
  const per = spec.linux?.personality;
  if (!per) return undefined;
  if (!Object.prototype.hasOwnProperty.call(personalityDomains, per.domain)) {
    throw internalError('linux.personality.domain', `unknown personality domain "${per.domain}" (LINUX or LINUX32)`);
  }
  (per.flags ?? []).forEach((fl, i) => {
    throw internalError(`linux.personality.flags[${i}]`, `unknown personality flag "${fl}" (the spec defines none)`);
  });
  return personalityDomains[per.domain];
}

// ---- seccomp ----------------------------------------------------------------------------------------------

export const seccompFlagValues: Record<string, bigint> = {
  SECCOMP_FILTER_FLAG_TSYNC: 0x1n,
  SECCOMP_FILTER_FLAG_LOG: 0x2n,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 0x4n,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 0x20n,
};
const SECCOMP_FILTER_FLAG_NEW_LISTENER = 0x8n;

/** What a seccomp compiler returns (src/seccomp/compile.ts). */
export interface CompiledFilter {
  bpf: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2), without NEW_LISTENER. */
  flags: bigint;
  notify: boolean;
  warnings: string[];
}

/** Compiles a seccomp config to classic BPF (struct sock_filter array), e.g. through libseccomp. */
export type SeccompCompiler = (s: Seccomp) => CompiledFilter;

export function planSeccomp(plan: InitPlan, seccomp: Seccomp | undefined, compile: SeccompCompiler | undefined, ctx: PlanContext): void {
  // runc: a seccomp object with no default action and no rules is no filter at all.
  if (!seccomp || (!seccomp.defaultAction && !seccomp.syscalls?.length)) return;
  const notify =
    seccomp.defaultAction === 'SCMP_ACT_NOTIFY' || (seccomp.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_NOTIFY');
  if (notify && !seccomp.listenerPath) throw internalError('linux.seccomp.listenerPath', 'is required when an action is SCMP_ACT_NOTIFY');
  if (!compile) {
    ctx.warnings.push('linux.seccomp: not applied, this tsrun build has no seccomp compiler yet');
    return;
  }
  const compiled = compile(seccomp);
  plan.seccompBpf = compiled.bpf;
  // the kernel refuses TSYNC with NEW_LISTENER; the compiler already leaves TSYNC out
  plan.seccompFlags = compiled.flags | (compiled.notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0n);
  if (seccomp.listenerPath) plan.seccompListener = noNul('linux.seccomp.listenerPath', seccomp.listenerPath);
  if (seccomp.listenerMetadata) plan.seccompMetadata = noNul('linux.seccomp.listenerMetadata', seccomp.listenerMetadata);
}

// ---- hooks ------------------------------------------------------------------------------------------------

function planHook(kind: 1 | 2, h: Hook, where: string, defaultEnv: string[] | undefined): PlanHook {
  if (typeof h.path !== 'string' || !h.path.startsWith('/')) {
    throw internalError(`${where}.path`, `must be an absolute path, got ${JSON.stringify(h.path)}`);
  }
  let timeout = 0;
  if (h.timeout !== undefined) {
    if (!Number.isInteger(h.timeout) || h.timeout < 1) throw internalError(`${where}.timeout`, `must be an integer above 0, got ${h.timeout}`);
    timeout = h.timeout;
  }
  return {
    kind,
    path: noNul(`${where}.path`, h.path),
    args: (h.args ?? []).map((a, i) => noNul(`${where}.args[${i}]`, a)),
    env: (h.env ?? defaultEnv ?? []).map((e, i) => noNul(`${where}.env[${i}]`, e)),
    timeout,
  };
}

/**
 * The hooks the init runs itself: createContainer (kind 1, in the container's namespaces before pivot_root)
 * and startContainer (kind 2, just before the user process). A startContainer hook without env gets the
 * process's env, as runc does (SetDefaultEnv). prestart, createRuntime, poststart and poststop run in the
 * runtime.
 */
export function planHooks(spec: Spec): PlanHook[] {
  const hooks = spec.hooks ?? {};
  return [
    ...(hooks.createContainer ?? []).map((h, i) => planHook(1, h, `hooks.createContainer[${i}]`, undefined)),
    ...(hooks.startContainer ?? []).map((h, i) => planHook(2, h, `hooks.startContainer[${i}]`, spec.process?.env)),
  ];
}
