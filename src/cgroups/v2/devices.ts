// v2 devices: the rules become an eBPF program (bpf-program.ts) attached to
// the cgroup; on update the new program is attached before the old one is
// detached (bpf-sys.ts), so there is no moment without a filter.

import { TsrunError } from '../../errors';
import type { DeviceCgroup } from '../../spec/types';
import { field } from '../util';
import { deviceProgramFromRules } from './bpf-program';
import type { BpfSys } from './bpf-sys';

export function applyDevicesV2(dir: string, rules: DeviceCgroup[] | undefined, bpf: BpfSys): void {
  if (!rules) return;
  const insns = deviceProgramFromRules(rules); // validates the rules
  try {
    bpf.replaceDeviceProgram(dir, insns);
  } catch (e) {
    if (e instanceof TsrunError) throw new TsrunError(`${field('devices')}: ${e.message}`, { cause: e });
    throw e;
  }
}
