// The pure half of the compiler: the OCI seccomp section checked and turned into numbers, every error naming
// its JSON path. No libseccomp here; compile.ts feeds the result to it.
import { TsrunError } from '../errors';
import type { Seccomp } from '../spec/types';
import { ACT, ACTIONS, ARCHES, ENOSYS, EPERM, FLAGS, OPERATORS, kernelHasFlag } from './tables';

const WHERE = 'linux.seccomp';

/** Syscalls that must not be sent to the listener: the init needs them to hand the listener fd over. */
export const NOTIFY_FORBIDDEN = ['write', 'sendmsg'];

export interface CheckedArg {
  index: number;
  op: number;
  a: bigint;
  b: bigint;
}

export interface CheckedRule {
  /** linux.seccomp.syscalls[i] */
  where: string;
  names: string[];
  action: number;
  args: CheckedArg[];
}

export interface CheckedSeccomp {
  defaultAction: number;
  /** The OCI architecture names, in order, with their paths. */
  arches: { where: string; name: string; libName: string }[];
  rules: CheckedRule[];
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2), without NEW_LISTENER. */
  flags: bigint;
  notify: boolean;
  /** Whether the -ENOSYS stub goes in front (runc: unless the default action lets syscalls through). */
  enosysStub: boolean;
}

function fail(where: string, message: string): never {
  throw new TsrunError(`${where}: ${message}`);
}

const own = (o: object, k: string) => typeof k === 'string' && Object.prototype.hasOwnProperty.call(o, k);

/** The action value, with errnoRet (default EPERM, as runc) for the actions that take one. */
function action(where: string, name: unknown, errnoWhere: string, errnoRet: unknown): number {
  if (typeof name !== 'string' || !own(ACTIONS, name)) fail(where, `unknown action ${JSON.stringify(name)}`);
  const info = ACTIONS[name];
  if (!info.takesErrno) {
    // The spec: "When the action doesn't support an errno, the runtime MUST print and error and fail."
    if (errnoRet !== undefined) fail(errnoWhere, `${name} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)`);
    return info.value;
  }
  let errno = EPERM;
  if (errnoRet !== undefined) {
    if (typeof errnoRet !== 'number' || !Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > 0xffff) {
      fail(errnoWhere, `must be an integer from 0 to 65535, got ${JSON.stringify(errnoRet)}`);
    }
    errno = errnoRet;
  }
  return (info.value | errno) >>> 0;
}

/** A uint64 from JSON. 18446744073709551615 parses as 2^64, which is taken as all ones. */
function u64(where: string, v: unknown): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v >= 1n << 64n) fail(where, `must be an unsigned 64-bit integer, got ${v}`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 64) {
    fail(where, `must be an unsigned 64-bit integer, got ${JSON.stringify(v)}`);
  }
  return v === 2 ** 64 ? (1n << 64n) - 1n : BigInt(v);
}

export function checkSeccomp(s: Seccomp, kernelRelease: string): CheckedSeccomp {
  if (!s || typeof s !== 'object') fail(WHERE, 'must be an object');
  const defaultAction = action(`${WHERE}.defaultAction`, s.defaultAction, `${WHERE}.defaultErrnoRet`, s.defaultErrnoRet);
  // runc: the init and the runtime need write (and we sendmsg) to pass the listener on; nothing could answer.
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') fail(`${WHERE}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');

  const arches = (s.architectures ?? []).map((name, i) => {
    const where = `${WHERE}.architectures[${i}]`;
    if (typeof name !== 'string' || !own(ARCHES, name)) fail(where, `unknown architecture ${JSON.stringify(name)}`);
    return { where, name, libName: ARCHES[name] };
  });

  let notify = false;
  const rules = (s.syscalls ?? []).map((r, i): CheckedRule => {
    const where = `${WHERE}.syscalls[${i}]`;
    if (!r || typeof r !== 'object') fail(where, 'must be an object');
    if (!Array.isArray(r.names) || r.names.length === 0) fail(`${where}.names`, 'must list at least one syscall');
    r.names.forEach((n, j) => {
      if (typeof n !== 'string' || n === '') fail(`${where}.names[${j}]`, 'must be a syscall name, not an empty string');
    });
    const act = action(`${where}.action`, r.action, `${where}.errnoRet`, r.errnoRet);
    if (r.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      r.names.forEach((n, j) => {
        if (NOTIFY_FORBIDDEN.includes(n)) {
          fail(`${where}.names[${j}]`, `SCMP_ACT_NOTIFY cannot be used for ${n}: the runtime needs it to pass the listener on`);
        }
      });
    }
    const args = (r.args ?? []).map((a, k): CheckedArg => {
      const aw = `${where}.args[${k}]`;
      if (!a || typeof a !== 'object') fail(aw, 'must be an object');
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
        fail(`${aw}.index`, `must be a syscall argument index from 0 to 5, got ${JSON.stringify(a.index)}`);
      }
      if (typeof a.op !== 'string' || !own(OPERATORS, a.op)) fail(`${aw}.op`, `unknown operator ${JSON.stringify(a.op)}`);
      const b = a.valueTwo === undefined ? 0n : u64(`${aw}.valueTwo`, a.valueTwo);
      return { index: a.index, op: OPERATORS[a.op], a: u64(`${aw}.value`, a.value), b };
    });
    return { where, names: r.names, action: act, args };
  });

  let flags = 0n;
  if (s.flags === undefined || s.flags === null) {
    // runc: with no flags at all (not even []), SPEC_ALLOW when the kernel has it.
    if (kernelHasFlag('SECCOMP_FILTER_FLAG_SPEC_ALLOW', kernelRelease)) flags |= FLAGS.SECCOMP_FILTER_FLAG_SPEC_ALLOW.bit;
  } else {
    if (!Array.isArray(s.flags)) fail(`${WHERE}.flags`, 'must be an array');
    s.flags.forEach((name, i) => {
      const where = `${WHERE}.flags[${i}]`;
      if (typeof name !== 'string' || !own(FLAGS, name)) fail(where, `unknown seccomp flag ${JSON.stringify(name)}`);
      if (!kernelHasFlag(name, kernelRelease)) fail(where, `${name} is not supported by this kernel (${kernelRelease})`);
      if (name === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' && !notify) {
        // The kernel refuses it without SECCOMP_FILTER_FLAG_NEW_LISTENER, which only a notify filter has.
        fail(where, `${name} needs a rule with action SCMP_ACT_NOTIFY`);
      }
      flags |= FLAGS[name].bit;
    });
  }

  // runc counts TRACE as letting syscalls through: a tracer should handle new syscalls itself.
  const allowing =
    defaultAction === ACT.ALLOW || defaultAction === ACT.LOG || (defaultAction & 0xffff0000) >>> 0 === ACT.TRACE;
  const enosysDefault = defaultAction === ((ACT.ERRNO | ENOSYS) >>> 0);
  return { defaultAction, arches, rules, flags, notify, enosysStub: !allowing && !enosysDefault };
}

/** The number of syscall names over all rules (runc counts these to decide on the binary tree). */
export function countNames(c: CheckedSeccomp): number {
  return c.rules.reduce((n, r) => n + r.names.length, 0);
}
