// Schema validation of config.json, state and features documents against
// schemas/ (our own JSON schemas of runtime-spec v1.3.0), with ajv's errors
// turned into short readable problems: a JSON path and what was expected.
//
// ajv is not loaded until the first validation, and the compiled validators
// are kept for the life of the process (see schemas.ts for the precompile
// hook).

import type { ErrorObject, ValidateFunction } from 'ajv';
import { jsonPath, type PathSegment, type Problem } from './problem';
import { loadValidatorSource, type DocumentKind, type ValidatorSource } from './schemas';

export { jsonPath, formatProblem, type PathSegment, type Problem } from './problem';

let source: ValidatorSource | undefined;
const compiled: Partial<Record<DocumentKind, ValidateFunction>> = {};

function validator(kind: DocumentKind): ValidateFunction {
  let v = compiled[kind];
  if (!v) {
    source ??= loadValidatorSource();
    v = compiled[kind] = source(kind);
  }
  return v;
}

function validate(kind: DocumentKind, doc: unknown): Problem[] {
  const v = validator(kind);
  if (v(doc)) return [];
  return problemsFromAjv(v.errors ?? [], doc);
}

/** Checks a config.json document against the schema. Cross-field rules are in checks/. */
export function validateConfig(doc: unknown): Problem[] {
  return validate('config', doc);
}

/** Checks a state document (runtime.md#state). */
export function validateState(doc: unknown): Problem[] {
  return validate('state', doc);
}

/** Checks a features document (features.md). */
export function validateFeatures(doc: unknown): Problem[] {
  return validate('features', doc);
}

/** Checks a process document alone (`exec --process process.json`): config.md#process. */
export function validateProcess(doc: unknown): Problem[] {
  return validate('process', doc);
}

// ---------------------------------------------------------------------------
// Paths

/** Splits a JSON pointer, using the document to tell array indexes from keys. */
function pointerSegments(pointer: string, doc: unknown): PathSegment[] {
  if (pointer === '') return [];
  const raw = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: PathSegment[] = [];
  let cur: unknown = doc;
  for (const s of raw) {
    if (Array.isArray(cur) && /^(0|[1-9][0-9]*)$/.test(s)) {
      out.push(Number(s));
      cur = cur[Number(s)];
    } else {
      out.push(s);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[s] : undefined;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Messages

/** Bounds past 2^53 are not worth printing (int64, uint64). */
const SHOWN_BOUND = Number.MAX_SAFE_INTEGER;

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  object: 'an object',
  array: 'an array',
  boolean: 'a boolean (true or false)',
  null: 'null',
};

/** Patterns of schemas/, said in words. */
const PATTERN_WORDS: Record<string, string> = {
  '^[1-9][0-9]*[KMG]B$': 'must be a page size such as 64KB, 2MB or 1GB',
  '^RLIMIT_[A-Z]+$': 'must be a resource limit name such as RLIMIT_NOFILE',
  '^[cbup]$': 'must be one of: c, b, u, p',
  '^MB:[^\\n]*$': 'must start with "MB:" and be one line',
  '^[0-9, -]*$': 'must be a CPU list such as 0-3,7',
  '^CAP_[A-Z_]+$': 'must be a capability name such as CAP_CHOWN',
};

function typeWords(t: unknown): string {
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => TYPE_WORDS[String(x)] ?? String(x)).join(' or ');
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const s = JSON.stringify(value);
  if (s === undefined) return String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** "must be an integer between 0 and 4294967295", from an integer/number schema. */
function numberWords(schema: Record<string, unknown>): string {
  const kind = schema.type === 'number' ? 'a number' : 'an integer';
  const min = typeof schema.minimum === 'number' && Math.abs(schema.minimum) <= SHOWN_BOUND ? schema.minimum : undefined;
  const max = typeof schema.maximum === 'number' && Math.abs(schema.maximum) <= SHOWN_BOUND ? schema.maximum : undefined;
  if (min !== undefined && max !== undefined) return `must be ${kind} between ${min} and ${max}`;
  if (min !== undefined) return `must be ${kind} >= ${min}`;
  if (max !== undefined) return `must be ${kind} <= ${max}`;
  return `must be ${kind}`;
}

function isNumberSchema(s: unknown): s is Record<string, unknown> {
  return !!s && typeof s === 'object' && ((s as { type?: unknown }).type === 'integer' || (s as { type?: unknown }).type === 'number');
}

function messageOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'type':
      if (isNumberSchema(e.parentSchema)) return `${numberWords(e.parentSchema)} (got ${shown(e.data)})`;
      return `must be ${typeWords(p.type)} (got ${shown(e.data)})`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      if (isNumberSchema(e.parentSchema)) return `${numberWords(e.parentSchema)} (got ${shown(e.data)})`;
      return `must be ${p.comparison} ${p.limit} (got ${shown(e.data)})`;
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')} (got ${shown(e.data)})`;
    case 'const':
      return `must be ${shown(p.allowedValue)}`;
    case 'pattern': {
      const words = PATTERN_WORDS[String(p.pattern)] ?? `must match the pattern ${String(p.pattern)}`;
      return `${words} (got ${shown(e.data)})`;
    }
    case 'minItems': {
      const n = Number(p.limit);
      return n === 1 ? 'must not be empty' : `must have at least ${n} entries`;
    }
    case 'maxItems':
      return `must have at most ${String(p.limit)} entries`;
    case 'additionalProperties':
      return 'is not allowed';
    case 'anyOf':
    case 'oneOf':
      return 'does not match any of the allowed forms';
    default:
      return e.message ?? `fails the "${e.keyword}" rule`;
  }
}

// ---------------------------------------------------------------------------
// From ajv errors to problems

const COMBINATORS = new Set(['anyOf', 'oneOf']);

/**
 * anyOf/oneOf report every failing branch plus one error for themselves.
 * Collapse that into what helps: if some branch accepted the value's shape and
 * failed deeper inside, report that branch's errors (the deepest one); if every
 * branch failed at the value itself, one message for the value ("must be a
 * string or an integer", or "does not match any of the allowed forms").
 */
function collapseCombinators(errors: ErrorObject[]): ErrorObject[] {
  let out = errors;
  // Innermost combinators first, so that nested ones are resolved before their parents.
  const combinators = errors
    .filter((e) => COMBINATORS.has(e.keyword))
    .sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const c of combinators) {
    if (!out.includes(c)) continue;
    const prefix = `${c.schemaPath}/`;
    const inside = out.filter((e) => e !== c && e.schemaPath.startsWith(prefix) && e.instancePath.startsWith(c.instancePath));
    const rest = out.filter((e) => e !== c && !inside.includes(e));
    if (c.keyword === 'oneOf' && (c.params as { passingSchemas?: unknown }).passingSchemas) {
      // matched more than one branch
      out = [...rest, { ...c, message: 'matches more than one of the allowed forms' }];
      continue;
    }
    const branches = new Map<string, ErrorObject[]>();
    for (const e of inside) {
      const branch = e.schemaPath.slice(prefix.length).split('/')[0];
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    const deeper = [...branches.values()].filter((errs) => errs.every((e) => e.instancePath !== c.instancePath));
    if (deeper.length > 0) {
      const depth = (errs: ErrorObject[]) => Math.max(...errs.map((e) => e.instancePath.length));
      deeper.sort((a, b) => depth(b) - depth(a) || a.length - b.length);
      out = [...rest, ...deeper[0]];
      continue;
    }
    const allType = inside.length > 0 && inside.every((e) => e.keyword === 'type');
    const message = allType
      ? `must be ${[...new Set(inside.map((e) => typeWords((e.params as { type: unknown }).type)))].join(' or ')}`
      : 'does not match any of the allowed forms';
    out = [...rest, { ...c, message, keyword: 'collapsed' }];
  }
  return out;
}

const NUMBER_KEYWORDS = new Set(['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);

/** ajv's errors for `doc` as problems, one per path and message. */
export function problemsFromAjv(errors: ErrorObject[], doc: unknown): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const e of collapseCombinators(errors)) {
    const segments = pointerSegments(e.instancePath, doc);
    if (e.keyword === 'required') segments.push(String((e.params as { missingProperty: string }).missingProperty));
    const message = e.keyword === 'collapsed' ? (e.message ?? '') : messageOf(e);
    const path = jsonPath(segments);
    // A number can break its type and a bound at once (-1.5 for a uint32):
    // one message for the number is enough.
    const key = NUMBER_KEYWORDS.has(e.keyword) && isNumberSchema(e.parentSchema) ? `${path}\0number` : `${path}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, message });
  }
  return problems;
}
