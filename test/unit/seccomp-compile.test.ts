// The seccomp compiler against the real libseccomp.so.2 (no root needed): actions, operators, architectures,
// flags, the argument semantics runc has, the ENOSYS stub, and errors that name their JSON path.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileSeccomp, returnValues } from '../../src/seccomp/compile';
import { decodeBpf } from '../../src/seccomp/bpf';
import { runBpf } from '../helpers/seccomp-bpf';
import { loadLibseccomp } from '../../src/seccomp/libseccomp';
import { seccompFeatures, KNOWN_ACTIONS, KNOWN_OPERATORS } from '../../src/seccomp/features';
import type { Seccomp } from '../../src/spec/types';

const lib = loadLibseccomp();
const NATIVE = lib.nativeArch();
const nr = (name: string) => lib.syscallResolveName(name);
const KERNEL = '6.8.0';
const compile = (s: Seccomp, kernelRelease = KERNEL) => compileSeccomp(s, { cacheDir: false, kernelRelease });
const run = (bpf: Uint8Array, name: string, args: bigint[] = []) => runBpf(decodeBpf(bpf), { arch: NATIVE, nr: nr(name), args });

const ERRNO = (e: number) => (0x00050000 | e) >>> 0;
const ALLOW = 0x7fff0000;

describe('compileSeccomp', () => {
  it('compiles a one-rule filter into sock_filter bytes', () => {
    const r = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    expect(r.bpf.length % 8).toBe(0);
    expect(r.bpf.length).toBeGreaterThan(0);
    expect(returnValues(r.bpf)).toEqual(expect.arrayContaining([ALLOW, ERRNO(1)]));
    expect(r.notify).toBe(false);
    expect(r.cached).toBe(false);
    expect(run(r.bpf, 'mkdir')).toBe(ERRNO(1));
    expect(run(r.bpf, 'getpid')).toBe(ALLOW);
  });

  it('the default action and defaultErrnoRet become the fall-through return', () => {
    const r = compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 13, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    expect(returnValues(r.bpf)).toContain(ERRNO(13));
    expect(run(r.bpf, 'getpid')).toBe(ERRNO(13));
    expect(run(r.bpf, 'read')).toBe(ALLOW);
  });

  const actions: [string, number | undefined, number][] = [
    ['SCMP_ACT_KILL', undefined, 0x00000000],
    ['SCMP_ACT_KILL_THREAD', undefined, 0x00000000],
    ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
    ['SCMP_ACT_TRAP', undefined, 0x00030000],
    ['SCMP_ACT_ERRNO', undefined, ERRNO(1)],
    ['SCMP_ACT_ERRNO', 22, ERRNO(22)],
    ['SCMP_ACT_TRACE', undefined, 0x7ff00001],
    ['SCMP_ACT_TRACE', 7, 0x7ff00007],
    ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
    ['SCMP_ACT_NOTIFY', undefined, 0x7fc00000],
  ];
  it.each(actions)('action %s (errnoRet %s) returns 0x%s', (action, errnoRet, value) => {
    const r = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action, errnoRet }] });
    expect(run(r.bpf, 'mkdir') >>> 0).toBe(value >>> 0);
    expect(r.notify).toBe(action === 'SCMP_ACT_NOTIFY');
  });

  it('every action works as the default action too (but NOTIFY)', () => {
    for (const a of KNOWN_ACTIONS.filter((x) => x !== 'SCMP_ACT_NOTIFY')) {
      const r = compile({ defaultAction: a, syscalls: [{ names: ['exit_group'], action: a === 'SCMP_ACT_ALLOW' ? 'SCMP_ACT_LOG' : 'SCMP_ACT_ALLOW' }] });
      expect(r.bpf.length % 8).toBe(0);
    }
  });

  it('every operator compiles and compares as libseccomp says', () => {
    const cases: [string, bigint, bigint | undefined, bigint[], bigint[]][] = [
      // op, value, valueTwo, matching arg0s, non-matching arg0s
      ['SCMP_CMP_EQ', 5n, undefined, [5n], [4n, 6n]],
      ['SCMP_CMP_NE', 5n, undefined, [4n, 6n], [5n]],
      ['SCMP_CMP_LT', 5n, undefined, [0n, 4n], [5n, 6n]],
      ['SCMP_CMP_LE', 5n, undefined, [4n, 5n], [6n]],
      ['SCMP_CMP_GT', 5n, undefined, [6n, 1n << 40n], [5n, 0n]],
      ['SCMP_CMP_GE', 5n, undefined, [5n, 6n], [4n]],
      ['SCMP_CMP_MASKED_EQ', 0xff00n, 0x1200n, [0x1200n, 0x12ffn], [0x1300n, 0x0200n]],
    ];
    expect(cases.map((c) => c[0]).sort()).toEqual([...KNOWN_OPERATORS].sort());
    for (const [op, value, valueTwo, yes, no] of cases) {
      const r = compile({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['getpgid'], action: 'SCMP_ACT_ERRNO', errnoRet: 42, args: [{ index: 0, value: Number(value), valueTwo: valueTwo === undefined ? undefined : Number(valueTwo), op }] }],
      });
      for (const v of yes) expect(run(r.bpf, 'getpgid', [v]), `${op} ${v}`).toBe(ERRNO(42));
      for (const v of no) expect(run(r.bpf, 'getpgid', [v]), `${op} ${v}`).toBe(ALLOW);
    }
  });

  it('ANDs comparisons of different arguments, ORs repeated ones (runc)', () => {
    const and = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['dup3'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 200, op: 'SCMP_CMP_EQ' }, { index: 1, value: 201, op: 'SCMP_CMP_EQ' }] }],
    });
    expect(run(and.bpf, 'dup3', [200n, 201n, 0n])).toBe(ERRNO(1));
    expect(run(and.bpf, 'dup3', [200n, 202n, 0n])).toBe(ALLOW);
    expect(run(and.bpf, 'dup3', [199n, 201n, 0n])).toBe(ALLOW);
    const or = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['dup3'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 100, op: 'SCMP_CMP_EQ' }, { index: 0, value: 101, op: 'SCMP_CMP_EQ' }, { index: 1, value: 7, op: 'SCMP_CMP_EQ' }] }],
    });
    // With a repeated index, every comparison is a rule of its own: any one of them matches.
    expect(run(or.bpf, 'dup3', [100n, 0n, 0n])).toBe(ERRNO(1));
    expect(run(or.bpf, 'dup3', [101n, 0n, 0n])).toBe(ERRNO(1));
    expect(run(or.bpf, 'dup3', [5n, 7n, 0n])).toBe(ERRNO(1));
    expect(run(or.bpf, 'dup3', [102n, 0n, 0n])).toBe(ALLOW);
  });

  it('compares all 64 bits; 18446744073709551615 (parsed as 2^64) is all ones', () => {
    const r = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['getpgid'], action: 'SCMP_ACT_ERRNO', errnoRet: 3, args: [{ index: 0, value: 0x100000005, op: 'SCMP_CMP_EQ' }] },
        { names: ['getsid'], action: 'SCMP_ACT_ERRNO', errnoRet: 4, args: [{ index: 0, value: JSON.parse('18446744073709551615'), op: 'SCMP_CMP_EQ' }] },
      ],
    });
    expect(run(r.bpf, 'getpgid', [0x100000005n])).toBe(ERRNO(3));
    expect(run(r.bpf, 'getpgid', [5n])).toBe(ALLOW);
    expect(run(r.bpf, 'getsid', [(1n << 64n) - 1n])).toBe(ERRNO(4));
  });

  it('skips unknown syscalls with a warning, and rules equal to the default action', () => {
    const r = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read', 'no_such_syscall'], action: 'SCMP_ACT_ALLOW' },
        { names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      ],
    });
    expect(r.warnings).toEqual(['linux.seccomp.syscalls[0].names[1]: unknown syscall "no_such_syscall" ignored (libseccomp ' + lib.version() + ')']);
    expect(run(r.bpf, 'read')).toBe(ALLOW);
  });

  it('adds the listed architectures next to the native one', () => {
    const one = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    const three = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    });
    expect(three.bpf.length).toBeGreaterThan(one.bpf.length);
    const archChecks = (b: Uint8Array) => decodeBpf(b).filter((i) => i.code === 0x15).map((i) => i.k >>> 0);
    expect(archChecks(three.bpf)).toEqual(expect.arrayContaining([0xc000003e, 0x40000003, 0xc00000b7]));
    // The native architecture stays even when the list leaves it out (runc).
    const other = NATIVE === 0xc000003e ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64';
    const r = compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [other], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    expect(run(r.bpf, 'mkdir')).toBe(ERRNO(1));
  });

  it('flags: SPEC_ALLOW by default, TSYNC accepted and dropped, the others as bits', () => {
    const base = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    expect(compile(base).flags).toBe(4n);
    expect(compile(base, '4.9.0').flags).toBe(0n);
    expect(compile({ ...base, flags: [] }).flags).toBe(0n);
    expect(compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }).flags).toBe(0n);
    expect(compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }).flags).toBe(6n);
    const notify = compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] });
    expect(notify.flags).toBe(0x20n);
    expect(notify.notify).toBe(true);
  });

  it('puts the ENOSYS stub in front unless the default action lets syscalls through', () => {
    const deny = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }] });
    const max = Math.max(nr('read'), nr('write'), nr('exit_group'));
    const insns = decodeBpf(deny.bpf);
    expect(runBpf(insns, { arch: NATIVE, nr: max + 1 })).toBe(ERRNO(38));
    expect(runBpf(insns, { arch: NATIVE, nr: 1000 })).toBe(ERRNO(38));
    expect(run(deny.bpf, 'getpid')).toBe(ERRNO(1)); // below the largest: the default
    expect(run(deny.bpf, 'write')).toBe(ALLOW);
    const allow = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    expect(returnValues(allow.bpf)).not.toContain(ERRNO(38));
  });

  it('the ENOSYS stub covers every listed architecture, x32 told apart by bit 30', () => {
    const X86 = 0x40000003;
    const X32 = 0x4000003e;
    const X86_64 = 0xc000003e;
    const r = compile({
      defaultAction: 'SCMP_ACT_KILL_PROCESS',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['read', 'write', 'openat'], action: 'SCMP_ACT_ALLOW' }],
    });
    const insns = decodeBpf(r.bpf);
    for (const arch of [X86_64, X86, X32]) {
      const nrs = ['read', 'write', 'openat'].map((n) => lib.syscallResolveNameArch(arch, n));
      const max = Math.max(...nrs);
      const audit = arch === X32 ? X86_64 : arch;
      expect(runBpf(insns, { arch: audit, nr: max }), `arch ${arch.toString(16)}`).toBe(ALLOW);
      expect(runBpf(insns, { arch: audit, nr: max + 1 }), `arch ${arch.toString(16)}`).toBe(ERRNO(38));
      expect(runBpf(insns, { arch: audit, nr: max - 1 }) >>> 0, `arch ${arch.toString(16)}`).toBe(0x80000000);
    }
    // No rules at all: nothing to compare against, so no stub, and no binary tree (libseccomp <= 2.5.4 bug).
    const empty = compile({ defaultAction: 'SCMP_ACT_ERRNO' });
    expect(returnValues(empty.bpf)).not.toContain(ERRNO(38));
    expect(run(empty.bpf, 'read')).toBe(ERRNO(1));
    // Default ERRNO(ENOSYS): the stub would change nothing.
    const enosys = compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    expect(decodeBpf(enosys.bpf).filter((i) => i.code === 0x06 && i.k === ERRNO(38))).toHaveLength(1); // the default's only
  });

  it('compiles the docker-like default profile within the kernel limit', () => {
    const profile = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/seccomp/default-profile.json'), 'utf8'));
    const r = compile(profile);
    const insns = decodeBpf(r.bpf);
    expect(insns.length).toBeLessThanOrEqual(4096);
    expect(r.flags).toBe(4n);
    expect(run(r.bpf, 'read')).toBe(ALLOW);
    expect(run(r.bpf, 'mount')).toBe(ERRNO(1));
    expect(run(r.bpf, 'clone3')).toBe(ERRNO(38));
    expect(run(r.bpf, 'personality', [8n])).toBe(ALLOW);
    expect(run(r.bpf, 'personality', [1n])).toBe(ERRNO(1));
    expect(run(r.bpf, 'socket', [40n])).toBe(ERRNO(1)); // AF_VSOCK
    expect(run(r.bpf, 'socket', [2n])).toBe(ALLOW);
    expect(run(r.bpf, 'clone', [0x11n])).toBe(ALLOW); // SIGCHLD... no namespace flags
    expect(run(r.bpf, 'clone', [0x20000000n])).toBe(ERRNO(1)); // CLONE_NEWPID
    expect(r.warnings.length).toBeGreaterThan(0);
    expect(r.warnings.every((w) => /^linux\.seccomp\.syscalls\[\d+\]\.names\[\d+\]: unknown syscall/.test(w))).toBe(true);
  });
});

describe('seccomp errors name the JSON path', () => {
  const base: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  const cases: [string, Seccomp, RegExp][] = [
    ['default action', { defaultAction: 'SCMP_ACT_FOO' }, /^linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_FOO"$/],
    ['NOTIFY default', { defaultAction: 'SCMP_ACT_NOTIFY' }, /^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action/],
    ['rule action', { ...base, syscalls: [base.syscalls![0], base.syscalls![0], base.syscalls![0], { names: ['rmdir'], action: 'SCMP_ACT_FOO' }] }, /^linux\.seccomp\.syscalls\[3\]\.action: unknown action "SCMP_ACT_FOO"$/],
    ['architecture', { ...base, architectures: ['SCMP_ARCH_VAX'] }, /^linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_VAX"$/],
    ['operator', { ...base, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_XX' }] }] }, /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_XX"$/],
    ['arg index', { ...base, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be a syscall argument index from 0 to 5/],
    ['arg value', { ...base, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: must be an unsigned 64-bit integer/],
    ['errnoRet on ALLOW', { ...base, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] }, /^linux\.seccomp\.syscalls\[0\]\.errnoRet: SCMP_ACT_KILL takes no errno/],
    ['defaultErrnoRet on ALLOW', { ...base, defaultErrnoRet: 1 }, /^linux\.seccomp\.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno/],
    ['errnoRet range', { ...base, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }] }, /^linux\.seccomp\.syscalls\[0\]\.errnoRet: must be an integer from 0 to 65535/],
    ['empty name', { ...base, syscalls: [{ names: ['mkdir', ''], action: 'SCMP_ACT_ERRNO' }] }, /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: must be a syscall name/],
    ['flag', { ...base, flags: ['SECCOMP_FILTER_FLAG_FOO'] }, /^linux\.seccomp\.flags\[0\]: unknown seccomp flag "SECCOMP_FILTER_FLAG_FOO"$/],
    ['WAIT_KILLABLE_RECV without NOTIFY', { ...base, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, /^linux\.seccomp\.flags\[0\]: .* needs a rule with action SCMP_ACT_NOTIFY$/],
    ['NOTIFY on write', { ...base, syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_NOTIFY' }] }, /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: SCMP_ACT_NOTIFY cannot be used for write/],
  ];
  it.each(cases)('%s', (_name, s, re) => {
    expect(() => compile(s)).toThrow(re);
  });

  it('a flag the kernel lacks', () => {
    expect(() => compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_LOG'] }, '4.9.0')).toThrow(/^linux\.seccomp\.flags\[0\]: SECCOMP_FILTER_FLAG_LOG is not supported by this kernel \(4\.9\.0\)$/);
  });

  it('an architecture libseccomp lacks, and a libseccomp failure as errno text', () => {
    const fake = () => ({ ...lib, archResolveName: () => 0 });
    expect(() => compileSeccomp({ ...base, architectures: ['SCMP_ARCH_X86'] }, { cacheDir: false, loader: fake })).toThrow(
      /^linux\.seccomp\.architectures\[0\]: SCMP_ARCH_X86 is not supported by libseccomp \d/,
    );
    const failing = () => ({ ...lib, ruleAddArray: () => -22 });
    expect(() => compileSeccomp(base, { cacheDir: false, loader: failing })).toThrow(
      /^linux\.seccomp\.syscalls\[0\]: adding the rule for mkdir: invalid argument \(EINVAL\)$/,
    );
  });
});

describe('seccomp features', () => {
  it('lists what this host supports', () => {
    const f = seccompFeatures({ actionsAvail: 'kill_process kill_thread trap errno user_notif trace log allow\n', kernelRelease: '6.8.0' });
    expect(f.enabled).toBe(true);
    expect(f.actions).toEqual(KNOWN_ACTIONS);
    expect(f.operators).toHaveLength(7);
    expect(f.archs).toEqual(expect.arrayContaining(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64']));
    expect(f.supportedFlags).toEqual(f.knownFlags);
    const old = seccompFeatures({ actionsAvail: 'kill_thread trap errno trace allow', kernelRelease: '4.14.0' });
    expect(old.actions).toEqual(['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW']);
    expect(old.supportedFlags).toEqual(['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG']);
    expect(seccompFeatures({ actionsAvail: null }).enabled).toBe(false);
  });
});
