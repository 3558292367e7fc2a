// bpf(2) for the cgroup v2 device filter, through koffi's libc `syscall`.
// koffi is loaded on first use only: nothing else in tsrun pays for it.
//
// (DESIGN.md wants koffi declarations under src/sys/; this is the one place the
// cgroup layer needs them, behind the BpfSys interface so unit tests use a fake.
// It can move to src/sys/ as is.)

import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { TsrunError } from '../../errors';
import { errnoName } from '../../errno';
import { reasonOf } from '../util';

export interface BpfSys {
  /** Ids of the device programs attached to the cgroup directory. */
  queryDevicePrograms(dir: string): number[];
  /**
   * Load `insns` and attach it to `dir` (BPF_F_ALLOW_MULTI), then detach the
   * programs that were attached before, so at every moment at least one
   * filter (old or new, or both: all must allow) is in force.
   */
  replaceDeviceProgram(dir: string, insns: Buffer): void;
}

const SYS_bpf = 321; // x86_64
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
const ATTR_SIZE = 128; // >= every union member we use; the kernel wants the tail zeroed

type Koffi = typeof import('koffi');
let native: { koffi: Koffi; syscall: (...args: unknown[]) => number | bigint } | undefined;

function sys() {
  if (!native) {
    if (process.arch !== 'x64') throw new TsrunError(`cgroup v2 device filter: bpf() is wired for x86_64 only, not ${process.arch}`);
    const koffi = require('koffi') as Koffi;
    const libc = koffi.load('libc.so.6');
    native = { koffi, syscall: libc.func('long syscall(long number, ...)') as (...args: unknown[]) => number };
  }
  return native;
}

/** A buffer with its own memory (not a slice of Node's pool), so its address is stable and exact. */
function ownBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

function bpf(cmd: number, attr: Buffer, what: string): number {
  const { koffi, syscall } = sys();
  const r = Number(syscall(SYS_bpf, 'int', cmd, 'void *', attr, 'uint', attr.length));
  if (r < 0) {
    const errno = koffi.errno();
    const e = new Error(what) as NodeJS.ErrnoException;
    e.errno = errno;
    e.code = errnoName(errno) ?? `errno ${errno}`;
    throw e;
  }
  return r;
}

function fail(what: string, e: unknown, extra = ''): TsrunError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code && !err.code.startsWith('errno') ? reasonOf(err) : err.code ?? String(e);
  return new TsrunError(`${what}: ${reason}${extra}`, { cause: e });
}

function withDirFd<T>(dir: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch (e) {
    throw fail(`open ${dir}`, e);
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

function query(dirFd: number, dir: string): number[] {
  const ids = ownBuffer(4 * 64);
  const attr = ownBuffer(ATTR_SIZE);
  attr.writeUInt32LE(dirFd, 0); // target_fd
  attr.writeUInt32LE(BPF_CGROUP_DEVICE, 4); // attach_type
  attr.writeBigUInt64LE(sys().koffi.address(ids), 16); // prog_ids
  attr.writeUInt32LE(64, 24); // prog_cnt
  try {
    bpf(BPF_PROG_QUERY, attr, 'BPF_PROG_QUERY');
  } catch (e) {
    throw fail(`query the device programs of ${dir}`, e);
  }
  const n = attr.readUInt32LE(24);
  return Array.from({ length: Math.min(n, 64) }, (_, i) => ids.readUInt32LE(i * 4));
}

function load(insns: Buffer): number {
  const code = ownBuffer(insns.length);
  insns.copy(code);
  const license = ownBuffer(8);
  license.write('Apache\0');
  const { koffi } = sys();
  const attempt = (log?: Buffer): number => {
    const attr = ownBuffer(ATTR_SIZE);
    attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0); // prog_type
    attr.writeUInt32LE(insns.length / 8, 4); // insn_cnt
    attr.writeBigUInt64LE(koffi.address(code), 8); // insns
    attr.writeBigUInt64LE(koffi.address(license), 16); // license
    if (log) {
      attr.writeUInt32LE(1, 24); // log_level
      attr.writeUInt32LE(log.length, 28); // log_size
      attr.writeBigUInt64LE(koffi.address(log), 32); // log_buf
    }
    attr.write('tsrun_devices', 48); // prog_name (16 bytes, NUL-terminated)
    return bpf(BPF_PROG_LOAD, attr, 'BPF_PROG_LOAD');
  };
  try {
    return attempt();
  } catch (e) {
    // Load again with the verifier log on, only to say why.
    const log = ownBuffer(256 * 1024);
    try {
      return attempt(log);
    } catch {
      const end = log.indexOf(0);
      const text = log.toString('utf8', 0, end < 0 ? log.length : end).trim().split('\n').slice(-5).join('; ');
      throw fail('load the cgroup v2 device filter (BPF_PROG_LOAD)', e, text ? `; verifier: ${text}` : '');
    }
  }
}

function attachOrDetach(cmd: number, dirFd: number, progFd: number, flags: number): void {
  const attr = ownBuffer(ATTR_SIZE);
  attr.writeUInt32LE(dirFd, 0); // target_fd
  attr.writeUInt32LE(progFd, 4); // attach_bpf_fd
  attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8); // attach_type
  attr.writeUInt32LE(flags, 12); // attach_flags
  bpf(cmd, attr, cmd === BPF_PROG_ATTACH ? 'BPF_PROG_ATTACH' : 'BPF_PROG_DETACH');
}

function fdById(id: number): number {
  const attr = ownBuffer(ATTR_SIZE);
  attr.writeUInt32LE(id, 0); // prog_id
  return bpf(BPF_PROG_GET_FD_BY_ID, attr, 'BPF_PROG_GET_FD_BY_ID');
}

export const realBpf: BpfSys = {
  queryDevicePrograms(dir) {
    return withDirFd(dir, (fd) => query(fd, dir));
  },
  replaceDeviceProgram(dir, insns) {
    withDirFd(dir, (dirFd) => {
      const old = query(dirFd, dir);
      const progFd = load(insns);
      try {
        try {
          attachOrDetach(BPF_PROG_ATTACH, dirFd, progFd, BPF_F_ALLOW_MULTI);
        } catch (e) {
          throw fail(`attach the device filter to ${dir} (BPF_PROG_ATTACH)`, e);
        }
      } finally {
        closeSync(progFd); // the attachment keeps the program alive
      }
      for (const id of old) {
        let fd: number;
        try {
          fd = fdById(id);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // already gone
          throw fail(`open the old device filter (id ${id}) of ${dir}`, e);
        }
        try {
          attachOrDetach(BPF_PROG_DETACH, dirFd, fd, 0);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fail(`detach the old device filter (id ${id}) from ${dir}`, e);
        } finally {
          closeSync(fd);
        }
      }
    });
  },
};
