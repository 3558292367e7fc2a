// An id that is not a plain name never becomes a path: every command that
// takes one refuses "../x", "a/../../x", an absolute path and a 300-byte id
// with "invalid container id" and exit 1, and touches nothing outside --root.
// Proof twice over: a snapshot of the whole sandbox around --root (with
// planted targets where the bad ids point) is unchanged, and strace shows no
// file-changing syscall at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, rootAvailable, TSRUN } from '../helpers/harness';
import { commands } from '../../src/cli/table';

const enabled = rootAvailable();

/** Arguments that make each command otherwise valid, so that the id is what it fails on. */
function argsFor(cmd: string, id: string, bundle: string): string[] {
  switch (cmd) {
    case 'create':
    case 'run':
      return [cmd, '--bundle', bundle, id];
    case 'kill':
      return [cmd, id, 'KILL'];
    case 'exec':
      return [cmd, id, 'true'];
    case 'update':
      return [cmd, '--pids-limit', '10', id];
    case 'events':
      return [cmd, '--stats', id];
    case 'restore':
      return [cmd, '-d', '--bundle', bundle, id];
    default:
      return [cmd, id];
  }
}

/** Every path under dir with its type, mode, size, mtime and link target. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const link = st.isSymbolicLink() ? ` -> ${fs.readlinkSync(p)}` : '';
      out.push(`${p} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}${link}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

// the file-changing syscalls; a failed id check must reach none of them
const CHANGING = /^(\d+ +)?(symlink|symlinkat|link|linkat|mkdir|mkdirat|unlink|unlinkat|rmdir|rename|renameat2?|mknod|mknodat|creat|truncate|chmod|fchmodat|chown|fchownat|lchown|utimensat|mount|umount2)\(/;
const CREATING_OPEN = /^(\d+ +)?open(at)?\(.*O_(CREAT|TRUNC|WRONLY|RDWR)/;

describe.skipIf(!enabled)('container ids', () => {
  let h: Harness;
  let sandbox: string;
  let root: string;
  let bundle: string;
  const byId = commands.filter((c) => c.positionals.some((p) => p.name === 'container-id'));

  beforeAll(() => {
    h = new Harness('ids');
    sandbox = path.join(h.dir, 'sandbox');
    // --root three levels down: "../x" and "a/../../x" land on planted directories inside the sandbox
    root = path.join(sandbox, 'p', 'q', 'root');
    fs.mkdirSync(root, { recursive: true });
    for (const planted of ['p/q/x', 'p/x', 'abs']) {
      fs.mkdirSync(path.join(sandbox, planted), { recursive: true });
      fs.writeFileSync(path.join(sandbox, planted, 'state.json'), '{"planted":true}');
    }
    bundle = h.bundle();
  });
  afterAll(() => h?.cleanup());

  it('covers every command that takes an id', () => {
    expect(byId.map((c) => c.name).sort()).toEqual(
      ['checkpoint', 'create', 'delete', 'events', 'exec', 'kill', 'pause', 'ps', 'restore', 'resume', 'run', 'start', 'state', 'update'].sort(),
    );
  });

  const badIds = () => ['../x', 'a/../../x', path.join(sandbox, 'abs'), 'a'.repeat(300), '..', 'x/y'];

  it('every command refuses every bad id, exit 1, and the sandbox is unchanged', () => {
    const before = snapshot(sandbox);
    const problems: string[] = [];
    for (const c of byId) {
      for (const id of badIds()) {
        const r = spawnSync(TSRUN, ['--root', root, ...argsFor(c.name, id, bundle)], { encoding: 'utf8', timeout: 30_000 });
        const where = `${c.name} ${id.slice(0, 40)}`;
        if (r.status !== 1) problems.push(`${where}: exit ${r.status}`);
        if (!/invalid container id/.test(r.stderr)) problems.push(`${where}: ${r.stderr.trim()}`);
        if (/ENAMETOOLONG|\n\s+at /.test(r.stderr)) problems.push(`${where}: raw error: ${r.stderr.trim()}`);
      }
    }
    expect(problems).toEqual([]);
    expect(snapshot(sandbox)).toEqual(before);
  });

  it('strace: no bad id reaches a file-changing syscall', () => {
    const problems: string[] = [];
    const traceFile = path.join(h.dir, 'trace');
    for (const c of byId) {
      for (const id of badIds()) {
        fs.rmSync(traceFile, { force: true });
        const r = spawnSync('strace', ['-f', '-qq', '-o', traceFile, TSRUN, '--root', root, ...argsFor(c.name, id, bundle)], {
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(r.error, 'strace must be installed (make deps installs it)').toBeUndefined();
        expect(r.status, `${c.name}: ${r.stderr}`).toBe(1);
        const calls = fs.readFileSync(traceFile, 'utf8').split('\n');
        expect(calls.length, 'strace recorded the run').toBeGreaterThan(5);
        for (const line of calls) {
          if (CHANGING.test(line) || (CREATING_OPEN.test(line) && !line.includes('/dev/'))) {
            problems.push(`${c.name} ${id.slice(0, 40)}: ${line.slice(0, 200)}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
