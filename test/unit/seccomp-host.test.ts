import { describe, expect, it } from 'vitest';
import * as os from 'node:os';
import { kernelRelease, LITTLE_ENDIAN } from '../../src/seccomp/host';

describe('seccomp host facts (read without node:os)', () => {
  it('the kernel release is the one uname(2) gives', () => {
    expect(kernelRelease()).toBe(os.release());
    expect(kernelRelease()).toMatch(/^\d+\.\d+/);
  });
  it('the byte order is the host one', () => {
    expect(LITTLE_ENDIAN).toBe(os.endianness() === 'LE');
  });
});
