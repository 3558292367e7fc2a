// Recipes: the file format, <root>/.recipes/<key>, which tsrun-init's replay will read (it is not built yet).
// Made for a small C reader: a first line, then sections "<name> <length>\n<bytes>\n"; inside a section,
// fields "<length>:<bytes>" one after another; a template is fields, each "s<text>" (literal) or "h<hole>".
// Nothing is escaped, so any byte may be anywhere (a rootfs file, a path).
import type { TemplatedOp } from './cgroup-log';
import type { Guard } from './guards';
import type { HoleName, Template } from './template';

export const RECIPE_FORMAT = 'tsrun-recipe 1';

export interface Recipe {
  mode: 'create' | 'run';
  root: string;
  bundle: string;
  /** config.json exactly as create read it: the replay compares it byte for byte. */
  config: Buffer;
  /** The id the plan was made for; the replay swaps it in the plan's string records. */
  id: string;
  /** tsrun-init and tsrun-bun as they were: "dev ino size mtime-ns" of each. */
  binaries: { path: string; identity: string }[];
  guards: Guard[];
  cgroup: TemplatedOp[];
  plan: Buffer;
  /** <root>/<id>/config.json as create writes it. */
  configCopy: Buffer;
  templates: Record<string, Template>;
}

function field(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return Buffer.concat([Buffer.from(`${body.length}:`), body]);
}

const fields = (...parts: (Buffer | string)[]) => Buffer.concat(parts.map(field));

export function encodeTemplate(t: Template): Buffer {
  return fields(...t.map((p) => (typeof p === 'string' ? `s${p}` : `h${p.hole}`)));
}

function section(name: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${name} ${body.length}\n`), body, Buffer.from('\n')]);
}

function guardBody(g: Guard): Buffer {
  switch (g.kind) {
    case 'file':
      return fields('file', g.path, g.text === null ? '0' : '1', g.text ?? '');
    case 'status-field':
      return fields('status-field', g.path, g.field, g.value);
    case 'cgroup-mounts':
      return fields('cgroup-mounts', g.text);
    case 'stat':
      return fields('stat', g.path, g.is ?? '-');
    case 'rootfs-file':
      return fields('rootfs-file', g.path, g.text === null ? '0' : '1', g.text ?? '');
    case 'realpath':
      return fields('realpath', g.path, g.resolved);
  }
}

function cgroupBody(o: TemplatedOp): Buffer {
  const path = encodeTemplate(o.path);
  switch (o.op) {
    case 'read':
      return fields('read', path, o.value);
    case 'write':
      return fields('write', path, o.data);
    case 'mkdirp':
      return fields('mkdirp', path, ...(o.created ?? []).map(encodeTemplate));
    case 'exists':
    case 'isDirectory':
      return fields(o.op, path, o.result ? '1' : '0');
    case 'readdir':
    case 'subdirs':
      return fields(o.op, path, ...o.names);
    case 'rmdir':
      return fields('rmdir', path);
  }
}

export function encodeRecipe(r: Recipe): Buffer {
  const out: Buffer[] = [Buffer.from(`${RECIPE_FORMAT}\n`)];
  out.push(section('key', fields(r.mode, r.root, r.bundle)));
  out.push(section('config', r.config));
  out.push(section('id', Buffer.from(r.id)));
  for (const b of r.binaries) out.push(section('binary', fields(b.path, b.identity)));
  for (const g of r.guards) out.push(section('guard', guardBody(g)));
  for (const o of r.cgroup) out.push(section('cgroup', cgroupBody(o)));
  out.push(section('plan', r.plan));
  out.push(section('config-copy', r.configCopy));
  for (const [name, t] of Object.entries(r.templates)) out.push(section('template', Buffer.concat([field(name), field(encodeTemplate(t))])));
  return Buffer.concat(out);
}

// ---- the reader, for tests: the replay's C reader follows the same grammar ----

export function readFields(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; ) {
    const colon = b.indexOf(0x3a, i);
    const n = Number(b.subarray(i, colon).toString());
    if (colon < 0 || !Number.isInteger(n) || colon + 1 + n > b.length) throw new Error(`recipe: a bad field at byte ${i}`);
    out.push(b.subarray(colon + 1, colon + 1 + n));
    i = colon + 1 + n;
  }
  return out;
}

export function decodeTemplate(b: Buffer): Template {
  return readFields(b).map((f) => {
    const s = f.toString('utf8');
    if (s[0] === 's') return s.slice(1);
    if (s[0] === 'h') return { hole: s.slice(1) as HoleName };
    throw new Error(`recipe: a bad template piece "${s}"`);
  });
}

export function readSections(b: Buffer): { name: string; body: Buffer }[] {
  const first = b.indexOf(0x0a);
  if (b.subarray(0, first).toString() !== RECIPE_FORMAT) throw new Error('recipe: not a recipe');
  const out: { name: string; body: Buffer }[] = [];
  for (let i = first + 1; i < b.length; ) {
    const nl = b.indexOf(0x0a, i);
    const [name, len] = b.subarray(i, nl).toString().split(' ');
    const n = Number(len);
    if (nl < 0 || !name || !Number.isInteger(n) || b[nl + 1 + n] !== 0x0a) throw new Error(`recipe: a bad section at byte ${i}`);
    out.push({ name, body: b.subarray(nl + 1, nl + 1 + n) });
    i = nl + 2 + n;
  }
  return out;
}
