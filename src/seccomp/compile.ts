// The seccomp compiler: the OCI seccomp section → a classic BPF program (struct sock_filter[]) that tsrun-init
// loads with seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). libseccomp builds the program (through koffi); the
// result is cached on disk, and a cache hit loads neither koffi nor libseccomp.
import { TsrunError } from '../errors';
import type { Seccomp } from '../spec/types';
import { COMMIT, VERSION } from '../version';
import { kernelRelease, LITTLE_ENDIAN } from './host';
import { decodeBpf, encodeBpf, enosysStub, type ArchMax } from './bpf';
import { cacheKey, readCache, writeCache, type CacheKey } from './cache';
import { checkSeccomp, countNames, type CheckedArg, type CheckedSeccomp } from './check';
import { errnoText, libseccompIdentity, loadLibseccomp, type ScmpCtx, type SeccompLib, type SeccompLoader } from './libseccomp';
import { ACT, ATTR, BPF_MAXINSNS } from './tables';

export const DEFAULT_CACHE_DIR = '/run/tsrun/.seccomp-cache';

export interface CompileOptions {
  /** Where compiled filters are kept; false for no cache. Default /run/tsrun/.seccomp-cache. */
  cacheDir?: string | false;
  /** How libseccomp is loaded (tests count or fake it). Default: libseccomp.so.2 through koffi. */
  loader?: SeccompLoader;
  /** The kernel release that decides flag support. Default: the running kernel's. */
  kernelRelease?: string;
}

export interface CompiledSeccomp {
  /** struct sock_filter[], host byte order. */
  bpf: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). Without NEW_LISTENER: the init adds it when notify is true. */
  flags: bigint;
  /** Some rule has SCMP_ACT_NOTIFY: load with SECCOMP_FILTER_FLAG_NEW_LISTENER and pass the listener on. */
  notify: boolean;
  /** Things the user may want to know (unknown syscalls skipped, as runc does). Log them at debug level. */
  warnings: string[];
  /** True when the program came from the cache. */
  cached: boolean;
}

const EEXIST = 17;
const WHERE = 'linux.seccomp';

export function compileSeccomp(s: Seccomp, opts: CompileOptions = {}): CompiledSeccomp {
  const dir = opts.cacheDir === undefined ? DEFAULT_CACHE_DIR : opts.cacheDir;
  const loader = opts.loader ?? loadLibseccomp;
  const kernel = opts.kernelRelease ?? kernelRelease();
  let key: CacheKey | undefined;
  if (dir !== false) {
    // Identify the library by its file; only when it cannot be found is it loaded to ask its version.
    const lib = libseccompIdentity() ?? `libseccomp ${loader().version()}`;
    key = cacheKey(s, { lib, arch: process.arch, kernel, build: `${VERSION} ${COMMIT}` });
    const hit = readCache(dir, key);
    if (hit) return { ...hit, cached: true };
  }
  const checked = checkSeccomp(s, kernel); // config errors first, even without libseccomp
  const out = compileWith(loader(), checked);
  if (dir !== false && key) writeCache(dir, key, out);
  return { ...out, cached: false };
}

/** struct scmp_arg_cmp[]: { unsigned int arg; enum scmp_compare op; uint64 datum_a; uint64 datum_b }. */
function packArgs(args: CheckedArg[]): Uint8Array {
  const buf = Buffer.alloc(24 * args.length);
  const le = LITTLE_ENDIAN;
  args.forEach((a, i) => {
    const o = i * 24;
    if (le) {
      buf.writeUInt32LE(a.index, o);
      buf.writeUInt32LE(a.op, o + 4);
      buf.writeBigUInt64LE(a.a, o + 8);
      buf.writeBigUInt64LE(a.b, o + 16);
    } else {
      buf.writeUInt32BE(a.index, o);
      buf.writeUInt32BE(a.op, o + 4);
      buf.writeBigUInt64BE(a.a, o + 8);
      buf.writeBigUInt64BE(a.b, o + 16);
    }
  });
  return buf;
}

function libFail(where: string, what: string, rc: number): never {
  throw new TsrunError(`${where}: ${what}: ${errnoText(rc)}`);
}

/**
 * The argument groups that become separate libseccomp rules, as runc does it: the comparisons of one rule are
 * ANDed in one libseccomp rule, unless two of them test the same argument; then (libseccomp cannot AND two
 * tests of one argument) every comparison becomes a rule of its own, and so they are ORed.
 */
export function argGroups(args: CheckedArg[]): CheckedArg[][] {
  if (args.length === 0) return [[]];
  const seen = new Set<number>();
  const repeated = args.some((a) => (seen.has(a.index) ? true : (seen.add(a.index), false)));
  return repeated ? args.map((a) => [a]) : [args];
}

function compileWith(lib: SeccompLib, c: CheckedSeccomp): Omit<CompiledSeccomp, 'cached'> {
  const warnings: string[] = [];
  const version = lib.version();
  const ctx = lib.init(c.defaultAction);
  if (!ctx) {
    throw new TsrunError(`${WHERE}.defaultAction: libseccomp ${version} cannot make a filter with this action (does the kernel have it?)`);
  }
  let program: Uint8Array;
  const archTokens: number[] = [lib.nativeArch()];
  try {
    attrs(lib, ctx, c);
    for (const a of c.arches) {
      const token = lib.archResolveName(a.libName);
      if (!token) throw new TsrunError(`${a.where}: ${a.name} is not supported by libseccomp ${version}`);
      // The native architecture is in every new filter; runc adds the listed ones next to it, never removes it.
      const rc = lib.archAdd(ctx, token);
      if (rc < 0 && rc !== -EEXIST) libFail(a.where, `adding architecture ${a.name}`, rc);
      if (!archTokens.includes(token)) archTokens.push(token);
    }
    for (const r of c.rules) {
      // runc: a rule whose action is the default action (errno included) changes nothing; libseccomp would
      // refuse it, so it is skipped.
      if (r.action === c.defaultAction) continue;
      const groups = argGroups(r.args).map((g) => ({ count: g.length, packed: g.length ? packArgs(g) : null }));
      r.names.forEach((name, j) => {
        const nr = lib.syscallResolveName(name);
        if (nr === -1) {
          // runc: not known to libseccomp, so probably not to this kernel either; skipped, not an error.
          warnings.push(`${r.where}.names[${j}]: unknown syscall "${name}" ignored (libseccomp ${version})`);
          return;
        }
        for (const g of groups) {
          const rc = lib.ruleAddArray(ctx, r.action, nr, g.count, g.packed);
          if (rc < 0) libFail(r.where, `adding the rule for ${name}`, rc);
        }
      });
    }
    const exp = lib.exportBpf(ctx);
    if (exp.rc < 0) libFail(WHERE, 'exporting the filter', exp.rc);
    program = exp.bpf;
  } finally {
    lib.release(ctx);
  }
  if (program.length === 0 || program.length % 8 !== 0) {
    throw new TsrunError(`${WHERE}: libseccomp exported ${program.length} bytes, not a BPF program`);
  }
  if (c.enosysStub) {
    const stub = enosysStub(lastSyscalls(lib, c, archTokens));
    if (stub.length) program = concat(encodeBpf(stub), program);
  }
  const insns = program.length / 8;
  if (insns > BPF_MAXINSNS) {
    throw new TsrunError(`${WHERE}: the filter has ${insns} instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  }
  return { bpf: program, flags: c.flags, notify: c.notify, warnings };
}

function attrs(lib: SeccompLib, ctx: ScmpCtx, c: CheckedSeccomp): void {
  // The init sets no_new_privs itself (or not, as process.noNewPrivileges says) and loads the program.
  let rc = lib.attrSet(ctx, ATTR.CTL_NNP, 0);
  if (rc < 0) libFail(WHERE, 'clearing the no_new_privs attribute', rc);
  // A syscall from an architecture the filter does not list: libseccomp's default, which runc keeps.
  rc = lib.attrSet(ctx, ATTR.ACT_BADARCH, ACT.KILL_THREAD);
  if (rc < 0) libFail(WHERE, 'setting the bad-architecture action', rc);
  // runc: a binary tree for long rule sets (not for short ones: libseccomp <= 2.5.4 misbehaves with 0 rules).
  if (countNames(c) > 32) lib.attrSet(ctx, ATTR.CTL_OPTIMIZE, 2); // older libseccomp: a linear filter
}

/** The largest syscall number the profile names on each architecture in the filter (runc's findLastSyscalls). */
function lastSyscalls(lib: SeccompLib, c: CheckedSeccomp, tokens: number[]): ArchMax[] {
  const out: ArchMax[] = [];
  for (const arch of tokens) {
    let max = -1;
    for (const r of c.rules) {
      for (const name of r.names) {
        const nr = lib.syscallResolveNameArch(arch, name);
        if (nr > max) max = nr; // pseudo syscalls (negative) and unknown names (-1) never count
      }
    }
    if (max > 0) out.push({ arch, max });
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The return values (SECCOMP_RET_*) that a program can produce; for tests and `--debug` output. */
export function returnValues(bpf: Uint8Array): number[] {
  return [...new Set(decodeBpf(bpf).filter((i) => i.code === 0x06).map((i) => i.k >>> 0))];
}
