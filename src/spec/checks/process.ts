// The programs a config runs: process (also alone, as an `exec --process`
// document) and the hooks. Citations as in index.ts.

import { jsonPath, type PathSegment } from '../problem';
import { capabilityNumbers, rlimitNumbers } from '../names';
import { Collector, arr, isAbs, isNum, isObj, isStr, parseIdList, quote, type Obj } from './shared';

export function checkProcess(spec: Obj, requireProcess: boolean | undefined, c: Collector): void {
  if (spec.process === undefined) {
    // config.md#process: "This property is REQUIRED when start is called." create takes a config without it
    // (runtime.md: start then MUST fail); run and check, which answer "can it start?", need it.
    if (requireProcess) c.error(['process'], 'is required to start a container');
    return;
  }
  checkProcessFields(spec.process, ['process'], c);
}

/** The rules for a process object alone; `at` is where it sits (`process`, or the document root for exec). */
export function checkProcessFields(p: unknown, at: PathSegment[], c: Collector): void {
  if (!isObj(p)) return;

  // config.md#process: cwd "MUST be an absolute path".
  if (isStr(p.cwd) && !isAbs(p.cwd)) c.error([...at, 'cwd'], `must be an absolute path (got ${quote(p.cwd)})`);

  // config.md#process: args — "at least one entry is REQUIRED (non-Windows)"; runc: "args must not be empty".
  if (p.args === undefined || (Array.isArray(p.args) && p.args.length === 0)) {
    c.error([...at, 'args'], 'must have at least one entry (the program to run)');
  }
  arr(p.args).forEach((a, i) => {
    if (isStr(a) && a.includes('\0')) c.error([...at, 'args', i], 'must not contain a NUL byte');
  });
  checkEnv(p.env, [...at, 'env'], c);

  // config.md#posix-platform-user: uid and gid are REQUIRED. (The Go bindings
  // always write them, so every engine does.)
  if (p.user === undefined) c.error([...at, 'user'], 'is required');
  else if (isObj(p.user)) {
    if (p.user.uid === undefined) c.error([...at, 'user', 'uid'], 'is required');
    if (p.user.gid === undefined) c.error([...at, 'user', 'gid'], 'is required');
  }

  checkRlimits(p, at, c);
  checkCapabilities(p, at, c);

  // proc(5): oom_score_adj takes -1000 to 1000; anything else fails with EINVAL.
  if (isNum(p.oomScoreAdj) && (p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
    c.error([...at, 'oomScoreAdj'], `must be between -1000 and 1000 (got ${p.oomScoreAdj})`);
  }

  // config.md#linux-process ioPriority: priority (int, REQUIRED), 0 (highest) to 7 (lowest); runc validator ioPriority.
  if (isObj(p.ioPriority)) {
    const prio = p.ioPriority.priority;
    if (prio === undefined) c.error([...at, 'ioPriority', 'priority'], 'is required');
    else if (isNum(prio) && (prio < 0 || prio > 7)) {
      c.error([...at, 'ioPriority', 'priority'], `must be between 0 and 7 (got ${prio})`);
    }
  }

  checkScheduler(p, at, c);

  // config.md#linux-process execCPUAffinity: "a comma-separated list, with dashes to represent ranges".
  if (isObj(p.execCPUAffinity)) {
    for (const k of ['initial', 'final'] as const) {
      const v = p.execCPUAffinity[k];
      if (isStr(v) && parseIdList(v) === undefined) {
        c.error([...at, 'execCPUAffinity', k], `must be a CPU list such as 0-3,7 (got ${quote(v)})`);
      }
    }
  }
}

function checkRlimits(p: Obj, base: PathSegment[], c: Collector): void {
  const seen = new Map<string, number>();
  arr(p.rlimits).forEach((r, i) => {
    if (!isObj(r)) return;
    const at: PathSegment[] = [...base, 'rlimits', i];
    if (isStr(r.type)) {
      // config.md#posix-process: "The runtime MUST generate an error for any values which cannot be mapped".
      if (!Object.hasOwn(rlimitNumbers, r.type)) {
        c.error([...at, 'type'], `unknown resource limit ${quote(r.type)}: must be one of: ${Object.keys(rlimitNumbers).sort().join(', ')}`);
      }
      // config.md#posix-process: "If rlimits contains duplicated entries with same type, the runtime MUST generate an error."
      const first = seen.get(r.type);
      if (first !== undefined) {
        c.error([...at, 'type'], `duplicate resource limit ${r.type} (first at ${jsonPath([...base, 'rlimits', first])})`);
      } else seen.set(r.type, i);
    }
    // setrlimit(2): EINVAL when rlim_cur > rlim_max (runtime-tools validate checks this too).
    if (isNum(r.soft) && isNum(r.hard) && r.soft > r.hard) {
      c.error([...at, 'soft'], `must not be greater than hard (${r.soft} > ${r.hard})`);
    }
  });
}

/**
 * config.md#linux-process capabilities: "Valid values are defined in the
 * capabilities(7) man page". A name that is no capability at all is an error
 * (as runtime-tools has it, stricter than runc 1.1.5, which only warns); a
 * real capability the host cannot grant is for the plan to warn about.
 */
function checkCapabilities(p: Obj, at: PathSegment[], c: Collector): void {
  if (!isObj(p.capabilities)) return;
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    arr(p.capabilities[set]).forEach((name, i) => {
      if (isStr(name) && !Object.hasOwn(capabilityNumbers, name)) {
        c.error([...at, 'capabilities', set, i], `unknown capability ${quote(name)}`);
      }
    });
  }
}

/** runc validator scheduler (after sched_setattr(2)). */
function checkScheduler(p: Obj, base: PathSegment[], c: Collector): void {
  const s = p.scheduler;
  if (!isObj(s) || !isStr(s.policy)) return;
  const at: PathSegment[] = [...base, 'scheduler'];
  if ((s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH') && isNum(s.nice) && (s.nice < -20 || s.nice > 19)) {
    c.error([...at, 'nice'], `must be between -20 and 19 for ${s.policy} (got ${s.nice})`);
  }
  if (isNum(s.priority) && s.priority !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
    c.error([...at, 'priority'], `can only be set for SCHED_FIFO or SCHED_RR (policy is ${s.policy})`);
  }
  if (s.policy !== 'SCHED_DEADLINE') {
    for (const k of ['runtime', 'deadline', 'period']) {
      if (isNum(s[k]) && s[k] !== 0) c.error([...at, k], `can only be set for SCHED_DEADLINE (policy is ${s.policy})`);
    }
  }
}

// --- env, hooks ----------------------------------------------------------------

function checkEnv(list: unknown, at: PathSegment[], c: Collector): void {
  // runc libcontainer/env.go prepareEnv: NAME=VALUE, a non-empty name, no NUL byte.
  arr(list).forEach((e, i) => {
    if (!isStr(e)) return;
    const eq = e.indexOf('=');
    if (eq === -1) c.error([...at, i], `must have the form NAME=VALUE (got ${quote(e)})`);
    else if (eq === 0) c.error([...at, i], `must have a name before "=" (got ${quote(e)})`);
    else if (e.includes('\0')) c.error([...at, i], 'must not contain a NUL byte');
  });
}

/** config.md#posix-platform-hooks: path "MUST be absolute". */
export function checkHooks(spec: Obj, c: Collector): void {
  if (!isObj(spec.hooks)) return;
  for (const [kind, list] of Object.entries(spec.hooks)) {
    arr(list).forEach((h, i) => {
      if (!isObj(h)) return;
      if (isStr(h.path) && !isAbs(h.path)) c.error(['hooks', kind, i, 'path'], `must be an absolute path (got ${quote(h.path)})`);
      checkEnv(h.env, ['hooks', kind, i, 'env'], c);
    });
  }
}
