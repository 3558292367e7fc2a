// Recipes, the pure part (issue 18: a create replayed without Bun; the replay itself is not built yet).
// A text tsrun renders for one container (its state.json, a state document, a cgroup path) becomes a template
// with holes only when it is shown to be parametric: rendered again for a probe id of another length, it must
// equal the first rendering with the id replaced. Values known only at replay time (the init's pid, the time)
// are rendered as sentinel tokens, which no config can make (checked), and become holes too.

export type HoleName = 'id' | 'pid' | 'pidStart' | 'created' | 'creatorPid' | 'creatorStart';
export type Piece = string | { hole: HoleName };
export type Template = Piece[];

/**
 * The sentinels, as JSON.stringify writes them. A number's sentinel is a quoted string, quotes included, so its
 * hole takes a bare number; a string's sits inside the quotes. \u0001 cannot be in an id, and a config that
 * holds one of these texts gets no recipe (see sentinelFree).
 */
export const SENTINEL: Record<Exclude<HoleName, 'id'>, { value: string; token: string }> = {
  pid: { value: '\u0001pid\u0001', token: '"\\u0001pid\\u0001"' },
  pidStart: { value: '\u0001pidStart\u0001', token: '\\u0001pidStart\\u0001' },
  created: { value: '\u0001created\u0001', token: '\\u0001created\\u0001' },
  creatorPid: { value: '\u0001creatorPid\u0001', token: '"\\u0001creatorPid\\u0001"' },
  creatorStart: { value: '\u0001creatorStart\u0001', token: '\\u0001creatorStart\\u0001' },
};

/** True when no sentinel token occurs in `text` (a rendering with the real values). */
export function sentinelFree(text: string): boolean {
  return !text.includes('\\u0001') && !text.includes('\u0001');
}

/** `text` cut at every occurrence of the tokens, left to right; at one position the longest token wins. */
export function cut(text: string, tokens: ReadonlyMap<string, HoleName>): Template {
  const out: Template = [];
  const list = [...tokens.keys()].filter((t) => t.length > 0).sort((a, b) => b.length - a.length);
  let lit = '';
  for (let i = 0; i < text.length; ) {
    const hit = list.find((t) => text.startsWith(t, i));
    if (hit === undefined) {
      lit += text[i++];
      continue;
    }
    if (lit) out.push(lit);
    lit = '';
    out.push({ hole: tokens.get(hit)! });
    i += hit.length;
  }
  if (lit) out.push(lit);
  return out;
}

/** The template with its holes filled; a hole without a value keeps its sentinel token (as rendered). */
export function fill(t: Template, values: Partial<Record<HoleName, string>>): string {
  return t
    .map((p) => {
      if (typeof p === 'string') return p;
      const v = values[p.hole];
      if (v !== undefined) return v;
      if (p.hole === 'id') throw new Error('template: no value for the id');
      return SENTINEL[p.hole].token;
    })
    .join('');
}

/** The tokens of the sentinels, as cut() takes them. */
export function sentinelTokens(): Map<string, HoleName> {
  return new Map(Object.entries(SENTINEL).map(([hole, s]) => [s.token, hole as HoleName]));
}

/**
 * The template of render(id), or undefined when it is not parametric in the id: render(probe) must be
 * render(id) with every occurrence of the id replaced by the probe (and the probe must not occur in
 * render(id) on its own). The id must not be a substring of a sentinel token for this check to mean anything:
 * cut() takes sentinels first, so such an id is only ever matched outside them.
 */
export function idTemplate(render: (id: string) => string, id: string, probe: string): Template | undefined {
  if (id === probe || id.length === probe.length) throw new Error('template: the probe id must differ in length');
  const real = render(id);
  if (real.includes(probe)) return undefined;
  const t = cut(real, new Map([...sentinelTokens(), [id, 'id']]));
  return fill(t, { id: probe }) === render(probe) ? t : undefined;
}
