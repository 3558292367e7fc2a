import { describe, expect, it, vi } from 'vitest';
import * as os from 'node:os';

// a host without /proc/sys: the release still comes, from uname(2)
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return {
    ...actual,
    readFileSync: (p: unknown, ...rest: unknown[]) => {
      if (p === '/proc/sys/kernel/osrelease') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return (actual.readFileSync as (...a: unknown[]) => unknown)(p, ...rest);
    },
  };
});

describe('seccomp host facts without /proc/sys', () => {
  it('the kernel release falls back to uname(2)', async () => {
    const { kernelRelease } = await import('../../src/seccomp/host');
    expect(kernelRelease()).toBe(os.release());
  });
});
