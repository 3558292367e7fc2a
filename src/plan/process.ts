// The process to run: args, env, user, rlimits, scheduling, security attributes. Shared by create and exec.
// runc references: libcontainer/env.go (prepareEnv, HOME), configs/config.go (ToSchedAttr, ToCPUSet),
// init_linux.go (setupIOPriority), configs/validate/validator.go (scheduler, ioPriority).
import type { Process } from '../spec/types';
import { rlimitNumbers } from '../spec/names';
import type { InitPlan, PlanSched } from './types';
import { planError, noNul, requireUint, toU64, parseCpuList, type PlanContext } from './util';
import { planCaps } from './caps';
import { passwdHome } from './host';

export const schedulerPolicies: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

export const schedulerFlags: Record<string, bigint> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01n,
  SCHED_FLAG_RECLAIM: 0x02n,
  SCHED_FLAG_DL_OVERRUN: 0x04n,
  SCHED_FLAG_KEEP_POLICY: 0x08n,
  SCHED_FLAG_KEEP_PARAMS: 0x10n,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
};

export const ioPriorityClasses: Record<string, number> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The environment as the init will exec it (runc's prepareEnv): NAME=value entries only, the last of a
 * duplicated name wins and keeps its own place, an empty HOME is dropped, and a missing HOME comes from the
 * container's /etc/passwd (default "/").
 */
export function planEnv(env: string[], uid: number, ctx: PlanContext, where = 'process.env'): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  let home = false;
  for (let i = env.length - 1; i >= 0; i--) {
    const kv = env[i];
    if (typeof kv !== 'string') throw planError(`${where}[${i}]`, 'must be a string');
    const eq = kv.indexOf('=');
    if (eq < 0) throw planError(`${where}[${i}]`, `"${kv}" is not NAME=value`);
    if (eq === 0) throw planError(`${where}[${i}]`, `"${kv}" has an empty name`);
    noNul(`${where}[${i}]`, kv);
    const name = kv.slice(0, eq);
    if (seen.has(name)) continue;
    seen.add(name);
    if (name === 'HOME') {
      if (kv.length === eq + 1) continue;
      home = true;
    }
    out.push(kv);
  }
  out.reverse();
  if (!home) {
    const passwd = ctx.host.readRootfsFile('/etc/passwd');
    out.push(`HOME=${(passwd !== undefined && passwdHome(passwd, uid)) || '/'}`);
  }
  return out;
}

export function planRlimits(proc: Process, where = 'process.rlimits'): InitPlan['rlimits'] {
  const seen = new Set<string>();
  return (proc.rlimits ?? []).map((r, i) => {
    const w = `${where}[${i}]`;
    if (!has(rlimitNumbers, r.type)) throw planError(`${w}.type`, `unknown rlimit "${r.type}"`);
    if (seen.has(r.type)) throw planError(`${w}.type`, `rlimit "${r.type}" is set twice`);
    seen.add(r.type);
    const soft = toU64(`${w}.soft`, r.soft);
    const hard = toU64(`${w}.hard`, r.hard);
    if (soft > hard) throw planError(w, `soft limit ${soft} is above the hard limit ${hard}`);
    // Above the host's hard limit: the init tries and reports EPERM (no CAP_SYS_RESOURCE) itself.
    return { type: rlimitNumbers[r.type], soft, hard };
  });
}

export function planScheduler(s: NonNullable<Process['scheduler']>, where = 'process.scheduler'): PlanSched {
  if (!has(schedulerPolicies, s.policy)) throw planError(`${where}.policy`, `unknown scheduler policy "${s.policy}"`);
  const policy = schedulerPolicies[s.policy];
  const out: PlanSched = { policy };
  if (s.nice !== undefined) {
    if (!Number.isInteger(s.nice) || s.nice < -20 || s.nice > 19) {
      throw planError(`${where}.nice`, `must be an integer from -20 to 19, got ${s.nice}`);
    }
    out.nice = s.nice;
  }
  if (s.priority !== undefined && s.priority !== 0) {
    if (s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
      throw planError(`${where}.priority`, 'can only be set for SCHED_FIFO or SCHED_RR');
    }
    out.priority = requireUint(`${where}.priority`, s.priority, 99);
  }
  for (const k of ['runtime', 'deadline', 'period'] as const) {
    const v = s[k];
    if (v === undefined || v === 0) continue;
    if (s.policy !== 'SCHED_DEADLINE') throw planError(`${where}.${k}`, 'can only be set for SCHED_DEADLINE');
    out[k] = toU64(`${where}.${k}`, v);
  }
  let flags = 0n;
  (s.flags ?? []).forEach((fl, i) => {
    if (!has(schedulerFlags, fl)) throw planError(`${where}.flags[${i}]`, `unknown scheduler flag "${fl}"`);
    flags |= schedulerFlags[fl];
  });
  if (flags !== 0n) out.flags = flags;
  return out;
}

export interface ProcessOptions {
  consoleSocket?: string;
  /** Foreground run/exec: stage 0 stays, so with a terminal and no console socket it proxies its own stdio. */
  wait?: boolean;
  /** For exec: leave the umask alone when the process sets none (create uses runc's 0022). */
  defaultUmask?: number;
}

/** Fills the process part of a plan. */
export function applyProcess(plan: InitPlan, proc: Process, ctx: PlanContext, opts: ProcessOptions): void {
  const args = proc.args ?? [];
  if (args.length === 0) throw planError('process.args', 'must name the program to run');
  plan.args = args.map((a, i) => noNul(`process.args[${i}]`, a));

  if (typeof proc.cwd !== 'string' || !proc.cwd.startsWith('/')) {
    throw planError('process.cwd', `must be an absolute path, got ${JSON.stringify(proc.cwd)}`);
  }
  plan.cwd = noNul('process.cwd', proc.cwd);

  const user = proc.user ?? { uid: 0, gid: 0 };
  if (user.username !== undefined && user.username !== '') {
    throw planError('process.user.username', 'is for Windows; give process.user.uid and gid');
  }
  plan.uid = requireUint('process.user.uid', user.uid);
  plan.gid = requireUint('process.user.gid', user.gid);
  plan.additionalGids = (user.additionalGids ?? []).map((g, i) => requireUint(`process.user.additionalGids[${i}]`, g));
  if (user.umask !== undefined) plan.umask = requireUint('process.user.umask', user.umask, 0o777);
  else if (opts.defaultUmask !== undefined) plan.umask = opts.defaultUmask;

  plan.env = planEnv(proc.env ?? [], plan.uid, ctx);
  plan.rlimits = planRlimits(proc);

  if (proc.oomScoreAdj !== undefined) {
    if (!Number.isInteger(proc.oomScoreAdj) || proc.oomScoreAdj < -1000 || proc.oomScoreAdj > 1000) {
      throw planError('process.oomScoreAdj', `must be an integer from -1000 to 1000, got ${proc.oomScoreAdj}`);
    }
    plan.oomScoreAdj = proc.oomScoreAdj;
  }

  const caps = planCaps(proc.capabilities, ctx);
  if (caps) plan.caps = caps;
  if (proc.noNewPrivileges) plan.noNewPrivs = true;

  if (proc.apparmorProfile) {
    if (!ctx.host.apparmorEnabled) throw planError('process.apparmorProfile', 'AppArmor is not enabled on this host');
    plan.apparmor = noNul('process.apparmorProfile', proc.apparmorProfile);
  }
  if (proc.selinuxLabel) {
    if (!ctx.host.selinuxEnabled) throw planError('process.selinuxLabel', 'SELinux is not enabled on this host');
    plan.selinux = noNul('process.selinuxLabel', proc.selinuxLabel);
  }

  if (proc.ioPriority) {
    const { class: cls, priority } = proc.ioPriority;
    if (!has(ioPriorityClasses, cls)) throw planError('process.ioPriority.class', `unknown I/O priority class "${cls}"`);
    const level = requireUint('process.ioPriority.priority', priority, 7);
    plan.ioprio = (ioPriorityClasses[cls] << 13) | level;
  }
  if (proc.scheduler) plan.sched = planScheduler(proc.scheduler);
  const aff = proc.execCPUAffinity;
  if (aff?.initial) plan.cpuAffinityInitial = parseCpuList('process.execCPUAffinity.initial', aff.initial);
  if (aff?.final) plan.cpuAffinityFinal = parseCpuList('process.execCPUAffinity.final', aff.final);

  if (proc.terminal) {
    // Without a console socket (runc's rule): a detached process has nobody to give the master to, while in
    // the foreground stage 0 (P_WAIT) gets it and proxies the caller's own terminal.
    if (!opts.consoleSocket && !opts.wait) {
      throw planError('process.terminal', 'a terminal needs a console socket (--console-socket) to send its master to when detached');
    }
    plan.terminal = true;
    if (opts.consoleSocket) plan.consoleSocket = noNul('--console-socket', opts.consoleSocket);
    if (proc.consoleSize) {
      plan.consoleHeight = requireUint('process.consoleSize.height', proc.consoleSize.height, 0xffff);
      plan.consoleWidth = requireUint('process.consoleSize.width', proc.consoleSize.width, 0xffff);
    }
  }
}
