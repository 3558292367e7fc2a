// Device cgroup rules shared by the v1 (devices.allow/deny) and v2 (eBPF)
// drivers: validation, runc's default allow list, and an emulator of the v1
// kernel's semantics (a default policy plus an exceptions list), which the v2
// program generator and v1 `update` both use.

import { TsrunError } from '../errors';
import type { DeviceCgroup } from '../spec/types';

export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
export const ACC_ALL = 7;

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  /** -1 is the wildcard "*". */
  major: number;
  minor: number;
  /** Bit set of ACC_*. */
  access: number;
}

/**
 * runc 1.1.5's default device allow list (specconv.AllowedDevices). runc
 * *appends* these after linux.resources.devices, so a spec rule cannot deny
 * them; an entry whose `path` appears in linux.devices is dropped (the spec's
 * device wins). Use withDefaultDeviceRules() to merge them the same way.
 */
export const RUNC_DEFAULT_DEVICE_RULES: ReadonlyArray<DeviceCgroup & { path?: string }> = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm', path: '/dev/null' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm', path: '/dev/random' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm', path: '/dev/full' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm', path: '/dev/tty' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm', path: '/dev/zero' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm', path: '/dev/urandom' },
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // tun/tap
];

/** The rule list runc 1.1.5 gives the cgroup: the spec's rules, then the defaults. */
export function withDefaultDeviceRules(
  rules: DeviceCgroup[] | undefined,
  linuxDevices: { path: string }[] = [],
): DeviceCgroup[] {
  const specPaths = new Set(linuxDevices.map((d) => d.path));
  const defaults = RUNC_DEFAULT_DEVICE_RULES.filter((d) => !d.path || !specPaths.has(d.path)).map(
    ({ path: _path, ...rule }) => rule,
  );
  return [...(rules ?? []), ...defaults];
}

export function parseAccess(access: string | undefined, where: string): number {
  if (access === undefined || access === '') return ACC_ALL;
  let bits = 0;
  for (const ch of access) {
    if (ch === 'r') bits |= ACC_READ;
    else if (ch === 'w') bits |= ACC_WRITE;
    else if (ch === 'm') bits |= ACC_MKNOD;
    else throw new TsrunError(`${where}.access: invalid device access ${JSON.stringify(access)} (a combination of r, w, m)`);
  }
  return bits;
}

export function accessString(bits: number): string {
  return (bits & ACC_READ ? 'r' : '') + (bits & ACC_WRITE ? 'w' : '') + (bits & ACC_MKNOD ? 'm' : '');
}

/** Validate the spec's rules and give them one shape. A missing access means "rwm". */
export function normalizeRules(rules: DeviceCgroup[], base = '$.linux.resources.devices'): DeviceRule[] {
  return rules.map((d, i) => {
    const where = `${base}[${i}]`;
    const type = d.type === undefined || d.type === '' ? 'a' : d.type;
    if (type !== 'a' && type !== 'b' && type !== 'c') {
      throw new TsrunError(`${where}.type: invalid device type ${JSON.stringify(d.type)} (a, b or c)`);
    }
    const num = (v: number | undefined, name: string): number => {
      if (v === undefined || v === -1) return -1;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TsrunError(`${where}.${name}: invalid value ${v}`);
      return v;
    };
    return { allow: !!d.allow, type, major: num(d.major, 'major'), minor: num(d.minor, 'minor'), access: parseAccess(d.access, where) };
  });
}

/** The string devices.allow/deny take: "c 1:3 rwm", "a *:* rwm". */
export function ruleString(r: { type: string; major: number; minor: number; access: number }): string {
  const n = (v: number) => (v < 0 ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${accessString(r.access)}`;
}

interface Exception {
  type: 'b' | 'c';
  major: number;
  minor: number;
  access: number;
}

const keyOf = (t: string, ma: number, mi: number) => `${t} ${ma}:${mi}`;

/** The v1 devices controller's state: a default policy and exceptions to it. */
export class DeviceEmulator {
  defaultAllow = false;
  readonly exceptions = new Map<string, Exception>();

  static fromRules(rules: DeviceRule[], base = '$.linux.resources.devices'): DeviceEmulator {
    const e = new DeviceEmulator();
    rules.forEach((r, i) => e.apply(r, `${base}[${i}]`));
    return e;
  }

  /** Parse devices.list: "a *:* rwm" alone means allow-all; otherwise allowed exceptions. */
  static fromList(text: string): DeviceEmulator {
    const e = new DeviceEmulator();
    for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line);
      if (!m) throw new TsrunError(`devices.list: cannot parse ${JSON.stringify(line)}`);
      if (m[1] === 'a') {
        e.defaultAllow = true;
        e.exceptions.clear();
        continue;
      }
      const n = (s: string) => (s === '*' ? -1 : Number(s));
      e.add({ type: m[1] as 'b' | 'c', major: n(m[2]), minor: n(m[3]), access: parseAccess(m[4], 'devices.list') });
    }
    return e;
  }

  apply(r: DeviceRule, where: string): void {
    if (r.type === 'a') {
      // The kernel ignores major, minor and access for "a": it resets.
      this.defaultAllow = r.allow;
      this.exceptions.clear();
      return;
    }
    const ex: Exception = { type: r.type, major: r.major, minor: r.minor, access: r.access };
    if (r.allow === this.defaultAllow) this.remove(ex, r.allow, where);
    else this.add(ex);
  }

  private add(ex: Exception): void {
    const k = keyOf(ex.type, ex.major, ex.minor);
    const cur = this.exceptions.get(k);
    this.exceptions.set(k, { ...ex, access: (cur?.access ?? 0) | ex.access });
  }

  private remove(ex: Exception, allow: boolean, where: string): void {
    // The kernel removes only an exception with exactly this type:major:minor;
    // a wider exception would still cover the device, so the rule would not
    // do what it says. runc refuses it too.
    for (const [ma, mi] of [[-1, ex.minor], [ex.major, -1], [-1, -1]]) {
      if (ma === ex.major && mi === ex.minor) continue;
      const wide = this.exceptions.get(keyOf(ex.type, ma, mi));
      if (wide && wide.access & ex.access) {
        throw new TsrunError(
          `${where}: cannot ${allow ? 'allow' : 'deny'} ${ruleString(ex)}: cgroup v1 cannot punch a hole in the wider rule ${ruleString(wide)}`,
        );
      }
    }
    const k = keyOf(ex.type, ex.major, ex.minor);
    const cur = this.exceptions.get(k);
    if (!cur) return;
    const left = cur.access & ~ex.access;
    if (left === 0) this.exceptions.delete(k);
    else this.exceptions.set(k, { ...cur, access: left });
  }

  /** Exceptions in a stable order. */
  list(): Exception[] {
    return [...this.exceptions.values()].sort((a, b) => a.type.localeCompare(b.type) || a.major - b.major || a.minor - b.minor);
  }

  /**
   * The devices.allow/deny writes that take a cgroup from this state to
   * `target`. Between two allow-lists it only adds and removes exceptions
   * (allows first), so running processes never lose access they keep.
   */
  transition(target: DeviceEmulator): { file: 'devices.allow' | 'devices.deny'; value: string }[] {
    const w: { file: 'devices.allow' | 'devices.deny'; value: string }[] = [];
    const allow = (ex: Exception, access: number) => w.push({ file: 'devices.allow', value: ruleString({ ...ex, access }) });
    const deny = (ex: Exception, access: number) => w.push({ file: 'devices.deny', value: ruleString({ ...ex, access }) });
    if (this.defaultAllow || target.defaultAllow) {
      // An allow-all cgroup does not show its deny exceptions: start over.
      w.push({ file: target.defaultAllow ? 'devices.allow' : 'devices.deny', value: 'a' });
      for (const ex of target.list()) (target.defaultAllow ? deny : allow)(ex, ex.access);
      return w;
    }
    const removals: (() => void)[] = [];
    for (const ex of target.list()) {
      const cur = this.exceptions.get(keyOf(ex.type, ex.major, ex.minor));
      const add = ex.access & ~(cur?.access ?? 0);
      if (add) allow(ex, add);
    }
    for (const cur of this.list()) {
      const tgt = target.exceptions.get(keyOf(cur.type, cur.major, cur.minor));
      const drop = cur.access & ~(tgt?.access ?? 0);
      if (drop) removals.push(() => deny(cur, drop));
    }
    removals.forEach((f) => f());
    return w;
  }

  equals(o: DeviceEmulator): boolean {
    if (this.defaultAllow !== o.defaultAllow || this.exceptions.size !== o.exceptions.size) return false;
    for (const [k, v] of this.exceptions) if (o.exceptions.get(k)?.access !== v.access) return false;
    return true;
  }
}
