// The cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program, encoded
// by hand. The kernel calls it with r1 = struct bpf_cgroup_dev_ctx
// { u32 access_type /* (access << 16) | type */; u32 major; u32 minor; } and
// allows the access when it returns 1.
//
// The rules are first reduced with the v1 emulator (default policy plus
// exceptions), so the program has the same meaning as the same rules on v1:
//  - default deny: allow when an exception covers the device and *all* the
//    requested access bits;
//  - default allow: deny when an exception covers the device and *any* of the
//    requested bits.

import type { DeviceCgroup } from '../../spec/types';
import { ACC_ALL, DeviceEmulator, normalizeRules } from '../device-rules';

export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// Opcodes (class | op | source).
export const OP = {
  LDXW: 0x61, // BPF_LDX | BPF_MEM | BPF_W
  AND32_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  RSH32_K: 0x74, // BPF_ALU | BPF_RSH | BPF_K
  MOV32_K: 0xb4, // BPF_ALU | BPF_MOV | BPF_K
  MOV32_X: 0xbc, // BPF_ALU | BPF_MOV | BPF_X
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JNE_K: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  JNE32_K: 0x56, // BPF_JMP32 | BPF_JNE | BPF_K (for values above 2^31-1)
  EXIT: 0x95, // BPF_JMP | BPF_EXIT
} as const;

export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0): BpfInsn => ({ code, dst, src, off, imm });

/** The instructions for an emulated device state. */
export function deviceProgram(em: DeviceEmulator): BpfInsn[] {
  const prog: BpfInsn[] = [
    ins(OP.LDXW, R2, R1, 0), // r2 = ctx->access_type
    ins(OP.AND32_K, R2, 0, 0, 0xffff), // r2 &= 0xffff: device type
    ins(OP.LDXW, R3, R1, 0), // r3 = ctx->access_type
    ins(OP.RSH32_K, R3, 0, 0, 16), // r3 >>= 16: access bits
    ins(OP.LDXW, R4, R1, 4), // r4 = ctx->major
    ins(OP.LDXW, R5, R1, 8), // r5 = ctx->minor
  ];
  const verdict = em.defaultAllow ? 0 : 1; // what a matching exception returns
  for (const ex of em.list()) {
    // Each block jumps to "next" (the first instruction after it) on a mismatch.
    const block: { insn: BpfInsn; jumpsToNext: boolean }[] = [];
    const jmp = (insn: BpfInsn) => block.push({ insn, jumpsToNext: true });
    const op = (insn: BpfInsn) => block.push({ insn, jumpsToNext: false });
    jmp(ins(OP.JNE_K, R2, 0, 0, ex.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (ex.access !== ACC_ALL) {
      op(ins(OP.MOV32_X, R1, R3)); // r1 = requested access
      if (verdict === 1) {
        op(ins(OP.AND32_K, R1, 0, 0, ~ex.access & ACC_ALL)); // requested bits the rule does not grant
        jmp(ins(OP.JNE_K, R1, 0, 0, 0));
      } else {
        op(ins(OP.AND32_K, R1, 0, 0, ex.access)); // requested bits the rule denies
        jmp(ins(OP.JEQ_K, R1, 0, 0, 0));
      }
    }
    const cmp = (reg: number, v: number) =>
      jmp(v > 0x7fffffff ? ins(OP.JNE32_K, reg, 0, 0, v | 0) : ins(OP.JNE_K, reg, 0, 0, v));
    if (ex.major >= 0) cmp(R4, ex.major);
    if (ex.minor >= 0) cmp(R5, ex.minor);
    op(ins(OP.MOV32_K, R0, 0, 0, verdict));
    op(ins(OP.EXIT));
    block.forEach((b, i) => {
      if (b.jumpsToNext) b.insn.off = block.length - (i + 1);
      prog.push(b.insn);
    });
  }
  prog.push(ins(OP.MOV32_K, R0, 0, 0, em.defaultAllow ? 1 : 0), ins(OP.EXIT));
  return prog;
}

/** Spec rules (in order, defaults already merged) -> program bytes. */
export function deviceProgramFromRules(rules: DeviceCgroup[]): Buffer {
  return encode(deviceProgram(DeviceEmulator.fromRules(normalizeRules(rules))));
}

/** struct bpf_insn, little endian: code u8, dst:4|src:4 u8, off s16, imm s32. */
export function encode(prog: BpfInsn[]): Buffer {
  const b = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    b[i * 8] = p.code;
    b[i * 8 + 1] = ((p.src & 0xf) << 4) | (p.dst & 0xf);
    b.writeInt16LE(p.off, i * 8 + 2);
    b.writeInt32LE(p.imm | 0, i * 8 + 4);
  });
  return b;
}
