// Writes build/gen/validators.js: the schemas of schemas/ compiled ahead of
// time by ajv's standalone mode (src/spec/precompile.ts). Not wired into the
// build yet. To use it, run this before build.mjs and give esbuild a plugin
// that resolves the `./schemas` import of src/spec/validate.ts to that file:
//
//   { name: 'precompiled-validators', setup(b) {
//       b.onResolve({ filter: /^\.\/schemas$/ }, (a) =>
//         a.importer.endsWith('src/spec/validate.ts') ? { path: path.resolve('build/gen/validators.js') } : undefined);
//   } }
//
// Measured on this host: the first validateConfig() of a typical config takes
// 4-9 ms precompiled, against 150-310 ms when every start requires ajv and
// compiles the schemas (test/unit/validate.test.ts checks both give the same
// problems).
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'build/gen/validators.js');

const bundled = await build({
  entryPoints: [path.join(root, 'src/spec/precompile.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['ajv', 'ajv/*'],
  write: false,
  logLevel: 'warning',
});
const mod = { exports: {} };
const req = createRequire(path.join(root, 'package.json'));
new Function('module', 'exports', 'require', bundled.outputFiles[0].text)(mod, mod.exports, req);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, mod.exports.precompiledValidatorsModule());
console.log(`wrote ${path.relative(root, out)}`);
