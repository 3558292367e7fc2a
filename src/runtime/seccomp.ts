// The seccomp compiler the planner gets: libseccomp through the on-disk
// cache under the state root. Required lazily: most containers of a given
// engine share one profile, and a cache hit loads neither koffi nor this
// module's dependencies until a config actually has a seccomp section.
import * as path from 'node:path';
import type { SeccompCompiler } from '../plan/linux';
import { log } from '../log/logger';

export function seccompCompiler(root: string): SeccompCompiler {
  return (s) => {
    const { compileSeccomp } = require('../seccomp/compile') as typeof import('../seccomp/compile');
    const compiled = compileSeccomp(s, { cacheDir: path.join(root, '.seccomp-cache') });
    for (const w of compiled.warnings) log.debug(w);
    return compiled;
  };
}
