// libseccomp (Debian's libseccomp.so.2) through koffi, behind a small interface so that tests can count calls
// or fake it. koffi is required lazily: a cache hit never reaches this module's loader.
import { closeSync, fstatSync, readSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import { TsrunError } from '../errors';

/** An opaque scmp_filter_ctx. */
export type ScmpCtx = unknown;

/** The libseccomp calls the compiler needs. Return codes are libseccomp's: 0 or a negative errno. */
export interface SeccompLib {
  /** "2.5.4". */
  version(): string;
  /** seccomp_arch_native(). */
  nativeArch(): number;
  /** seccomp_arch_resolve_name(); 0 when libseccomp does not know the architecture. */
  archResolveName(name: string): number;
  /** seccomp_syscall_resolve_name(); -1 (__NR_SCMP_ERROR) when unknown, below -1 for pseudo syscalls. */
  syscallResolveName(name: string): number;
  /** seccomp_syscall_resolve_name_arch(). */
  syscallResolveNameArch(arch: number, name: string): number;
  /** seccomp_init(); null on failure (an action the kernel lacks). */
  init(defaultAction: number): ScmpCtx | null;
  release(ctx: ScmpCtx): void;
  archAdd(ctx: ScmpCtx, arch: number): number;
  attrSet(ctx: ScmpCtx, attr: number, value: number): number;
  /** seccomp_rule_add_array(); args is a packed struct scmp_arg_cmp[count] (24 bytes each, host order). */
  ruleAddArray(ctx: ScmpCtx, action: number, syscall: number, count: number, args: Uint8Array | null): number;
  /** seccomp_export_bpf() into a memfd, read back. */
  exportBpf(ctx: ScmpCtx): { rc: number; bpf: Uint8Array };
}

export type SeccompLoader = () => SeccompLib;

const LIB_NAME = 'libseccomp.so.2';

let loaded: SeccompLib | undefined;

/** Loads libseccomp.so.2 once per process. */
export const loadLibseccomp: SeccompLoader = () => {
  if (loaded) return loaded;
  const koffi = require('koffi') as typeof import('koffi');
  let lib: import('koffi').IKoffiLib;
  let libc: import('koffi').IKoffiLib;
  try {
    lib = koffi.load(LIB_NAME);
    libc = koffi.load('libc.so.6');
  } catch (e) {
    throw new TsrunError(`seccomp: cannot load ${LIB_NAME} (install the libseccomp2 package): ${(e as Error).message}`, {
      cause: e,
    });
  }
  const Version = koffi.struct({ major: 'uint', minor: 'uint', micro: 'uint' });
  const f = {
    version: lib.func('const void *seccomp_version(void)'),
    native: lib.func('uint32_t seccomp_arch_native(void)'),
    archResolve: lib.func('uint32_t seccomp_arch_resolve_name(const char *name)'),
    sysResolve: lib.func('int seccomp_syscall_resolve_name(const char *name)'),
    sysResolveArch: lib.func('int seccomp_syscall_resolve_name_arch(uint32_t arch, const char *name)'),
    init: lib.func('void *seccomp_init(uint32_t def_action)'),
    release: lib.func('void seccomp_release(void *ctx)'),
    archAdd: lib.func('int seccomp_arch_add(void *ctx, uint32_t arch)'),
    attrSet: lib.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)'),
    ruleAdd: lib.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int cnt, const void *args)'),
    exportBpf: lib.func('int seccomp_export_bpf(void *ctx, int fd)'),
    memfd: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  };
  const MFD_CLOEXEC = 1;
  loaded = {
    version() {
      const v = koffi.decode(f.version(), Version) as { major: number; minor: number; micro: number };
      return `${v.major}.${v.minor}.${v.micro}`;
    },
    nativeArch: () => f.native() as number,
    archResolveName: (name) => f.archResolve(name) as number,
    syscallResolveName: (name) => f.sysResolve(name) as number,
    syscallResolveNameArch: (arch, name) => f.sysResolveArch(arch, name) as number,
    init: (def) => (f.init(def) as ScmpCtx) ?? null,
    release: (ctx) => void f.release(ctx),
    archAdd: (ctx, arch) => f.archAdd(ctx, arch) as number,
    attrSet: (ctx, attr, value) => f.attrSet(ctx, attr, value) as number,
    ruleAddArray: (ctx, action, syscall, count, args) => f.ruleAdd(ctx, action, syscall, count, args) as number,
    exportBpf(ctx) {
      const fd = f.memfd('tsrun-seccomp', MFD_CLOEXEC) as number;
      if (fd < 0) throw new TsrunError('seccomp: memfd_create failed');
      try {
        const rc = f.exportBpf(ctx, fd) as number;
        if (rc < 0) return { rc, bpf: new Uint8Array(0) };
        const size = fstatSync(fd).size;
        const buf = Buffer.alloc(size);
        let off = 0;
        while (off < size) {
          const n = readSync(fd, buf, off, size - off, off);
          if (n <= 0) break;
          off += n;
        }
        return { rc, bpf: new Uint8Array(buf.buffer, buf.byteOffset, off) };
      } finally {
        closeSync(fd);
      }
    },
  };
  return loaded;
};

/** "operation not permitted (EPERM)" for a libseccomp return code such as -1. */
export function errnoText(rc: number): string {
  const entry = (util as unknown as { getSystemErrorMap(): Map<number, [string, string]> }).getSystemErrorMap().get(rc);
  return entry ? `${entry[1]} (${entry[0]})` : `error ${rc}`;
}

const TRIPLETS: Record<string, string> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ia32: 'i386-linux-gnu',
  ppc64: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
  loong64: 'loongarch64-linux-gnu',
  mips64el: 'mips64el-linux-gnuabi64',
};

/**
 * Which libseccomp the dynamic loader would pick, found without loading it: the real path, size and mtime of
 * libseccomp.so.2 in the usual library directories. It goes into the cache key, so that a library upgrade
 * (a new syscall table) recompiles. undefined when not found (then the caller asks the library itself).
 */
export function libseccompIdentity(): string | undefined {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  const triplet = TRIPLETS[process.arch];
  for (const base of ['/usr/local/lib', '/lib', '/usr/lib']) {
    if (triplet) dirs.push(`${base}/${triplet}`);
  }
  dirs.push('/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib');
  for (const dir of dirs) {
    try {
      const real = realpathSync(path.join(dir, LIB_NAME));
      const st = statSync(real);
      return `${real}:${st.size}:${Math.trunc(st.mtimeMs)}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
