// exec --cgroup [CONTROLLER[,CONTROLLER...]:]PATH (runc 1.1): the exec'd
// process joins a sub-cgroup of the container's cgroup instead of the cgroup
// itself. PATH is below the container's cgroup ("/" is the container's own);
// a PATH without controllers applies to every hierarchy, one with
// controllers to those (cgroup v1); the flag may be repeated. The sub-cgroup
// must exist already: runc does not make it either. Pure: the caller checks
// that the directories exist.
import { TsrunError } from '../errors';

function subPath(flag: string, p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) throw new TsrunError(`--cgroup ${flag}: the path may not leave the container's cgroup ("..")`);
  if (p.includes('\0')) throw new TsrunError(`--cgroup ${flag}: the path holds a NUL byte`);
  return parts.join('/');
}

/** The container's cgroup paths (controller to directory) with each given sub-cgroup below its directory. */
export function subCgroupPaths(paths: Record<string, string>, flags: string[]): Record<string, string> {
  if (flags.length === 0) return paths;
  const keys = Object.keys(paths);
  if (keys.length === 0) throw new TsrunError('--cgroup: the container has no cgroup');
  const v2 = keys.length === 1 && keys[0] === 'unified';
  let all: string | undefined;
  const byController = new Map<string, string>();
  for (const flag of flags) {
    const colon = flag.lastIndexOf(':');
    if (colon < 0) {
      if (all !== undefined) throw new TsrunError(`--cgroup ${flag}: a path for every controller was given twice`);
      all = subPath(flag, flag);
      continue;
    }
    if (v2) throw new TsrunError(`--cgroup ${flag}: cgroup v2 has a single hierarchy; give the path without controllers`);
    const sub = subPath(flag, flag.slice(colon + 1));
    for (const c of flag.slice(0, colon).split(',')) {
      if (c === '' || !(c in paths)) {
        throw new TsrunError(`--cgroup ${flag}: the container has no "${c}" cgroup (it has ${keys.join(', ')})`);
      }
      if (byController.has(c)) throw new TsrunError(`--cgroup ${flag}: controller "${c}" was given twice`);
      byController.set(c, sub);
    }
  }
  const out: Record<string, string> = {};
  for (const [k, dir] of Object.entries(paths)) {
    const sub = byController.get(k) ?? all ?? '';
    out[k] = sub === '' ? dir : `${dir}/${sub}`;
  }
  return out;
}
