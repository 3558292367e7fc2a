// A classic BPF interpreter for the seccomp programs tsrun compiles (src/seccomp), so tests can check what a
// program does with a syscall without loading it. Not shipped.
import { LITTLE_ENDIAN as LE } from '../../src/seccomp/host';
import type { SockFilter } from '../../src/seccomp/bpf';

/**
 * Runs a classic seccomp BPF program on one (arch, nr, args) triple and returns the action value. Covers the instructions libseccomp and the stub emit (ld abs, alu and/or, jumps, ret).
 */
export function runBpf(insns: SockFilter[], data: { arch: number; nr: number; args?: bigint[] }): number {
  const words = new Uint32Array(16); // nr, arch, ip lo/hi, 6 args lo/hi
  words[0] = data.nr >>> 0;
  words[1] = data.arch >>> 0;
  (data.args ?? []).forEach((a, i) => {
    const v = BigInt.asUintN(64, a);
    const lo = Number(v & 0xffffffffn);
    const hi = Number(v >> 32n);
    // seccomp_data is host order; on a little-endian host the low word comes first.
    words[4 + i * 2 + (LE ? 0 : 1)] = lo;
    words[4 + i * 2 + (LE ? 1 : 0)] = hi;
  });
  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf, k } = insns[pc];
    const cls = code & 0x07;
    const src = code & 0x08 ? X : k;
    if (cls === 0x00) {
      // BPF_LD: abs word, imm, mem
      const mode = code & 0xe0;
      if (mode === 0x20) A = words[k / 4];
      else if (mode === 0x00) A = k;
      else if (mode === 0x60) A = M[k];
      else throw new Error(`runBpf: unsupported ld 0x${code.toString(16)}`);
    } else if (cls === 0x01) {
      X = (code & 0xe0) === 0x60 ? M[k] : k; // BPF_LDX mem or imm
    } else if (cls === 0x02) M[k] = A;
    else if (cls === 0x03) M[k] = X;
    else if (cls === 0x04) {
      const op = code & 0xf0;
      if (op === 0x50) A = (A & src) >>> 0;
      else if (op === 0x40) A = (A | src) >>> 0;
      else if (op === 0x00) A = (A + src) >>> 0;
      else if (op === 0x10) A = (A - src) >>> 0;
      else throw new Error(`runBpf: unsupported alu 0x${code.toString(16)}`);
    } else if (cls === 0x05) {
      const op = code & 0xf0;
      if (op === 0x00) pc += k;
      else {
        const a = A >>> 0;
        const b = src >>> 0;
        const c = op === 0x10 ? a === b : op === 0x20 ? a > b : op === 0x30 ? a >= b : (a & b) !== 0;
        pc += c ? jt : jf;
      }
    } else if (cls === 0x06) return (code & 0x18) === 0x10 ? A : k;
    else if (cls === 0x07) {
      if (code & 0x80) A = X;
      else X = A;
    }
  }
  throw new Error('runBpf: fell off the end of the program');
}
