// Differential test: our schemas/ against the upstream runtime-spec v1.3.0
// schemas (../shared/runtime-spec/schema), on many mutations of full configs.
// Both must accept or both must reject each document, apart from the two
// deliberate differences listed in DIVERGES below.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { precondition } from '../helpers/harness';
import { validateConfig, validateFeatures, validateState } from '../../src/spec/validate';

const upstreamDir = path.resolve(__dirname, '../../../shared/runtime-spec/schema');
const present = precondition(fs.existsSync(path.join(upstreamDir, 'config-schema.json')), `schema-parity: ${upstreamDir} is absent (a clone without ../shared)`);

/** Upstream is draft-04 with file-relative $refs; ajv reads it as draft-07 (no draft-04-only keyword is used). */
function upstream(): Record<'config' | 'state' | 'features', ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
  for (const f of fs.readdirSync(upstreamDir).filter((f) => f.endsWith('.json'))) {
    const text = fs
      .readFileSync(path.join(upstreamDir, f), 'utf8')
      // a broken ref upstream ("#definitions/uint32", in ArrayOfUint32)
      .replace('"#definitions/uint32"', '"#/definitions/uint32"');
    const schema = JSON.parse(text);
    delete schema.$schema;
    schema.$id = `https://upstream.invalid/${f}`;
    ajv.addSchema(schema);
  }
  const get = (f: string) => ajv.getSchema(`https://upstream.invalid/${f}`)!;
  return { config: get('config-schema.json'), state: get('state-schema.json'), features: get('features-schema.json') };
}

/** Values where we differ from upstream on purpose (see the $comment in schemas/). */
function diverges(kind: string, doc: unknown): boolean {
  const d = doc as Record<string, any> | null;
  if (!d || typeof d !== 'object') return false;
  if (kind === 'config') return ['rprivate', 'rshared', 'rslave', 'runbindable'].includes(d.linux?.rootfsPropagation);
  if (kind === 'state') return d.status === 'paused';
  return false;
}

const REPLACEMENTS: unknown[] = [
  null, true, false, 'x', '', 'bogus', '\n', [], {}, ['x'], [''], [{}], [1], [-1], { zzz: 1 }, { '': 1 }, 0, -1, 1.5,
];
/** For places that hold a number: integers at and past the bounds of int8 … uint64, FileMode, percent. */
const NUMBERS: unknown[] = [
  1, 100, 101, 127, 128, -128, -129, 255, 256, 511, 512, 65535, 65536,
  2147483647, 2147483648, -2147483648, -2147483649, 4294967295, 4294967296, 2e19, -1e19, 1e20, -1e20,
];

/**
 * Every document obtained by one change at one place: delete, replace, add an
 * unknown key. The document is changed in place, handed out, and restored
 * (no copies: the validators do not modify what they check).
 */
function* mutations(doc: unknown): Generator<[string, unknown]> {
  const holder: { root: unknown } = { root: doc };
  function* at(parent: any, key: string | number, trail: string): Generator<[string, unknown]> {
    const node = parent[key];
    for (const r of typeof node === 'number' ? [...REPLACEMENTS, ...NUMBERS] : REPLACEMENTS) {
      parent[key] = r;
      yield [`${trail} = ${JSON.stringify(r)}`, holder.root];
    }
    parent[key] = node;
    if (trail !== '$') {
      if (Array.isArray(parent)) {
        parent.splice(key as number, 1);
        yield [`delete ${trail}`, holder.root];
        parent.splice(key as number, 0, node);
      } else {
        delete parent[key];
        yield [`delete ${trail}`, holder.root];
        parent[key] = node;
      }
    }
    if (Array.isArray(node)) {
      // the first two entries stand for the rest (a seccomp rule has hundreds of names)
      for (let i = 0; i < Math.min(node.length, 2); i++) yield* at(node, i, `${trail}[${i}]`);
    } else if (node && typeof node === 'object') {
      node.zzzUnknown = { a: 1 };
      yield [`${trail}.zzzUnknown = {"a":1}`, holder.root];
      delete node.zzzUnknown;
      for (const k of Object.keys(node)) yield* at(node, k, `${trail}.${k}`);
    }
  }
  yield* at(holder, 'root', '$');
}

const fixtures = path.resolve(__dirname, '../fixtures/configs');
const specTests = path.join(upstreamDir, 'test');

function docs(kind: string): [string, unknown][] {
  const out: [string, unknown][] = [];
  const good = path.join(specTests, kind, 'good');
  if (fs.existsSync(good)) for (const f of fs.readdirSync(good)) out.push([f, JSON.parse(fs.readFileSync(path.join(good, f), 'utf8'))]);
  if (kind === 'config') for (const f of ['kitchen-sink.json', 'typical.json']) out.push([f, JSON.parse(fs.readFileSync(path.join(fixtures, f), 'utf8'))]);
  return out;
}

(present ? describe : describe.skip)('schemas/ give the verdicts of the upstream schemas', () => {
  const theirs = present ? upstream() : undefined;
  const ours = { config: validateConfig, state: validateState, features: validateFeatures };
  for (const kind of ['config', 'state', 'features'] as const) {
    it(`${kind}: every one-change mutation of the good documents`, () => {
      let compared = 0;
      const disagreements: string[] = [];
      for (const [name, doc] of docs(kind)) {
        for (const [change, m] of mutations(doc)) {
          if (diverges(kind, m)) continue;
          const a = theirs![kind](m) as boolean;
          const b = ours[kind](m).length === 0;
          compared++;
          if (a !== b && disagreements.length < 10) disagreements.push(`${name}: ${change}: upstream ${a}, ours ${b}`);
        }
      }
      expect(disagreements).toEqual([]);
      expect(compared).toBeGreaterThan(100);
    }, 30_000);
  }

  it('has the same enums and patterns (mutations cannot try every enum value)', () => {
    const collect = (dir: string, files: string[]) => {
      const enums = new Set<string>();
      const patterns = new Set<string>();
      const walk = (x: unknown): void => {
        if (Array.isArray(x)) x.forEach(walk);
        else if (x && typeof x === 'object') {
          for (const [k, v] of Object.entries(x)) {
            if (k === 'enum') enums.add(JSON.stringify([...(v as string[])].sort()));
            else if (k === 'pattern') patterns.add(v as string);
            else if (k === 'patternProperties') Object.values(v as object).forEach(walk);
            else walk(v);
          }
        }
      };
      for (const f of files) walk(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
      return { enums, patterns };
    };
    const json = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    const up = collect(upstreamDir, json(upstreamDir));
    const ourDir = path.resolve(__dirname, '../../schemas');
    const our = collect(ourDir, json(ourDir));
    const deliberate = [
      JSON.stringify(['private', 'rprivate', 'rshared', 'rslave', 'runbindable', 'shared', 'slave', 'unbindable']),
      JSON.stringify(['created', 'creating', 'paused', 'running', 'stopped']),
    ];
    const upstreamOnly = [...up.enums].filter((e) => !our.enums.has(e)).sort();
    const oursOnly = [...our.enums].filter((e) => !up.enums.has(e) && !deliberate.includes(e));
    expect({ upstreamOnly, oursOnly }).toEqual({
      upstreamOnly: [
        JSON.stringify(['created', 'creating', 'running', 'stopped']),
        JSON.stringify(['private', 'shared', 'slave', 'unbindable']),
      ].sort(),
      oursOnly: [],
    });
    // "pattern" values are the same text. (patternProperties keys differ in text only: upstream
    // ".{1,}", ours "[^\n]", which match the same keys; the mutations try odd keys.)
    expect([...up.patterns].filter((p) => !our.patterns.has(p))).toEqual([]);
  });

  it('the deliberate differences are what we say', () => {
    const base = JSON.parse(fs.readFileSync(path.join(fixtures, 'typical.json'), 'utf8'));
    base.linux.rootfsPropagation = 'rslave';
    expect(theirs!.config(base)).toBe(false);
    expect(validateConfig(base)).toEqual([]);
    const state = { ociVersion: '1.3.0', id: 'a', status: 'paused', bundle: '/b' };
    expect(theirs!.state(state)).toBe(false);
    expect(validateState(state)).toEqual([]);
  });
});
