// What every group of checks uses: the Collector that gathers problems, the
// guards for values of unknown shape (the checks run on any JSON value and
// skip what the schema reports), and the parser of Linux CPU and node lists.

import { jsonPath, type PathSegment, type Problem } from '../problem';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const quote = (v: unknown) => JSON.stringify(v);
export const isAbs = (p: string) => p.startsWith('/');

export class Collector {
  readonly errors: Problem[] = [];
  constructor(private readonly warnings: Problem[] | undefined) {}
  error(at: readonly PathSegment[], message: string): void {
    this.errors.push({ path: jsonPath(at), message });
  }
  warn(at: readonly PathSegment[], message: string): void {
    this.warnings?.push({ path: jsonPath(at), message });
  }
}

/**
 * Parses a Linux CPU or node list ("0-3,7"; spaces around items allowed).
 * Returns the sorted distinct numbers, or undefined when the text is not a list.
 * The empty string is the empty list.
 */
export function parseIdList(text: string): number[] | undefined {
  const out = new Set<number>();
  if (text.trim() === '') return [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 1 << 16) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}
