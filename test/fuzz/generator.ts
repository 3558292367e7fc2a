// Config mutations for fuzzing: from a valid config, a seeded PRNG picks a
// node and breaks it — a wrong type, a huge or negative number, deep
// nesting, odd unicode, a path with "..", a removed key. The same seed gives
// the same cases, so a failure can be replayed.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** mulberry32: small, fast, good enough to spread cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Path = (string | number)[];

function paths(node: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(node)) node.forEach((v, i) => paths(v, [...at, i], out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) paths(v, [...at, k], out);
  return out;
}

function get(root: Json, p: Path): Json {
  let n: Json = root;
  for (const k of p) n = (n as Record<string | number, Json>)[k];
  return n;
}

function set(root: Json, p: Path, value: Json | undefined): Json {
  if (p.length === 0) return value === undefined ? null : value;
  const parent = get(root, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const k = p[p.length - 1];
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete (parent as Record<string, Json>)[k as string];
  } else {
    (parent as Record<string | number, Json>)[k] = value;
  }
  return root;
}

const ODD_STRINGS = [
  '',
  '..',
  '../../../../etc',
  '/../../../../etc/passwd',
  'rel/ative',
  '/proc/self/fd/3',
  '/dev/../proc/kcore',
  'a'.repeat(70_000),
  '\u0000',
  'nul\u0000inside',
  '\u202e\u0301\ud83d\ude00',
  '\ud800',
  '%s%n%x',
  '$(touch /tmp/pwned)',
  '\n\r\t',
  'CAP_TEST',
  'SCMP_ACT_FOO',
  '-1',
  'rprivate',
  '/',
];

const ODD_NUMBERS = [-1, 0, 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, -(2 ** 63), 1e308, 0.5, 65536, 4294967295];

function deep(depth: number, r: () => number): Json {
  let n: Json = r() < 0.5 ? 'x' : 1;
  for (let i = 0; i < depth; i++) n = r() < 0.5 ? [n] : { k: n };
  return n;
}

function randomValue(r: () => number): Json {
  const pick = r();
  if (pick < 0.3) return ODD_STRINGS[Math.floor(r() * ODD_STRINGS.length)];
  if (pick < 0.55) return ODD_NUMBERS[Math.floor(r() * ODD_NUMBERS.length)];
  if (pick < 0.62) return r() < 0.5;
  if (pick < 0.68) return null;
  if (pick < 0.76) return [];
  if (pick < 0.82) return {};
  if (pick < 0.9) return deep(50 + Math.floor(r() * 2000), r);
  return Array.from({ length: 1 + Math.floor(r() * 5) }, () => ODD_STRINGS[Math.floor(r() * ODD_STRINGS.length)]);
}

/** One mutated copy of base: 1 to 3 mutations. */
export function mutate(base: Json, r: () => number): { config: Json; what: string[] } {
  let config: Json = JSON.parse(JSON.stringify(base));
  const what: string[] = [];
  const count = 1 + Math.floor(r() * 3);
  for (let i = 0; i < count; i++) {
    const all = paths(config).filter((p) => p.length > 0);
    if (all.length === 0) break;
    const p = all[Math.floor(r() * all.length)];
    const kind = r();
    const name = p.join('.');
    if (kind < 0.2) {
      config = set(config, p, undefined);
      what.push(`remove ${name}`);
    } else if (kind < 0.3 && Array.isArray(get(config, p.slice(0, -1)))) {
      const parent = get(config, p.slice(0, -1)) as Json[];
      parent.push(JSON.parse(JSON.stringify(get(config, p))));
      what.push(`duplicate ${name}`);
    } else {
      const v = randomValue(r);
      config = set(config, p, v);
      what.push(`set ${name} = ${JSON.stringify(v).slice(0, 60)}`);
    }
  }
  return { config, what };
}
