// v1 net_cls (classID -> net_cls.classid) and net_prio (priorities ->
// net_prio.ifpriomap, one "ifname prio" write each). cgroup v2 has neither.

import type { Resources } from '../../spec/types';
import { CtlCtx, cgWrite, field } from '../util';

export function applyNetCls(c: CtlCtx, net: Resources['network']): void {
  if (net?.classID === undefined) return;
  cgWrite(c.fs, c.dir, 'net_cls.classid', String(net.classID), field('network.classID'));
}

export function applyNetPrio(c: CtlCtx, net: Resources['network']): void {
  (net?.priorities ?? []).forEach((p, i) => {
    cgWrite(c.fs, c.dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`, field(`network.priorities[${i}]`));
  });
}
