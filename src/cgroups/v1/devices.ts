// v1 devices: on create, devices.deny "a", then each rule in the config's
// order to devices.allow or devices.deny (the runtime appends runc's default
// allow list, see device-rules.ts). On update, only the differences are
// written (from devices.list to the new rules), so running processes keep the
// access they keep. Either way the result is checked against devices.list.

import { TsrunError } from '../../errors';
import type { DeviceCgroup } from '../../spec/types';
import { DeviceEmulator, normalizeRules, ruleString } from '../device-rules';
import { CtlCtx, cgWrite, field, readTrim } from '../util';

export function applyDevices(c: CtlCtx, rules: DeviceCgroup[] | undefined): void {
  if (!rules) return;
  const normalized = normalizeRules(rules);
  const target = DeviceEmulator.fromRules(normalized); // validates: throws on rules v1 cannot express
  if (c.update) {
    const current = DeviceEmulator.fromList(readTrim(c.fs, `${c.dir}/devices.list`));
    for (const w of current.transition(target)) cgWrite(c.fs, c.dir, w.file, w.value, field('devices'));
  } else {
    cgWrite(c.fs, c.dir, 'devices.deny', 'a', field('devices'));
    normalized.forEach((r, i) => {
      const value = r.type === 'a' ? 'a' : ruleString(r);
      cgWrite(c.fs, c.dir, r.allow ? 'devices.allow' : 'devices.deny', value, field(`devices[${i}]`));
    });
  }
  // devices.list shows the exceptions of an allow-list only; check those.
  if (!target.defaultAllow) {
    const after = DeviceEmulator.fromList(readTrim(c.fs, `${c.dir}/devices.list`));
    if (!after.equals(target)) {
      throw new TsrunError(
        `${field('devices')}: the cgroup's device list does not match the rules: ${c.dir}/devices.list has ` +
          `${JSON.stringify(after.list().map(ruleString))}, expected ${JSON.stringify(target.list().map(ruleString))}`,
      );
    }
  }
}
