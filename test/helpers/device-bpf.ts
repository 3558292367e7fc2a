// Test helpers for the cgroup v2 device program (src/cgroups/v2/bpf-program.ts): a decoder, a disassembler and
// an interpreter that runs a program on one access as the kernel would. Not shipped: tsrun only encodes.
import { BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR, OP, type BpfInsn } from '../../src/cgroups/v2/bpf-program';

export function decode(b: Buffer): BpfInsn[] {
  const out: BpfInsn[] = [];
  for (let i = 0; i + 8 <= b.length; i += 8) {
    out.push({ code: b[i], dst: b[i + 1] & 0xf, src: b[i + 1] >> 4, off: b.readInt16LE(i + 2), imm: b.readInt32LE(i + 4) });
  }
  return out;
}

/** One line per instruction, in the style of bpftool/llvm-objdump, for tests and debugging. */
export function disassemble(prog: BpfInsn[]): string[] {
  return prog.map((p, i) => {
    const to = `goto +${p.off} (-> ${i + 1 + p.off})`;
    switch (p.code) {
      case OP.LDXW: return `r${p.dst} = *(u32 *)(r${p.src} + ${p.off})`;
      case OP.AND32_K: return `w${p.dst} &= ${p.imm}`;
      case OP.RSH32_K: return `w${p.dst} >>= ${p.imm}`;
      case OP.MOV32_K: return `w${p.dst} = ${p.imm}`;
      case OP.MOV32_X: return `w${p.dst} = w${p.src}`;
      case OP.JEQ_K: return `if r${p.dst} == ${p.imm} ${to}`;
      case OP.JNE_K: return `if r${p.dst} != ${p.imm} ${to}`;
      case OP.JNE32_K: return `if w${p.dst} != ${p.imm >>> 0} ${to}`;
      case OP.EXIT: return 'exit';
      default: return `unknown 0x${p.code.toString(16)}`;
    }
  });
}

/**
 * Run a program on one access, as the kernel would, for tests: `type` 'b'|'c',
 * `access` a set of ACC_* bits. Returns true when the access is allowed.
 */
export function runDeviceProgram(prog: BpfInsn[], type: 'b' | 'c', major: number, minor: number, access: number): boolean {
  const ctx = [((access << 16) | (type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR)) >>> 0, major >>> 0, minor >>> 0];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; pc < prog.length && steps < 100000; steps++) {
    const p = prog[pc++];
    switch (p.code) {
      case OP.LDXW: r[p.dst] = ctx[p.off / 4]; break;
      case OP.AND32_K: r[p.dst] = (r[p.dst] & p.imm) >>> 0; break;
      case OP.RSH32_K: r[p.dst] = r[p.dst] >>> p.imm; break;
      case OP.MOV32_K: r[p.dst] = p.imm >>> 0; break;
      case OP.MOV32_X: r[p.dst] = r[p.src] >>> 0; break;
      case OP.JEQ_K: if (r[p.dst] === p.imm) pc += p.off; break;
      case OP.JNE_K: if (r[p.dst] !== p.imm) pc += p.off; break;
      case OP.JNE32_K: if (r[p.dst] >>> 0 !== p.imm >>> 0) pc += p.off; break;
      case OP.EXIT: return r[0] === 1;
      default: throw new Error(`unknown opcode 0x${p.code.toString(16)}`);
    }
  }
  throw new Error('program did not exit');
}
