// Recipes: is the init plan parametric in the id? The replay swaps the id in every string record of the encoded
// plan (the C side walks the records by their kinds in native/plantab.c) and never in bytes (the seccomp
// program, a nodemask). Here the same swap on the plan's strings must turn the plan made for the id into the
// one made for a probe id, or the plan gets no recipe.
import type { InitPlan } from '../plan/types';

/** `v` with `from` replaced by `to` in every string it holds; numbers, bigints and byte arrays as they are. */
export function swapInStrings<T>(v: T, from: string, to: string): T {
  if (typeof v === 'string') return v.split(from).join(to) as T;
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((x) => swapInStrings(x, from, to)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = swapInStrings(x, from, to);
  return out as T;
}

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) for (const x of Object.values(v)) strings(x, out);
  return out;
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * True when the plan made for `id` becomes the plan made for `probe` by the swap alone: the id reaches the plan
 * only through what tsrun derives from it (the exec fifo, the cgroup files, the session keyring's name).
 */
export function planParametric(forId: InitPlan, forProbe: InitPlan, id: string, probe: string): boolean {
  if (id.length === probe.length) throw new Error('recipe: the probe id must differ in length');
  if (strings(forId).some((x) => x.includes(probe))) return false;
  return same(swapInStrings(forId, id, probe), forProbe);
}
