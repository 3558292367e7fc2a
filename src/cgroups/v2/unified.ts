// linux.resources.unified: v2 "file": "content" pairs, written verbatim, last
// (so they win over the same setting derived from other fields). The file's
// controller (the part before the first dot) must be available in the cgroup.

import { TsrunError } from '../../errors';
import { CtlCtx, cannotApply, cgWrite, field } from '../util';

export function applyUnified(c: CtlCtx, unified: Record<string, string> | undefined, controllers: string[]): void {
  for (const [key, value] of Object.entries(unified ?? {})) {
    const name = field(`unified[${JSON.stringify(key)}]`);
    if (key === '' || key.includes('/') || key === '.' || key === '..') {
      throw new TsrunError(`${name}: invalid cgroup file name`);
    }
    const ctrl = key.split('.')[0];
    if (ctrl !== 'cgroup' && !controllers.includes(ctrl)) {
      throw cannotApply(name, `controller ${ctrl} is not available in ${c.dir} (cgroup.controllers: ${controllers.join(' ') || 'none'})`);
    }
    cgWrite(c.fs, c.dir, key, value, name);
  }
}
