// Run by Bun (build.mjs starts it): compiles src/main.ts into the shipped
// executable, build/tsrun-bun, which build/tsrun (native/launcher.c) starts.
// ESM with code splitting, so that each command
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
// koffi's loader names a prebuilt library for every platform, and Bun would
// embed all eighteen (25 MB, read at every start); keep this machine's only.
const host = `${process.platform}_${process.arch}`;
const koffiHostOnly = {
  name: 'koffi-host-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]koffi[\\/]index\.js$/ }, async (a) => {
      const src = await Bun.file(a.path).text();
      const contents = src.replace(/require\("\.\/build\/koffi\/([a-z0-9_]+)\/koffi\.node"\)/g, (m, target) =>
        target === host ? m : `(()=>{throw new Error("koffi: no ${target} build in this executable")})()`,
      );
      return { contents, loader: 'js' };
    });
  },
};
const result = await Bun.build({
  entrypoints: [path.join(root, 'src/main.ts')],
  // a runtime must not take settings from the caller's directory: no .env
  // (it would change our environment) and no bunfig.toml
  compile: { outfile, autoloadDotenv: false, autoloadBunfig: false },
  format: 'esm',
  splitting: true,
  bytecode: true,
  minify: true,
  target: 'bun',
  define: { TSRUN_VERSION: JSON.stringify(version), TSRUN_COMMIT: JSON.stringify(commit) },
  plugins: [precompiled, koffiHostOnly],
});
if (!result.success) {
  for (const l of result.logs) console.error(l);
  process.exit(1);
}
