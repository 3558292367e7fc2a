// Errors that matter reach the user: a short init message, an unreadable OOM
// counter or freezer, a container whose state cannot be read, a host file the
// planner needs. None of them may read as "nothing happened".
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeInitMessage, followInit } from '../../src/runtime/init-messages';
import type { InitChannel, InitMessage } from '../../src/runtime/init-channel';
import { Msg } from '../../src/plan/tags';
import { TsrunError } from '../../src/errors';
import { readOomKill } from '../../src/cgroups/oom-counter';
import { pollOom } from '../../src/cgroups/common';
import { isFrozenAt } from '../../src/cgroups/frozen';
import { errnoError, type CgroupFs } from '../../src/cgroups/fs';
import { FakeFs } from '../helpers/fake-cgroup-fs';
import { listContainers } from '../../src/runtime/state';
import { ContainerDir } from '../../src/state/store';
import { parseCapBnd } from '../../src/plan/host';

const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const msg = (tag: number, payload = Buffer.alloc(0)): InitMessage => ({ tag, payload });

function channelOf(messages: InitMessage[]): InitChannel {
  const queue = [...messages];
  return { next: async () => queue.shift() ?? null } as unknown as InitChannel;
}

describe('decodeInitMessage', () => {
  it('decodes each kind', () => {
    expect(decodeInitMessage(msg(Msg.PID, u64(42)))).toEqual({ kind: 'pid', pid: 42 });
    expect(decodeInitMessage(msg(Msg.EXIT, u64(256)))).toEqual({ kind: 'exit', status: 256 });
    expect(decodeInitMessage(msg(Msg.READY))).toEqual({ kind: 'ready' });
    expect(decodeInitMessage(msg(Msg.WARN, Buffer.from('careful')))).toEqual({ kind: 'warn', text: 'careful' });
  });

  it('refuses a short payload with its own words, not a RangeError', () => {
    const e = (() => {
      try {
        decodeInitMessage(msg(Msg.PID, Buffer.alloc(3)));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(TsrunError);
    expect((e as Error).message).toMatch(/malformed PID message \(3 bytes\)/);
  });

  it('refuses an unknown kind, a payload where none belongs, and numbers out of range', () => {
    expect(() => decodeInitMessage(msg(250))).toThrow(/unknown kind \(tag 250/);
    expect(() => decodeInitMessage(msg(Msg.READY, Buffer.from('x')))).toThrow(/malformed READY/);
    expect(() => decodeInitMessage(msg(Msg.PID, u64(0)))).toThrow(/0 is not a pid/);
    expect(() => decodeInitMessage(msg(Msg.EXIT, u64(0x10000)))).toThrow(/not a wait status/);
  });
});

describe('followInit', () => {
  it('ends on the event whose handler says so, skipping warnings', async () => {
    const pids: number[] = [];
    const ev = await followInit(channelOf([msg(Msg.WARN, Buffer.from('w')), msg(Msg.PID, u64(7)), msg(Msg.READY)]), {
      on: { pid: (e) => void pids.push(e.pid), ready: () => true },
      closed: () => new TsrunError('closed'),
    });
    expect(pids).toEqual([7]);
    expect(ev).toEqual({ kind: 'ready' });
  });

  it('refuses a message the phase does not expect', async () => {
    await expect(followInit(channelOf([msg(Msg.STARTED)]), { on: { ready: () => true }, closed: () => undefined })).rejects.toThrow(
      /sent STARTED where it was not expected/,
    );
  });

  it('throws the init error, or logs it and goes on when asked', async () => {
    const err = msg(Msg.ERROR, Buffer.from('exec: no such file'));
    await expect(followInit(channelOf([err]), { on: {}, closed: () => undefined })).rejects.toThrow('exec: no such file');
    const ev = await followInit(channelOf([err, msg(Msg.EXIT, u64(0))]), { on: { exit: () => true }, errors: 'log', closed: () => undefined });
    expect(ev).toEqual({ kind: 'exit', status: 0 });
  });

  it('a closed channel is the error closed() gives, or null', async () => {
    await expect(followInit(channelOf([]), { on: {}, closed: () => new TsrunError('init died') })).rejects.toThrow('init died');
    expect(await followInit(channelOf([]), { on: {}, closed: () => undefined })).toBeNull();
  });
});

describe('the OOM kill counter', () => {
  it('is an error when the file is missing or has no oom_kill line, never 0', () => {
    const fake = new FakeFs().addFile('/cg/memory.events', 'low 0\nhigh 0\nmax 0\noom 1\n');
    expect(() => readOomKill(fake, '/cg/missing')).toThrow(/read the OOM kill counter \/cg\/missing/);
    expect(() => readOomKill(fake, '/cg/memory.events')).toThrow(/has no oom_kill counter/);
    fake.addFile('/cg/memory.events', 'oom 1\noom_kill 3\n');
    expect(Number(readOomKill(fake, '/cg/memory.events'))).toBe(3);
  });

  it('a watch whose first read fails throws instead of watching nothing', () => {
    expect(() =>
      pollOom(
        () => {
          throw new TsrunError('unreadable');
        },
        () => undefined,
      ),
    ).toThrow('unreadable');
  });
});

describe('the freezer', () => {
  const failing = (code: string): CgroupFs =>
    ({
      readFile: (p: string) => {
        throw errnoError(code, 'open', p);
      },
    }) as unknown as CgroupFs;

  it('a missing freezer is not frozen; an unreadable one is an error, not "running"', () => {
    expect(isFrozenAt({ freezer: '/cg/f' }, failing('ENOENT'))).toBe(false);
    expect(() => isFrozenAt({ freezer: '/cg/f' }, failing('EACCES'))).toThrow(/EACCES/);
    expect(() => isFrozenAt({ unified: '/cg/u' }, failing('EIO'))).toThrow(/EIO/);
  });
});

describe('listContainers', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-list-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('reports a container whose state cannot be read instead of hiding it', () => {
    const bad = new ContainerDir(root, 'broken');
    bad.createExclusive();
    fs.writeFileSync(path.join(bad.dir, 'state.json'), '{not json');
    const creating = new ContainerDir(root, 'no-state-yet');
    creating.createExclusive();
    const errors: string[] = [];
    const listed = listContainers(root, (id, message) => errors.push(`${id}: ${message}`));
    expect(listed).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/^broken: state of container broken is corrupt/)]);
  });
});

describe('parseCapBnd', () => {
  it('a status without CapBnd is an error, not "drop every capability"', () => {
    expect(parseCapBnd('Name:\tx\nCapBnd:\t000001ffffffffff\n')).toBe(0x1ffffffffffn);
    expect(() => parseCapBnd('Name:\tx\n')).toThrow(TsrunError);
    expect(() => parseCapBnd('Name:\tx\n')).toThrow(/no CapBnd line/);
  });
});
