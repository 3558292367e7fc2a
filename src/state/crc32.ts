// CRC-32 (IEEE): the seccomp cache's file names and the answers file's record checksum (native/launcher-fast.c
// computes the same).
type Crc32 = (data: string | Uint8Array, value?: number) => number;
let crc32: Crc32 | undefined;

/**
 * CRC-32 as 8 hex digits (Bun.hash.crc32 under Bun, which needs no module; zlib.crc32 under Node >= 20.15, the
 * same function; else the first 32 bits of a sha256). Not cryptographic, and it need not be: entries are
 * verified against the whole key text. A JavaScript hash loop or node:crypto would cost more than the rest of a
 * hit (bench/levers.md).
 */
export function crc32hex(data: string | Uint8Array): string {
  if (!crc32) crc32 = (globalThis as { Bun?: { hash?: { crc32?: Crc32 } } }).Bun?.hash?.crc32;
  if (!crc32) {
    const zlib = require('node:zlib') as { crc32?: Crc32 };
    if (typeof zlib.crc32 === 'function') {
      crc32 = zlib.crc32;
    } else {
      const crypto = require('node:crypto') as typeof import('node:crypto');
      crc32 = (d) => crypto.createHash('sha256').update(d).digest().readUInt32BE(0);
    }
  }
  return (crc32(data) >>> 0).toString(16).padStart(8, '0');
}

