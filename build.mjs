// Bundles src/main.ts into one CommonJS file, build/tsrun.js, next to the
// native init (build/tsrun-init). Heavy modules stay behind lazy require()s.
import { build } from 'esbuild';
import { execSync } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';

// ajv compiles the schemas ahead of time (standalone code): validating a
// config then costs a few ms instead of loading ajv and compiling (150+ ms).
execSync('node scripts/precompile-validators.mjs', { stdio: ['ignore', 'ignore', 'inherit'] });
const precompiled = {
  name: 'precompiled-validators',
  setup(b) {
    b.onResolve({ filter: /^\.\/schemas$/ }, (a) =>
      a.importer.endsWith(path.join('src', 'spec', 'validate.ts')) ? { path: path.resolve('build/gen/validators.js') } : undefined,
    );
  },
};

let commit = 'unknown';
try {
  commit = execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout: keep "unknown"
}
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));

await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'build/tsrun.js',
  external: ['koffi'],
  plugins: [precompiled],
  define: {
    TSRUN_VERSION: JSON.stringify(pkg.version),
    TSRUN_COMMIT: JSON.stringify(commit),
  },
  logLevel: 'warning',
});

// The shipped executable: compiled by Bun into one file (scripts/bun-compile.mjs:
// ESM chunks per command, with their bytecode), which starts in a few ms where
// Node needs 25-60 (bench/ measures both). build/tsrun is then the small
// libc-free launcher (native/launcher.c, built by the Makefile) that starts it
// with JavaScriptCore's JIT off. TSRUN_ENGINE=node ships a Node launcher of the
// bundle as build/tsrun instead, and no tsrun-bun.
const out = 'build/tsrun';
const bunOut = 'build/tsrun-bun';
fs.rmSync(bunOut, { force: true });
if (process.env.TSRUN_ENGINE === 'node') {
  fs.rmSync(out, { force: true });
  fs.writeFileSync(out, "#!/usr/bin/env node\nrequire('./tsrun.js');\n", { mode: 0o755 });
} else {
  const candidates = ['node_modules/bun/bin/bun.exe', 'node_modules/@oven/bun-linux-x64/bin/bun'];
  const bun = candidates.find((c) => fs.existsSync(c));
  if (!bun) throw new Error(`bun not found in ${candidates.join(' or ')}: run npm ci`);
  execSync(`${bun} scripts/bun-compile.mjs ${bunOut} ${JSON.stringify(pkg.version)} ${commit}`, { stdio: ['ignore', 'ignore', 'inherit'] });
}
