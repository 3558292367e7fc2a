// loadBundle() and checkBundle(): reading BUNDLE/config.json, the error
// messages, and the corpus of bad bundles in test/fixtures/bad-bundles.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors';
import { describeJsonError, locateSyntaxError, parseJson } from '../../src/spec/json';
import { checkBundle, loadBundle } from '../../src/spec/load';

let tmp: string;
beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-load-')));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

let counter = 0;
/** A bundle with a rootfs/ and the given config (an object, or raw text). */
function bundle(config: unknown, opts: { rootfs?: boolean } = {}): string {
  const dir = path.join(tmp, `b${++counter}`);
  fs.mkdirSync(dir);
  if (opts.rootfs !== false) fs.mkdirSync(path.join(dir, 'rootfs'));
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return dir;
}

function good(): Record<string, any> {
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
  };
}

function loadError(dir: string, requireProcess = true): TsrunError {
  try {
    loadBundle(dir, { requireProcess });
  } catch (e) {
    expect(e).toBeInstanceOf(TsrunError);
    return e as TsrunError;
  }
  throw new Error('loadBundle did not throw');
}

describe('loadBundle', () => {
  it('returns the spec, the real bundle path and the real rootfs path', () => {
    const dir = bundle(good());
    const link = path.join(tmp, `link${counter}`);
    fs.symlinkSync(dir, link);
    const r = loadBundle(link, { requireProcess: true });
    expect(r.bundle).toBe(dir);
    expect(r.rootfs).toBe(path.join(dir, 'rootfs'));
    expect(r.spec.process?.args).toEqual(['sh']);
    expect(r.warnings).toEqual([]);
  });

  it('resolves a relative bundle and an absolute or symlinked rootfs', () => {
    const other = bundle(undefined);
    const cfg = good();
    cfg.root.path = path.join(other, 'rootfs');
    const dir = bundle(cfg);
    fs.symlinkSync(path.join(other, 'rootfs'), path.join(dir, 'rootlink'));
    const rel = path.relative(process.cwd(), dir);
    expect(loadBundle(rel, { requireProcess: true }).rootfs).toBe(path.join(other, 'rootfs'));
    cfg.root.path = 'rootlink';
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    expect(loadBundle(dir, { requireProcess: true }).rootfs).toBe(path.join(other, 'rootfs'));
  });

  it('a missing config.json: open BUNDLE/config.json: no such file or directory', () => {
    const dir = bundle(undefined);
    expect(loadError(dir).message).toBe(`open ${dir}/config.json: no such file or directory`);
    const missing = path.join(tmp, 'no-such-bundle');
    expect(loadError(missing).message).toBe(`open ${missing}/config.json: no such file or directory`);
  });

  it('invalid JSON: the line and column of the fault', () => {
    const dir = bundle('{\n  "ociVersion": "1.3.0",\n  "root": {"path": "rootfs"}\n  "process": {}\n}\n');
    expect(loadError(dir).message).toBe(
      `invalid JSON in ${dir}/config.json at line 4, column 3: unexpected '"', expected ',' or '}' after a property value`,
    );
  });

  it('problems: the first in the message, all in the details', () => {
    const cfg = good();
    cfg.process.cwd = 'tmp';
    cfg.linux.namespaces.push({ type: 'pid' });
    cfg.process.terminal = 'yes';
    const dir = bundle(cfg);
    const e = loadError(dir);
    expect(e.message).toBe(`invalid configuration ${dir}/config.json: $.process.terminal: must be a boolean (true or false) (got "yes") (and 2 more problems)`);
    expect(e.details).toEqual([
      '$.process.terminal: must be a boolean (true or false) (got "yes")',
      '$.process.cwd: must be an absolute path (got "tmp")',
      '$.linux.namespaces[2].type: duplicate namespace type "pid" (first at $.linux.namespaces[0])',
    ]);
    expect(e.exitCode).toBe(1);
  });

  it('one problem: no "(and N more)"', () => {
    const cfg = good();
    delete cfg.process;
    const dir = bundle(cfg);
    expect(loadError(dir).message).toBe(`invalid configuration ${dir}/config.json: $.process: is required to start a container`);
    expect(loadBundle(dir, { requireProcess: false }).spec.process).toBeUndefined();
  });

  it('passes warnings back', () => {
    const cfg = good();
    cfg.linux.devices = [
      { type: 'c', path: '/dev/a', major: 1, minor: 3 },
      { type: 'c', path: '/dev/b', major: 1, minor: 3 },
    ];
    const r = loadBundle(bundle(cfg), { requireProcess: true });
    expect(r.warnings).toEqual([expect.stringMatching(/^\$\.linux\.devices\[1\]: has the same type, major and minor/)]);
  });
});

describe('checkBundle', () => {
  it('lists every problem, file and JSON errors at $', () => {
    const none = bundle(undefined);
    expect(checkBundle(none)).toEqual([{ path: '$', message: `open ${none}/config.json: no such file or directory` }]);
    expect(checkBundle(bundle('{'))).toEqual([{ path: '$', message: expect.stringMatching(/^invalid JSON at line 1, column 2: unexpected end of input/) }]);
    const cfg = good();
    cfg.process.cwd = 'x';
    cfg.root.path = 'nope';
    const dir = bundle(cfg);
    expect(checkBundle(dir)).toEqual([
      { path: '$.root.path', message: `no such directory: ${dir}/nope` },
      { path: '$.process.cwd', message: 'must be an absolute path (got "x")' },
    ]);
    expect(checkBundle(bundle(good()))).toEqual([]);
  });
});

describe('parseJson', () => {
  it('parses valid JSON as JSON.parse does', () => {
    expect(parseJson('{"a":[1,2,{"b":null}]}')).toEqual({ ok: true, value: { a: [1, 2, { b: null }] } });
  });
  const cases: [string, number, number, string][] = [
    ['', 1, 1, 'unexpected end of input, expected a value'],
    ['{]', 1, 2, `unexpected ']', expected a property name in double quotes`],
    ['{"a":1,}', 1, 8, `unexpected '}', expected a property name in double quotes`],
    ['{"a" 1}', 1, 6, `unexpected '1', expected ':' after a property name`],
    ['[1 2]', 1, 4, `unexpected '2', expected ',' or ']' after an array element`],
    ['{"a":\n  tru}', 2, 6, `unexpected '}', expected 'true'`],
    ['{"a": "x\ny"}', 1, 9, 'control character U+000A in a string (write it escaped)'],
    ['{"a": "\\q"}', 1, 8, 'bad escape \\q in a string'],
    ['{"a": 01}', 1, 8, 'invalid number "01"'],
    ['{"a": -}', 1, 7, `unexpected '-', expected a number`],
    ['{"a": 1} x', 1, 10, `unexpected 'x', expected the end of the document`],
    ['\ufeff{}', 1, 1, 'unexpected character U+FEFF, expected a value'],
    ["{'a': 1}", 1, 2, `unexpected ''', expected a property name in double quotes`],
    ['{"a": NaN}', 1, 7, `unexpected 'N', expected a value`],
  ];
  for (const [text, line, column, message] of cases) {
    it(`locates the fault in ${JSON.stringify(text)}`, () => {
      expect(parseJson(text)).toEqual({ ok: false, line, column, message });
    });
  }
  it('finds no fault where JSON.parse finds none', () => {
    for (const t of ['{}', '[]', '0', '-0.5e+3', '"\\u00e9\\n"', ' { "a" : [ true , false , null ] } ', '1E5', '"\u2028"']) {
      expect(() => JSON.parse(t)).not.toThrow();
      expect(locateSyntaxError(t)).toBeUndefined();
    }
  });
  it('describes a fault', () => {
    expect(describeJsonError({ line: 2, column: 3, message: 'x' })).toBe('invalid JSON at line 2, column 3: x');
  });
});

describe('the bad-bundle corpus (test/fixtures/bad-bundles)', () => {
  const corpus = path.resolve(__dirname, '../fixtures/bad-bundles');
  const cases = fs
    .readdirSync(corpus, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const name of cases) {
    it(`${name}: refused, the message contains expect.txt`, () => {
      const dir = path.join(corpus, name);
      const expected = fs.readFileSync(path.join(dir, 'expect.txt'), 'utf8').trim();
      expect(expected).not.toBe('');
      const e = loadError(dir);
      expect(e.message).toContain(expected);
      // the case breaks one rule, so `tsrun check` lists it first, and alone
      const problems = checkBundle(dir);
      expect(problems.length).toBe(1);
      expect(`${problems[0].path}: ${problems[0].message}`).toContain(expected.replace(/^invalid JSON in$/, 'invalid JSON'));
    });
  }
});
