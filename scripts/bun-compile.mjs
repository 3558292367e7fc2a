// Run by Bun (build.mjs starts it): compiles src/main.ts into the shipped
// executable, build/tsrun. ESM with code splitting, so that each command
// loads only its own modules (the lazy require()s of src/main.ts become
// chunks), and bytecode, so that nothing is parsed at start-up. The JSON
// schemas come precompiled (build/gen/validators.js), as in the Node bundle.
import * as path from 'node:path';

const [outfile, version, commit] = process.argv.slice(2);
const root = path.resolve(import.meta.dir, '..');
const precompiled = {
  name: 'precompiled-validators',
  setup(b) {
    b.onResolve({ filter: /^\.\/schemas$/ }, (a) =>
      a.importer.endsWith(path.join('src', 'spec', 'validate.ts')) ? { path: path.join(root, 'build/gen/validators.js') } : undefined,
    );
  },
};
const result = await Bun.build({
  entrypoints: [path.join(root, 'src/main.ts')],
  compile: { outfile },
  format: 'esm',
  splitting: true,
  bytecode: true,
  minify: true,
  target: 'bun',
  define: { TSRUN_VERSION: JSON.stringify(version), TSRUN_COMMIT: JSON.stringify(commit) },
  plugins: [precompiled],
});
if (!result.success) {
  for (const l of result.logs) console.error(l);
  process.exit(1);
}
