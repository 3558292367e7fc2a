// Small C programs the integration tests need and Node cannot be (a pty
// driver, a console-socket receiver: Node can neither open a pty nor receive
// SCM_RIGHTS). Compiled with gcc on first use into the given directory.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const HELPERS = __dirname;

/** Path of the built helper `name` (test/helpers/<name>.c), compiled into dir. */
export function nativeHelper(name: 'pty-run' | 'console-receiver', dir: string): string {
  const out = path.join(dir, name);
  if (!fs.existsSync(out)) {
    execFileSync('gcc', ['-std=gnu11', '-O1', '-Wall', '-Wextra', '-Werror', '-o', out, path.join(HELPERS, `${name}.c`), '-lutil'], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  return out;
}
