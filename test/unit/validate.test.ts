// validate.ts: readable problems from ajv, the schemas themselves, ajv loaded
// lazily, and the precompiled (ajv standalone) form giving the same answers.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { precompiledValidatorsModule } from '../../src/spec/precompile';
import { SCHEMAS } from '../../src/spec/schemas';
import {
  jsonPath,
  problemsFromAjv,
  validateConfig,
  validateFeatures,
  validateProcess,
  validateState,
} from '../../src/spec/validate';

const repo = path.resolve(__dirname, '../..');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(repo, 'test/fixtures/configs', name), 'utf8'));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-validate-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the schemas', () => {
  it('are valid draft-07 schemas that compile in strict mode', async () => {
    const { default: Ajv } = await import('ajv');
    const ajv = new Ajv({ strict: true, strictTuples: false, allErrors: true });
    for (const s of SCHEMAS) {
      expect(ajv.validateSchema(s), `${(s as { $id: string }).$id}: ${ajv.errorsText()}`).toBe(true);
      ajv.addSchema(s);
    }
    for (const s of SCHEMAS) expect(() => ajv.getSchema((s as { $id: string }).$id)).not.toThrow();
  });

  it('accept the fixture configs', () => {
    expect(validateConfig(fixture('typical.json'))).toEqual([]);
    expect(validateConfig(fixture('kitchen-sink.json'))).toEqual([]);
  });
});

describe('problems', () => {
  const config = () => fixture('typical.json');

  it('say what is required, at the missing member', () => {
    const c = config();
    delete c.root.path;
    delete c.ociVersion;
    expect(validateConfig(c)).toEqual([
      { path: '$.ociVersion', message: 'is required' },
      { path: '$.root.path', message: 'is required' },
    ]);
  });

  it('list the allowed values of an enum', () => {
    const c = config();
    c.linux.namespaces[2].type = 'bogus';
    expect(validateConfig(c)).toEqual([
      { path: '$.linux.namespaces[2].type', message: 'must be one of: mount, pid, network, uts, ipc, user, cgroup, time (got "bogus")' },
    ]);
  });

  it('give integer bounds, once per value', () => {
    const c = config();
    c.process.user.uid = -1.5;
    c.process.rlimits[0].hard = -1;
    c.linux.resources.memory.limit = 'big';
    c.process.oomScoreAdj = 0.5;
    expect(validateConfig(c)).toEqual([
      { path: '$.process.user.uid', message: 'must be an integer between 0 and 4294967295 (got -1.5)' },
      { path: '$.process.rlimits[0].hard', message: 'must be an integer >= 0 (got -1)' },
      { path: '$.process.oomScoreAdj', message: 'must be an integer (got 0.5)' },
      { path: '$.linux.resources.memory.limit', message: 'must be an integer (got "big")' },
    ]);
  });

  it('say types and patterns in words', () => {
    const c = config();
    c.process.terminal = 'yes';
    c.process.env = 'PATH=/bin';
    c.linux.resources.hugepageLimits = [{ pageSize: '2mb', limit: 1 }];
    c.linux.devices = [{ type: 'x', path: '/dev/x' }];
    expect(validateConfig(c)).toEqual([
      { path: '$.process.terminal', message: 'must be a boolean (true or false) (got "yes")' },
      { path: '$.process.env', message: 'must be an array (got "PATH=/bin")' },
      { path: '$.linux.devices[0].type', message: 'must be one of: c, b, u, p (got "x")' },
      { path: '$.linux.resources.hugepageLimits[0].pageSize', message: 'must be a page size such as 64KB, 2MB or 1GB (got "2mb")' },
    ]);
  });

  it('write odd keys in brackets and tell indexes from numeric keys', () => {
    const c = config();
    c.annotations = { 'com.example/key': 1, '0': 2 };
    c.linux.sysctl = { 'net.core.somaxconn': 3 };
    expect(validateConfig(c).map((p) => p.path)).toEqual([
      '$.annotations["0"]',
      '$.annotations["com.example/key"]',
      '$.linux.sysctl["net.core.somaxconn"]',
    ]);
    expect(jsonPath(['linux', 'namespaces', 2, 'type'])).toBe('$.linux.namespaces[2].type');
    expect(jsonPath([])).toBe('$');
  });

  it('for the document itself', () => {
    expect(validateConfig(null)).toEqual([{ path: '$', message: 'must be an object (got null)' }]);
    expect(validateConfig([])).toEqual([{ path: '$', message: 'must be an object (got an array)' }]);
  });

  it('collapse anyOf/oneOf noise into one message for the path', async () => {
    const { default: Ajv } = await import('ajv');
    const ajv = new Ajv({ allErrors: true, verbose: true });
    const v = ajv.compile({
      type: 'object',
      properties: {
        a: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        b: { oneOf: [{ type: 'string' }, { type: 'object', required: ['x'], properties: { x: { type: 'integer' } } }] },
        c: { anyOf: [{ type: 'string', minLength: 3 }, { type: 'integer', minimum: 5 }] },
      },
    });
    const doc = { a: true, b: { x: 'no' }, c: 1 };
    v(doc);
    expect(problemsFromAjv(v.errors!, doc)).toEqual([
      { path: '$.a', message: 'must be a string or an integer' },
      { path: '$.b.x', message: 'must be an integer (got "no")' },
      { path: '$.c', message: 'does not match any of the allowed forms' },
    ]);
  });
});

describe('the other documents', () => {
  it('state', () => {
    expect(validateState({ ociVersion: '1.3.0', id: 'a', status: 'running', pid: 4422, bundle: '/b', created: 'x', rootfs: '/r' })).toEqual([]);
    expect(validateState({ ociVersion: '1.3.0', id: 'a', status: 'paused', bundle: '/b' })).toEqual([]);
    expect(validateState({ ociVersion: '1.3.0', status: 'gone', bundle: '/b', pid: -1 })).toEqual([
      { path: '$.id', message: 'is required' },
      { path: '$.status', message: 'must be one of: creating, created, running, stopped, paused (got "gone")' },
      { path: '$.pid', message: 'must be an integer >= 0 (got -1)' },
    ]);
  });
  it('features', () => {
    expect(validateFeatures({ ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', linux: { namespaces: ['pid'], capabilities: ['CAP_KILL'] } })).toEqual([]);
    expect(validateFeatures({ ociVersionMin: '1.0.0', linux: { capabilities: ['kill'] } })).toEqual([
      { path: '$.ociVersionMax', message: 'is required' },
      { path: '$.linux.capabilities[0]', message: 'must be a capability name such as CAP_CHOWN (got "kill")' },
    ]);
  });
  it('process (exec --process)', () => {
    expect(validateProcess({ cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } })).toEqual([]);
    expect(validateProcess({ args: 'sh' })).toEqual([
      { path: '$.cwd', message: 'is required' },
      { path: '$.args', message: 'must be an array (got "sh")' },
    ]);
  });
});

/** Bundles an entry that uses validate.ts into one CommonJS file and runs it with node; returns its JSON output. */
async function runBundled(name: string, entry: string, plugins: import('esbuild').Plugin[] = []): Promise<any> {
  const entryFile = path.join(tmp, `${name}.ts`);
  fs.writeFileSync(entryFile, entry);
  const outfile = path.join(tmp, `${name}.js`);
  await build({
    entryPoints: [entryFile],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    external: ['ajv'],
    nodePaths: [path.join(repo, 'node_modules')],
    plugins,
    logLevel: 'silent',
  });
  const out = execFileSync(process.execPath, [outfile], { env: { ...process.env, NODE_PATH: path.join(repo, 'node_modules') } });
  return JSON.parse(out.toString());
}

const docsForComparison = () => {
  const bad = fixture('kitchen-sink.json');
  bad.process.user.uid = -1;
  bad.linux.namespaces[0].type = 'bogus';
  bad.linux.sysctl['a.b'] = 5;
  delete bad.root.path;
  return [fixture('typical.json'), fixture('kitchen-sink.json'), bad, null, { ociVersion: 3 }];
};

const ENTRY = (validatePath: string, docs: unknown[]) => `
import { validateConfig, validateProcess, validateState } from ${JSON.stringify(validatePath)};
const ajvLoaded = () => Object.keys(require.cache).some((k) => /node_modules\\/ajv\\/dist\\/(ajv|core)\\.js$/.test(k));
const before = ajvLoaded();
const docs = ${JSON.stringify(docs)};
const results = docs.map((d) => validateConfig(d));
const state = validateState({ ociVersion: '1.3.0', id: 'x', status: 'nope', bundle: '/b' });
const proc = validateProcess({ cwd: 3, args: ['sh'] });
console.log(JSON.stringify({ before, after: ajvLoaded(), results, state, proc }));
`;

describe('loading', () => {
  it('requires ajv only when a document is first validated', async () => {
    const docs = docsForComparison();
    const r = await runBundled('lazy', ENTRY(path.join(repo, 'src/spec/validate.ts'), docs));
    expect(r.before).toBe(false);
    expect(r.after).toBe(true);
    expect(r.results).toEqual(docs.map((d) => validateConfig(d)));
  });

  it('the precompiled validators (ajv standalone) give the same problems, without ajv', async () => {
    const generated = path.join(tmp, 'validators.js');
    fs.writeFileSync(generated, precompiledValidatorsModule());
    // the wiring scripts/precompile-validators.mjs describes for build.mjs
    const plugin: import('esbuild').Plugin = {
      name: 'precompiled-validators',
      setup(b) {
        b.onResolve({ filter: /^\.\/schemas$/ }, (a) => (a.importer.endsWith(path.join('src', 'spec', 'validate.ts')) ? { path: generated } : undefined));
      },
    };
    const docs = docsForComparison();
    const r = await runBundled('precompiled', ENTRY(path.join(repo, 'src/spec/validate.ts'), docs), [plugin]);
    expect(r.before).toBe(false);
    expect(r.after).toBe(false);
    expect(r.results).toEqual(docs.map((d) => validateConfig(d)));
    expect(r.state).toEqual(validateState({ ociVersion: '1.3.0', id: 'x', status: 'nope', bundle: '/b' }));
    expect(r.proc).toEqual(validateProcess({ cwd: 3, args: ['sh'] }));
    expect(r.proc).toEqual([{ path: '$.cwd', message: 'must be a string (got 3)' }]);
  }, 20_000);
});
