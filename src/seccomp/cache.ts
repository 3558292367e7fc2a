// The on-disk cache of compiled filters. Engines give every container the same profile, so the BPF of a profile
// is kept under <root>/.seccomp-cache, one small JSON file per key. A hit reads one file: no koffi, and not even
// node:crypto (loading it costs 2-4 ms, more than the rest of a hit). The file name is a CRC-32 of the key text
// and its length; the entry holds the whole key text, which must match exactly, so a collision (even a crafted
// one) can only cause a miss, never hand one container the filter of another profile.
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Seccomp } from '../spec/types';
import { crc32hex } from '../state/crc32';

/** Bump when the compiler's output for a given input changes. */
export const CACHE_FORMAT = 1;

export interface CachedFilter {
  bpf: Uint8Array;
  flags: bigint;
  notify: boolean;
  warnings: string[];
}

/** JSON with object keys sorted at every level, bigints as decimal strings: equal configs, equal text. */
export function canonicalJson(v: unknown): string {
  if (typeof v === 'bigint') return JSON.stringify(v.toString());
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export interface CacheKey {
  /** The entry's file name, without .json. */
  name: string;
  /** Everything the program depends on, as canonical JSON. */
  text: string;
}

/**
 * The cache key: the seccomp section (minus listenerPath and listenerMetadata, which do not change the program)
 * and everything else the output depends on: the libseccomp build, the CPU architecture, the kernel release
 * (flag support), the tsrun build and the cache format.
 */
export function cacheKey(s: Seccomp, env: { lib: string; arch: string; kernel: string; build: string }): CacheKey {
  const { listenerPath: _p, listenerMetadata: _m, ...rest } = s;
  void _p;
  void _m;
  const text = canonicalJson({ format: CACHE_FORMAT, ...env, seccomp: rest });
  return { name: `${crc32hex(text)}-${text.length.toString(16)}`, text };
}

interface Entry {
  format: number;
  key: string;
  flags: string;
  notify: boolean;
  warnings: string[];
  /** CRC-32 of the program bytes: a damaged file is a miss. */
  check: string;
  bpf: string; // base64
}

function entryPath(dir: string, key: CacheKey): string {
  return path.join(dir, `${key.name}.json`);
}

/** The cached filter for key, or undefined when absent or not a well-formed entry for exactly this key. */
export function readCache(dir: string, key: CacheKey): CachedFilter | undefined {
  let text: string;
  try {
    text = readFileSync(entryPath(dir, key), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const e = JSON.parse(text) as Entry;
    if (e.format !== CACHE_FORMAT || e.key !== key.text || typeof e.bpf !== 'string' || typeof e.flags !== 'string') {
      return undefined;
    }
    if (typeof e.notify !== 'boolean' || !Array.isArray(e.warnings) || !e.warnings.every((w) => typeof w === 'string')) {
      return undefined;
    }
    if (!/^\d+$/.test(e.flags)) return undefined;
    const bpf = Buffer.from(e.bpf, 'base64');
    if (bpf.length === 0 || bpf.length % 8 !== 0) return undefined;
    if (crc32hex(bpf) !== e.check) return undefined;
    return {
      bpf: new Uint8Array(bpf.buffer, bpf.byteOffset, bpf.length),
      flags: BigInt(e.flags),
      notify: e.notify,
      warnings: e.warnings,
    };
  } catch {
    return undefined;
  }
}

/**
 * Stores an entry atomically (a private temporary file renamed over the old one). The cache is an optimisation:
 * a failure to write (read-only or full file system) is ignored, and returns false.
 */
let tmpSeq = 0;

export function writeCache(dir: string, key: CacheKey, f: CachedFilter): boolean {
  const entry: Entry = {
    format: CACHE_FORMAT,
    key: key.text,
    flags: f.flags.toString(),
    notify: f.notify,
    warnings: f.warnings,
    check: crc32hex(f.bpf),
    bpf: Buffer.from(f.bpf.buffer, f.bpf.byteOffset, f.bpf.byteLength).toString('base64'),
  };
  const final = entryPath(dir, key);
  const tmp = `${final}.${process.pid}.${Date.now()}.${tmpSeq++}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, final);
    return true;
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    return false;
  }
}
