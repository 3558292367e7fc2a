// rdma (same file on v1 and v2): rdma.max, one "device hca_handle=N hca_object=M" line per device.

import type { Resources } from '../../spec/types';
import { CtlCtx, cgWrite, field } from '../util';

export function rdmaLine(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string {
  let s = dev;
  if (l.hcaHandles !== undefined) s += ` hca_handle=${l.hcaHandles}`;
  if (l.hcaObjects !== undefined) s += ` hca_object=${l.hcaObjects}`;
  return s;
}

export function applyRdma(c: CtlCtx, rdma: Resources['rdma']): void {
  for (const [dev, l] of Object.entries(rdma ?? {})) {
    if (l.hcaHandles === undefined && l.hcaObjects === undefined) continue;
    cgWrite(c.fs, c.dir, 'rdma.max', rdmaLine(dev, l), field(`rdma.${dev}`));
  }
}
