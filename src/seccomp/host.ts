// The two host facts the seccomp compiler needs, without node:os: creating a
// container with a seccomp profile (every engine's) loads this path, and
// under Bun node:os costs start-up time for two values read here directly.
import { readFileSync } from 'node:fs';

/** The running kernel's release, as uname(2) gives it ("6.1.0-18-amd64"). */
export function kernelRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // no /proc/sys here: uname(2) through node:os, loaded only then
    return (require('node:os') as typeof import('node:os')).release();
  }
}

/** Host byte order: struct sock_filter and scmp_arg_cmp are laid out in it. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
