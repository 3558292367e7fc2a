import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ContainerDir } from '../../src/state/store';

describe('ContainerDir.remove', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-store-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const made = (id: string, files: string[]) => {
    const d = new ContainerDir(root, id);
    d.createExclusive();
    for (const f of files) fs.writeFileSync(path.join(d.dir, f), 'x');
    return d;
  };

  it('removes the files tsrun keeps there, and the directory', () => {
    const d = made('c1', ['state.json', 'config.json', 'state.json.123.tmp']);
    d.remove();
    expect(fs.existsSync(d.dir)).toBe(false);
  });

  it('removes a directory holding a fifo', () => {
    const d = made('c2', ['state.json']);
    execFileSync('mkfifo', [d.fifo]);
    d.remove();
    expect(fs.existsSync(d.dir)).toBe(false);
  });

  it('takes the recursive way when someone made a directory in it', () => {
    const d = made('c3', ['state.json']);
    fs.mkdirSync(path.join(d.dir, 'extra', 'deeper'), { recursive: true });
    fs.writeFileSync(path.join(d.dir, 'extra', 'deeper', 'f'), 'x');
    d.remove();
    expect(fs.existsSync(d.dir)).toBe(false);
  });

  it('removes an empty mount point first', () => {
    const d = made('c4', ['state.json']);
    fs.mkdirSync(d.mountPoint);
    d.remove();
    expect(fs.existsSync(d.dir)).toBe(false);
  });

  it('refuses, keeping everything, when the mount point is not empty (as a mount would be)', () => {
    const d = made('c5', ['state.json']);
    fs.mkdirSync(d.mountPoint);
    fs.writeFileSync(path.join(d.mountPoint, 'inside'), 'x');
    expect(() => d.remove()).toThrow(/remove the mount point .*rootfs/);
    expect(fs.existsSync(path.join(d.dir, 'state.json'))).toBe(true);
    expect(fs.existsSync(path.join(d.mountPoint, 'inside'))).toBe(true);
  });

  it('is quiet about a directory that is already gone', () => {
    const d = new ContainerDir(root, 'never-made');
    expect(() => d.remove()).not.toThrow();
  });
});
