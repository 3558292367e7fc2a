// The names of the OCI seccomp section and the numbers they stand for: actions, operators, architectures and
// filter flags. Pure data, cheap to import (no koffi): the cache-hit path and `features` use it.

/** SCMP_ACT_* values as libseccomp (and the kernel's SECCOMP_RET_*) define them. */
export const ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000, // | errno (low 16 bits)
  NOTIFY: 0x7fc00000,
  TRACE: 0x7ff00000, // | message (low 16 bits)
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

export interface ActionInfo {
  /** The base value; ERRNO and TRACE take errnoRet in the low 16 bits. */
  value: number;
  /** True for the actions that take errnoRet (SCMP_ACT_ERRNO, SCMP_ACT_TRACE). */
  takesErrno: boolean;
  /** The name in /proc/sys/kernel/seccomp/actions_avail. */
  kernelName: string;
}

/** The actions of the runtime spec, in the spec's order. SCMP_ACT_KILL is KILL_THREAD, as in libseccomp. */
export const ACTIONS: Record<string, ActionInfo> = {
  SCMP_ACT_KILL: { value: ACT.KILL_THREAD, takesErrno: false, kernelName: 'kill_thread' },
  SCMP_ACT_KILL_PROCESS: { value: ACT.KILL_PROCESS, takesErrno: false, kernelName: 'kill_process' },
  SCMP_ACT_KILL_THREAD: { value: ACT.KILL_THREAD, takesErrno: false, kernelName: 'kill_thread' },
  SCMP_ACT_TRAP: { value: ACT.TRAP, takesErrno: false, kernelName: 'trap' },
  SCMP_ACT_ERRNO: { value: ACT.ERRNO, takesErrno: true, kernelName: 'errno' },
  SCMP_ACT_TRACE: { value: ACT.TRACE, takesErrno: true, kernelName: 'trace' },
  SCMP_ACT_ALLOW: { value: ACT.ALLOW, takesErrno: false, kernelName: 'allow' },
  SCMP_ACT_LOG: { value: ACT.LOG, takesErrno: false, kernelName: 'log' },
  SCMP_ACT_NOTIFY: { value: ACT.NOTIFY, takesErrno: false, kernelName: 'user_notif' },
};

/** enum scmp_compare. */
export const OPERATORS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** OCI architecture name → the name seccomp_arch_resolve_name() takes. */
export const ARCHES: Record<string, string> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
  SCMP_ARCH_M68K: 'm68k',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_SH: 'sh',
  SCMP_ARCH_SHEB: 'sheb',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
};

/** SCMP_ARCH_X32 is the one token that is not an AUDIT_ARCH value: x32 runs on AUDIT_ARCH_X86_64. */
export const SCMP_ARCH_X32 = 0x4000003e;
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const X32_SYSCALL_BIT = 0x40000000;
export const SCMP_ARCH_S390 = 0x00000016;
export const SCMP_ARCH_S390X = 0x80000016;

export interface FlagInfo {
  /** SECCOMP_FILTER_FLAG_* bit that goes to seccomp(2); 0 for TSYNC, which tsrun accepts and ignores. */
  bit: bigint;
  /** The first kernel release that has it, [major, minor]. */
  since: [number, number];
}

/** The filter flags of the spec. */
export const FLAGS: Record<string, FlagInfo> = {
  // runc accepts TSYNC and ignores it: the init is single-threaded, and TSYNC with NEW_LISTENER is EINVAL.
  SECCOMP_FILTER_FLAG_TSYNC: { bit: 0n, since: [3, 17] },
  SECCOMP_FILTER_FLAG_LOG: { bit: 0x2n, since: [4, 14] },
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: { bit: 0x4n, since: [4, 17] },
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: { bit: 0x20n, since: [5, 19] },
};

/** Added by the init itself when the result says notify: true. */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 0x8n;

/** enum scmp_filter_attr. */
export const ATTR = {
  ACT_DEFAULT: 1,
  ACT_BADARCH: 2,
  CTL_NNP: 3,
  CTL_TSYNC: 4,
  CTL_OPTIMIZE: 8,
} as const;

export const ENOSYS = 38;
export const EPERM = 1;
/** BPF_MAXINSNS: the kernel refuses longer classic programs. */
export const BPF_MAXINSNS = 4096;

/** [major, minor] of a kernel release string such as "6.8.0-45-generic". */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** True when the kernel release has the flag. */
export function kernelHasFlag(name: string, release: string): boolean {
  const f = FLAGS[name];
  if (!f) return false;
  const [maj, min] = kernelVersion(release);
  return maj > f.since[0] || (maj === f.since[0] && min >= f.since[1]);
}
