// Small helpers shared by the planner modules.
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { HostFacts } from './host';

/** What every planner step carries: the host facts and the warnings gathered so far. */
export interface PlanContext {
  host: HostFacts;
  warnings: string[];
}

/**
 * A TsrunError whose message starts with the JSON path of the offending field, in the form the config checks use
 * ("$.linux.devices[0].path: ..."). For what only the planner can tell (it needs the host facts); what the schema
 * and spec/checks refuse is an `invariant` here.
 */
export function planError(where: string, message: string): TsrunError {
  return new TsrunError(`${where.startsWith('$') ? where : `$.${where}`}: ${message}`);
}

/**
 * An internal assertion: what the schema, spec/checks or the runtime's own code already guarantees before the
 * planner runs. Failing it is a bug in tsrun, and the message says so rather than blaming the config.
 */
export function invariant(cond: unknown, where: string, message: string): asserts cond {
  if (!cond) throw internalError(where, message);
}

/** The error of a failed `invariant`, for a planner branch that the checks make unreachable. */
export function internalError(where: string, message: string): Error {
  return new Error(`internal error: ${where}: ${message} (the config checks should have refused it)`);
}

/** Throws when a string that goes to the kernel holds a NUL byte. */
export function noNul(where: string, value: string): string {
  if (value.includes('\0')) throw planError(where, 'contains a NUL byte');
  return value;
}

/** An absolute, lexically clean container path ("/a/b", never "/a/../b" or "a"). */
export function cleanAbs(p: string): string {
  return path.posix.normalize('/' + p).replace(/(.)\/+$/, '$1');
}

/** True when the JSON value is a non-negative integer (uid, gid, major...). */
export function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

export function requireUint(where: string, v: unknown, max = 0xffffffff): number {
  if (!isUint(v) || v > max) throw planError(where, `must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** A JSON number as an unsigned 64-bit value; 2^64 and above (how 18446744073709551615 parses) is all ones. */
export function toU64(where: string, v: unknown): bigint {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw planError(where, `must be an unsigned integer, got ${JSON.stringify(v)}`);
  }
  if (v >= 2 ** 64) return (1n << 64n) - 1n;
  return BigInt(v);
}

/**
 * Parses a CPU (or NUMA node) list such as "0-3,5,7-9" the way runc's ToCPUSet does: spaces around elements and
 * empty elements are allowed, ranges must not run backwards, ids stop at 65536. Returns the list normalised
 * ("0-3,5,7-9") for the init to parse again.
 */
export function parseCpuList(where: string, s: string): string {
  const out: string[] = [];
  for (const raw of s.split(',')) {
    const r = raw.trim();
    if (r === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(r);
    if (!m) throw planError(where, `invalid CPU list element "${r}" in "${s}"`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start > 65536 || end > 65536) throw planError(where, `CPU ids above 65536 are not supported: "${r}"`);
    if (start > end) throw planError(where, `invalid range "${r}" in "${s}"`);
    out.push(start === end ? `${start}` : `${start}-${end}`);
  }
  if (out.length === 0) throw planError(where, `no CPUs in "${s}"`);
  return out.join(',');
}
