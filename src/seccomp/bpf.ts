// Classic BPF (struct sock_filter) encoding and decoding, and the -ENOSYS stub that runc puts in front of the
// libseccomp program: a syscall numbered above every syscall the profile names returns ENOSYS, not the default
// errno, so that a C library falls back to an older syscall instead of failing on a new one (clone3 → clone,
// fchmodat2 → fchmodat) when the kernel is newer than the profile or the libseccomp syscall table.
import { LITTLE_ENDIAN } from './host';
import { ACT, AUDIT_ARCH_X86_64, ENOSYS, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_X32, X32_SYSCALL_BIT } from './tables';

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Opcodes (linux/filter.h): class | size | mode, class | op | src.
export const BPF = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  JMP_JA: 0x05, // BPF_JMP | BPF_JA
  JMP_JEQ_K: 0x15,
  JMP_JGT_K: 0x25,
  JMP_JGE_K: 0x35,
  JMP_JSET_K: 0x45,
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

/** Offsets in struct seccomp_data. */
const SECCOMP_DATA_NR = 0;
const SECCOMP_DATA_ARCH = 4;

const LE = LITTLE_ENDIAN;

/** struct sock_filter[] in host byte order, as the kernel and seccomp_export_bpf() use. */
export function encodeBpf(insns: SockFilter[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach((i, n) => {
    dv.setUint16(n * 8, i.code, LE);
    dv.setUint8(n * 8 + 2, i.jt);
    dv.setUint8(n * 8 + 3, i.jf);
    dv.setUint32(n * 8 + 4, i.k >>> 0, LE);
  });
  return out;
}

export function decodeBpf(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % 8 !== 0) throw new Error(`a BPF program is a multiple of 8 bytes, got ${bytes.length}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let off = 0; off < bytes.length; off += 8) {
    out.push({ code: dv.getUint16(off, LE), jt: dv.getUint8(off + 2), jf: dv.getUint8(off + 3), k: dv.getUint32(off + 4, LE) });
  }
  return out;
}

/** The largest syscall number the profile names, per libseccomp architecture token. */
export interface ArchMax {
  arch: number;
  max: number;
}

const RET_ENOSYS = (ACT.ERRNO | ENOSYS) >>> 0;

// A tiny forward-only assembler: jump targets are labels, resolved when the stub is complete.
type Target = string | null; // null: the next instruction
interface PInsn {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  ja?: string;
  label?: string;
}

/**
 * The -ENOSYS stub for the given architectures, to be put in front of the libseccomp program (whose start is
 * the label "filter"). Architectures the stub does not list, and syscalls at or below the maximum, go on to the
 * filter unchanged. x32 shares AUDIT_ARCH_X86_64 and is told apart by bit 30 of the syscall number; on s390,
 * syscall 0 carries the syscalls that the kernel does not know, so it gets ENOSYS too (as in runc).
 */
export function enosysStub(maxes: ArchMax[]): SockFilter[] {
  // Group by the AUDIT_ARCH value the kernel puts in seccomp_data.arch.
  const groups = new Map<number, { plain?: number; x32?: number; s390: boolean }>();
  for (const { arch, max } of maxes) {
    const audit = arch === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch >>> 0;
    const g = groups.get(audit) ?? { s390: false };
    if (arch === SCMP_ARCH_X32) g.x32 = Math.max(g.x32 ?? 0, max);
    else g.plain = Math.max(g.plain ?? 0, max);
    if (arch === SCMP_ARCH_S390 || arch === SCMP_ARCH_S390X) g.s390 = true;
    groups.set(audit, g);
  }
  if (groups.size === 0) return [];

  const p: PInsn[] = [{ code: BPF.LD_W_ABS, k: SECCOMP_DATA_ARCH }];
  const audits = [...groups.keys()];
  audits.forEach((a, n) => p.push({ code: BPF.JMP_JEQ_K, k: a, jt: `arch${n}`, jf: null }));
  p.push({ code: BPF.JMP_JA, k: 0, ja: 'filter' });
  audits.forEach((a, n) => {
    const g = groups.get(a)!;
    const enosys = `enosys${n}`;
    p.push({ code: BPF.LD_W_ABS, k: SECCOMP_DATA_NR, label: `arch${n}` });
    if (g.s390) p.push({ code: BPF.JMP_JEQ_K, k: 0, jt: enosys, jf: null });
    if (a === AUDIT_ARCH_X86_64) {
      p.push({ code: BPF.JMP_JSET_K, k: X32_SYSCALL_BIT, jt: `x32_${n}`, jf: null });
      if (g.plain !== undefined) p.push({ code: BPF.JMP_JGT_K, k: g.plain, jt: enosys, jf: null });
      p.push({ code: BPF.JMP_JA, k: 0, ja: 'filter' });
      if (g.x32 !== undefined) p.push({ code: BPF.JMP_JGT_K, k: g.x32, jt: enosys, jf: null, label: `x32_${n}` });
      p.push({ code: BPF.JMP_JA, k: 0, ja: 'filter', label: g.x32 === undefined ? `x32_${n}` : undefined });
    } else {
      p.push({ code: BPF.JMP_JGT_K, k: g.plain ?? 0xffffffff, jt: enosys, jf: null });
      p.push({ code: BPF.JMP_JA, k: 0, ja: 'filter' });
    }
    p.push({ code: BPF.RET_K, k: RET_ENOSYS, label: enosys });
  });

  const at = new Map<string, number>();
  p.forEach((i, n) => i.label && at.set(i.label, n));
  at.set('filter', p.length);
  const rel = (from: number, t: Target | undefined): number => {
    if (t === undefined || t === null) return 0;
    const off = at.get(t)! - from - 1;
    if (off < 0 || off > 255) throw new Error(`seccomp: ENOSYS stub jump to ${t} out of range (${off})`);
    return off;
  };
  return p.map((i, n) => {
    if (i.ja !== undefined) return { code: i.code, jt: 0, jf: 0, k: at.get(i.ja)! - n - 1 };
    return { code: i.code, jt: rel(n, i.jt), jf: rel(n, i.jf), k: i.k >>> 0 };
  });
}
