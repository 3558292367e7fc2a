// Whether a container's cgroup is frozen, from the paths its `create` saved,
// without loading the cgroup drivers: `state`, `start`, `kill` and `exec`
// ask this of every live container.
import { realFs, type CgroupFs } from './fs';
import { isFrozenV1 } from './v1/freezer';
import { isFrozenV2 } from './v2/freezer';

/** paths as in CgroupManager.paths: v1 controllers (and "unified" on hybrid hosts), or only "unified" on v2. */
export function isFrozenAt(paths: Record<string, string>, fs: CgroupFs = realFs): boolean {
  const v1 = Object.keys(paths).some((k) => k !== 'unified');
  if (v1) return paths.freezer ? isFrozenV1(fs, paths.freezer) : false;
  return paths.unified ? isFrozenV2(fs, paths.unified) : false;
}
