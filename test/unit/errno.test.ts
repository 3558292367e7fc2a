// The one errno table (src/errno.ts) against the system: numbers as Node knows them, texts as glibc's strerror
// words them (lower-cased, as the native init prints them).
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ERRNO_TABLE, errnoName, errnoText } from '../../src/errno';
import { describeErrno } from '../../src/errors';
import { haveProgram, precondition } from '../helpers/harness';

const havePython = precondition(haveProgram('python3'), 'python3 is missing (it reads glibc strerror for the errno test)');

describe('the errno table', () => {
  it('has the numbers of this system', () => {
    const sys = os.constants.errno as Record<string, number>;
    for (const [n, name] of ERRNO_TABLE) expect([name, sys[name]]).toEqual([name, n]);
  });

  it.skipIf(!havePython)('words each error as glibc strerror does, lower-cased', () => {
    const nums = ERRNO_TABLE.map(([n]) => n);
    const r = spawnSync('python3', ['-c', `import os,sys\nfor n in sys.argv[1:]: print(os.strerror(int(n)))`, ...nums.map(String)], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const texts = r.stdout.trim().split('\n').map((t) => t[0].toLowerCase() + t.slice(1));
    expect(ERRNO_TABLE.map(([, , text]) => text)).toEqual(texts);
  });

  it('maps names and numbers both ways, and falls back to Node\'s message', () => {
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(4095)).toBeUndefined();
    expect(errnoText('EBUSY')).toBe('device or resource busy');
    expect(errnoText('ENOTSUP')).toBe('operation not supported');
    const unknown = Object.assign(new Error('EXYZ: odd'), { code: 'EXYZ' });
    expect(describeErrno(unknown)).toBe('EXYZ: odd');
  });
});
