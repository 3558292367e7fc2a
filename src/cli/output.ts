import { writeSync } from 'node:fs';

/**
 * Writes to fd 1 synchronously. process.stdout would make a pipe or tty
 * non-blocking, a flag shared with the containers that inherit it.
 */
export function writeOut(text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}
