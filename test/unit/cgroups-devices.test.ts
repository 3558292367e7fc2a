import { describe, expect, it } from 'vitest';
import {
  ACC_ALL, ACC_MKNOD, ACC_READ, ACC_WRITE, DeviceEmulator, RUNC_DEFAULT_DEVICE_RULES, normalizeRules, ruleString, withDefaultDeviceRules,
} from '../../src/cgroups/device-rules';
import type { DeviceCgroup } from '../../src/spec/types';
import { OP, deviceProgram, deviceProgramFromRules, encode } from '../../src/cgroups/v2/bpf-program';
import { decode, disassemble, runDeviceProgram } from '../helpers/device-bpf';

const emu = (rules: DeviceCgroup[]) => DeviceEmulator.fromRules(normalizeRules(rules));

describe('device rules', () => {
  it('runc default list: appended after the spec rules, minus devices the spec itself lists', () => {
    const merged = withDefaultDeviceRules([{ allow: false, access: 'rwm' }], [{ path: '/dev/null' }]);
    expect(merged[0]).toEqual({ allow: false, access: 'rwm' });
    expect(merged.slice(1).map((r) => ruleString(normalizeRules([r])[0]))).toEqual([
      'c *:* m', 'b *:* m', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm',
    ]);
    expect(RUNC_DEFAULT_DEVICE_RULES).toHaveLength(11);
  });

  it('validates type and access, and names the rule', () => {
    expect(() => normalizeRules([{ allow: true, type: 'x' }])).toThrow('linux.resources.devices[0].type: invalid device type "x" (a, b or c)');
    expect(() => normalizeRules([{ allow: true, type: 'c', access: 'rwx' }])).toThrow('linux.resources.devices[0].access: invalid device access "rwx"');
    expect(normalizeRules([{ allow: true }])[0]).toEqual({ allow: true, type: 'a', major: -1, minor: -1, access: ACC_ALL });
  });

  it('emulates v1: "a" resets, same-device exceptions merge, denies subtract exact matches', () => {
    const e = emu([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'w' },
      { allow: true, type: 'b', major: 8, access: 'rwm' },
      { allow: false, type: 'b', major: 8, access: 'm' },
      { allow: true, type: 'c', major: 4, minor: 1, access: 'rwm' },
      { allow: false, type: 'c', major: 4, minor: 1, access: 'rwm' },
    ]);
    expect(e.defaultAllow).toBe(false);
    expect(e.list().map(ruleString)).toEqual(['b 8:* rw', 'c 1:3 rw']);
    expect(emu([{ allow: true, type: 'c', major: 1, minor: 1, access: 'r' }, { allow: true, access: 'rwm' }]).defaultAllow).toBe(true);
    expect(emu([{ allow: true, type: 'c', major: 1, minor: 1, access: 'r' }, { allow: true, access: 'rwm' }]).list()).toEqual([]);
  });

  it('refuses to punch holes (v1 would silently keep the wider rule)', () => {
    expect(() => emu([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', access: 'w' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }])).toThrow(
      'linux.resources.devices[2]: cannot allow c 1:3 w: cgroup v1 cannot punch a hole in the wider rule c *:* w',
    );
  });

  it('parses devices.list and plans a minimal transition', () => {
    const cur = DeviceEmulator.fromList('c 1:3 rwm\nc 1:5 rwm\nb 8:* r\n');
    const tgt = emu([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: true, type: 'b', major: 8, access: 'rw' }]);
    expect(cur.transition(tgt)).toEqual([
      { file: 'devices.allow', value: 'b 8:* w' },
      { file: 'devices.deny', value: 'c 1:3 m' },
      { file: 'devices.deny', value: 'c 1:5 rwm' },
    ]);
    // To or from allow-all: start over.
    const all = DeviceEmulator.fromList('a *:* rwm\n');
    expect(all.defaultAllow).toBe(true);
    expect(all.transition(tgt)[0]).toEqual({ file: 'devices.deny', value: 'a' });
    expect(cur.transition(emu([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 9, access: 'w' }]))).toEqual([
      { file: 'devices.allow', value: 'a' },
      { file: 'devices.deny', value: 'c 1:9 w' },
    ]);
  });
});

describe('v2 device program', () => {
  const SAMPLE: DeviceCgroup[] = [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 136, access: 'rw' },
    { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
  ];

  it('encodes the sample rule list as expected', () => {
    const bytes = deviceProgramFromRules(SAMPLE);
    expect(bytes.length % 8).toBe(0);
    const prog = decode(bytes);
    expect(disassemble(prog)).toEqual([
      'r2 = *(u32 *)(r1 + 0)',
      'w2 &= 65535',
      'r3 = *(u32 *)(r1 + 0)',
      'w3 >>= 16',
      'r4 = *(u32 *)(r1 + 4)',
      'r5 = *(u32 *)(r1 + 8)',
      // b 8:0 r: type, access subset, major, minor
      'if r2 != 1 goto +7 (-> 14)',
      'w1 = w3',
      'w1 &= 5',
      'if r1 != 0 goto +4 (-> 14)',
      'if r4 != 8 goto +3 (-> 14)',
      'if r5 != 0 goto +2 (-> 14)',
      'w0 = 1',
      'exit',
      // c 1:3 rwm: no access check needed
      'if r2 != 2 goto +4 (-> 19)',
      'if r4 != 1 goto +3 (-> 19)',
      'if r5 != 3 goto +2 (-> 19)',
      'w0 = 1',
      'exit',
      // c 136:* rw
      'if r2 != 2 goto +6 (-> 26)',
      'w1 = w3',
      'w1 &= 1',
      'if r1 != 0 goto +3 (-> 26)',
      'if r4 != 136 goto +2 (-> 26)',
      'w0 = 1',
      'exit',
      // default deny
      'w0 = 0',
      'exit',
    ].filter((l) => !l.startsWith('//')));
    // struct bpf_insn bytes: code, dst | src << 4, off (le16), imm (le32)
    expect([...bytes.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    expect([...bytes.subarray(8, 16)]).toEqual([0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]);
    expect([...bytes.subarray(bytes.length - 8)]).toEqual([0x95, 0, 0, 0, 0, 0, 0, 0]);
    expect(encode(prog).equals(bytes)).toBe(true);
  });

  it('enforces the sample rules', () => {
    const p = decode(deviceProgramFromRules(SAMPLE));
    expect(runDeviceProgram(p, 'c', 1, 3, ACC_READ | ACC_WRITE)).toBe(true);
    expect(runDeviceProgram(p, 'c', 1, 3, ACC_MKNOD)).toBe(true);
    expect(runDeviceProgram(p, 'c', 1, 5, ACC_READ)).toBe(false);
    expect(runDeviceProgram(p, 'c', 136, 7, ACC_READ | ACC_WRITE)).toBe(true);
    expect(runDeviceProgram(p, 'c', 136, 7, ACC_MKNOD)).toBe(false);
    expect(runDeviceProgram(p, 'b', 8, 0, ACC_READ)).toBe(true);
    expect(runDeviceProgram(p, 'b', 8, 0, ACC_READ | ACC_WRITE)).toBe(false);
    expect(runDeviceProgram(p, 'b', 8, 1, ACC_READ)).toBe(false);
  });

  it('an allow-all base with deny exceptions denies on any overlapping bit', () => {
    const p = deviceProgram(emu([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }]));
    expect(disassemble(p).slice(-2)).toEqual(['w0 = 1', 'exit']);
    expect(p.some((i) => i.code === OP.JEQ_K)).toBe(true);
    expect(runDeviceProgram(p, 'c', 1, 3, ACC_READ)).toBe(true);
    expect(runDeviceProgram(p, 'c', 1, 3, ACC_READ | ACC_WRITE)).toBe(false);
    expect(runDeviceProgram(p, 'b', 1, 3, ACC_WRITE)).toBe(true);
  });

  it('uses 32-bit compares for numbers above 2^31-1', () => {
    const p = deviceProgram(emu([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 0xfffffff0, minor: 1, access: 'rwm' }]));
    expect(p.find((i) => i.code === OP.JNE32_K)?.imm).toBe(0xfffffff0 | 0);
    expect(runDeviceProgram(p, 'c', 0xfffffff0, 1, ACC_READ)).toBe(true);
    expect(runDeviceProgram(p, 'c', 0x7ffffff0, 1, ACC_READ)).toBe(false);
  });

  it('agrees with the v1 semantics on random rule lists', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: T[]) => xs[rnd(xs.length)];
    for (let round = 0; round < 300; round++) {
      const rules: DeviceCgroup[] = [{ allow: rnd(4) === 0, access: 'rwm' }];
      for (let i = rnd(6); i >= 0; i--) {
        rules.push({ allow: rnd(2) === 0, type: pick(['b', 'c']), major: pick([undefined, 1, 2]), minor: pick([undefined, 3, 4]), access: pick(['r', 'w', 'm', 'rw', 'rwm', 'wm']) });
      }
      let e: DeviceEmulator;
      try {
        e = emu(rules);
      } catch {
        continue; // a hole punch: refused on both drivers
      }
      const p = deviceProgram(e);
      for (const type of ['b', 'c'] as const) {
        for (const major of [1, 2, 5]) {
          for (const minor of [3, 4, 9]) {
            for (let access = 1; access <= 7; access++) {
              // The v1 kernel: allow-list -> some exception covers device and all bits; deny-list -> none overlaps.
              const match = (x: { type: string; major: number; minor: number }) =>
                x.type === type && (x.major < 0 || x.major === major) && (x.minor < 0 || x.minor === minor);
              const want = e.defaultAllow
                ? !e.list().some((x) => match(x) && (x.access & access) !== 0)
                : e.list().some((x) => match(x) && (access & ~x.access) === 0);
              expect(runDeviceProgram(p, type, major, minor, access), JSON.stringify({ rules, type, major, minor, access })).toBe(want);
            }
          }
        }
      }
    }
  });
});
