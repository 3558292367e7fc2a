// Helpers shared by the controllers: writes whose errors name the config field,
// the value and the file; reads and parsers for the kernel's file formats.

import { TsrunError, describeErrno } from '../errors';
import type { CgroupFs } from './fs';

/** A kernel counter: a number when it fits exactly, a bigint otherwise (uint64 limits). */
export type U64 = number | bigint;

/** What every controller gets: where to write and whether this is `update` (not `create`). */
export interface CtlCtx {
  fs: CgroupFs;
  dir: string;
  update: boolean;
}

/** "$.linux.resources." + rest: the JSON path of a resource field, in the form of the config checks. */
export function field(rest: string): string {
  return `$.linux.resources.${rest}`;
}

export function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export function cannotApply(fieldName: string, reason: string): TsrunError {
  return new TsrunError(`${fieldName}: cannot apply: ${reason}`);
}

/**
 * Write `value` to `dir/file` for config field `fieldName`. A missing file is
 * "cannot apply: FILE does not exist (hint)"; any other failure is
 * "write VALUE to FILE: reason".
 */
export function cgWrite(
  fs: CgroupFs,
  dir: string,
  file: string,
  value: string | number | bigint,
  fieldName: string,
  hint?: string,
): void {
  const path = `${dir}/${file}`;
  const data = String(value);
  try {
    fs.writeFile(path, data);
  } catch (e) {
    if (errCode(e) === 'ENOENT') {
      throw new TsrunError(`${fieldName}: cannot apply: ${path} does not exist${hint ? ` (${hint})` : ''}`, { cause: e });
    }
    throw writeError(fieldName, data, path, e);
  }
}

/** "invalid argument", "no such device"...: the reason part of an error message. */
export function reasonOf(e: unknown): string {
  return errCode(e) ? describeErrno(e as NodeJS.ErrnoException) : String((e as Error)?.message ?? e);
}

export function writeError(fieldName: string, data: string, path: string, e: unknown): TsrunError {
  const reason = reasonOf(e);
  const shown = data.includes('\n') ? JSON.stringify(data) : data;
  return new TsrunError(`${fieldName}: write ${shown} to ${path}: ${reason}`, { cause: e });
}

/** Read a file, trimmed; errors are "read FILE: reason". */
export function readTrim(fs: CgroupFs, path: string): string {
  try {
    return fs.readFile(path).trim();
  } catch (e) {
    throw new TsrunError(`read ${path}: ${reasonOf(e)}`, { cause: e });
  }
}

/** Read a file, or undefined when it does not exist. */
export function tryRead(fs: CgroupFs, path: string): string | undefined {
  try {
    return fs.readFile(path);
  } catch (e) {
    const c = errCode(e);
    if (c === 'ENOENT' || c === 'ENODEV' || c === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Parse an unsigned decimal; "max" (v2) becomes 2^64-1 like runc does. */
export function parseU64(s: string): U64 {
  const t = s.trim();
  if (t === 'max') return 18446744073709551615n;
  if (!/^-?\d+$/.test(t)) throw new TsrunError(`not a number: ${JSON.stringify(t)}`);
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

export function readU64(fs: CgroupFs, path: string): U64 {
  const t = readTrim(fs, path);
  try {
    return parseU64(t);
  } catch {
    throw new TsrunError(`read ${path}: unexpected content ${JSON.stringify(t)}`);
  }
}

/** Like readU64, but 0 when the file does not exist. */
export function readU64Opt(fs: CgroupFs, path: string): U64 {
  const t = tryRead(fs, path);
  return t === undefined ? 0 : parseU64(t);
}

/** "key value" lines (cpu.stat, memory.stat, memory.events, oom_control). */
export function parseFlatKeyed(text: string): Record<string, U64> {
  const out: Record<string, U64> = {};
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length === 2 && /^\d+$/.test(parts[1])) out[parts[0]] = parseU64(parts[1]);
  }
  return out;
}

export function toBig(v: U64): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** Sum/scale of counters that may be bigints. */
export function u64(v: bigint): U64 {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A synchronous sleep (the cgroup code is synchronous on purpose). */
export { sleepMs } from '../state/sleep';

/** Controllers listed in a v2 cgroup.controllers / subtree_control file. */
export function readControllers(fs: CgroupFs, dir: string, file = 'cgroup.controllers'): string[] {
  const t = tryRead(fs, `${dir}/${file}`);
  return t === undefined ? [] : t.trim().split(/\s+/).filter(Boolean);
}

/** Parent directory of an absolute path ("/" stays "/"). */
export function parentDir(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** A numeric config value that must be an integer (validation is elsewhere; this guards the writes). */
export function int(v: number, fieldName: string): string {
  if (!Number.isInteger(v)) throw new TsrunError(`${fieldName}: ${v} is not an integer`);
  return String(v);
}
