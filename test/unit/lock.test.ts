import { describe, expect, it, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { lockContainer, withLock } from '../../src/state/lock';
import { readProcStat } from '../../src/state/proc';

const dirs: string[] = [];
function tmpRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-lock-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const self = () => `${process.pid} ${readProcStat(process.pid)!.startTime}`;

describe('container lock', () => {
  it('is a symlink naming its owner, removed on release', async () => {
    const root = tmpRoot();
    const lock = await lockContainer(root, 'a');
    const file = path.join(root, '.lock-a');
    expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(file)).toBe(self());
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('creates the state root on first use, mode 0711', async () => {
    const root = path.join(tmpRoot(), 'deeper', 'root');
    (await lockContainer(root, 'a')).release();
    expect(fs.statSync(root).mode & 0o777).toBe(0o711);
  });

  it('makes a second taker wait for the release', async () => {
    const root = tmpRoot();
    const order: string[] = [];
    const first = await lockContainer(root, 'a');
    const second = withLock(root, 'a', () => order.push('second'));
    await new Promise((r) => setTimeout(r, 30));
    order.push('first releases');
    first.release();
    await second;
    expect(order).toEqual(['first releases', 'second']);
  });

  it('locks containers independently', async () => {
    const root = tmpRoot();
    const a = await lockContainer(root, 'a');
    const b = await lockContainer(root, 'b', 100);
    a.release();
    b.release();
  });

  it('times out with a clear error while a live process holds it', async () => {
    const root = tmpRoot();
    const held = await lockContainer(root, 'a');
    await expect(lockContainer(root, 'a', 50)).rejects.toThrow('container a is busy: another tsrun process holds its lock');
    held.release();
  });

  it('breaks the lock of a dead owner', async () => {
    const root = tmpRoot();
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    fs.symlinkSync(`${dead} 12345`, path.join(root, '.lock-a'));
    const lock = await lockContainer(root, 'a', 1000);
    expect(fs.readlinkSync(path.join(root, '.lock-a'))).toBe(self());
    lock.release();
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('breaks a stale lock left as a regular file by an older tsrun', async () => {
    const root = tmpRoot();
    fs.writeFileSync(path.join(root, '.lock-a'), '999999999 1');
    const lock = await lockContainer(root, 'a', 1000);
    expect(fs.readlinkSync(path.join(root, '.lock-a'))).toBe(self());
    lock.release();
  });

  it('does not remove a lock that another process took over', async () => {
    const root = tmpRoot();
    const lock = await lockContainer(root, 'a');
    const file = path.join(root, '.lock-a');
    fs.unlinkSync(file);
    fs.symlinkSync('1 1', file); // pid 1 now holds it
    lock.release();
    expect(fs.readlinkSync(file)).toBe('1 1');
  });
});
