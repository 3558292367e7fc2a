// Bundles src/main.ts into one CommonJS file, build/tsrun.js, next to the
// native init (build/tsrun-init). Heavy modules stay behind lazy require()s.
import { build } from 'esbuild';
import { execSync } from 'node:child_process';

let commit = 'unknown';
try {
  commit = execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout: keep "unknown"
}
const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync('package.json', 'utf8')));

await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'build/tsrun.js',
  external: ['koffi'],
  define: {
    TSRUN_VERSION: JSON.stringify(pkg.version),
    TSRUN_COMMIT: JSON.stringify(commit),
  },
  logLevel: 'warning',
});
