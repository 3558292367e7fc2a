// What checkpoint and restore can do through CRIU's RPC only: a container
// with a terminal (the new master to --console-socket), a restore in the
// foreground (tsrun waits and exits with the process's status, forwards
// signals, then deletes), and the prestart/createRuntime hooks at CRIU's
// setup-namespaces, with the restored pid in their state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, TSRUN, leftovers, rootAvailable } from '../helpers/harness';
import { nativeHelper } from '../helpers/native-helpers';
import { PRIVATE_CRIU, counts, criuAvailable, guardCriuCache, waitFor } from '../helpers/criu';

const enabled = rootAvailable() && criuAvailable();
const quiet = { stdio: ['ignore', 'ignore', 'ignore'] as const };

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function collect(cmd: string, args: string[]): { proc: ReturnType<typeof spawn>; out: () => string; done: Promise<Done> } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const done = new Promise<Done>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, out: out.replace(/\r/g, '') })));
  return { proc, out: () => out.replace(/\r/g, ''), done };
}

describe.skipIf(!enabled)('checkpoint and restore through the RPC', () => {
  let h: Harness;
  let outDir: string;
  let receiver: string;
  let criuCache: () => void;
  let n = 0;
  beforeAll(() => {
    criuCache = guardCriuCache();
    h = new Harness('ckrpc');
    outDir = path.join(h.dir, 'out');
    fs.mkdirSync(outDir);
    receiver = nativeHelper('console-receiver', h.dir);
  });
  afterAll(() => {
    h?.cleanup();
    criuCache?.();
  });

  const tsrun = (args: string[], opts = {}) => h.tsrun(['--criu', PRIVATE_CRIU, ...args], opts);
  const tsrunArgv = (args: string[]) => ['--root', h.root, '--criu', PRIVATE_CRIU, ...args];
  const pidOf = (id: string) => JSON.parse(tsrun(['state', id]).stdout).pid as number;
  /** A bundle whose process counts into its own file in /out (`script` gets $F, the file). */
  const counterBundle = (script: string, edit?: (c: Record<string, any>) => void) => {
    const name = `count-${++n}`;
    const b = h.bundle((c) => {
      c.process.args = ['sh', '-c', script];
      c.process.env.push(`F=/out/${name}`);
      c.mounts.push({ destination: '/out', type: 'bind', source: outDir, options: ['rbind', 'rw'] });
      edit?.(c);
    });
    return { b, file: path.join(outDir, name) };
  };
  const contiguous = (v: number[]) => v.every((x, i) => x === i + 1);
  /** A process's pid in its own pid namespace (the last of its NSpid). */
  const nsPidOf = (hostPid: number | string) => Number(/^NSpid:.*\t(\d+)$/m.exec(fs.readFileSync(`/proc/${hostPid}/status`, 'utf8'))![1]);
  /** The pids, as seen there, of the processes in the pid namespace of host pid `of`. */
  const pidsIn = (of: number): number[] => {
    const ino = fs.statSync(`/proc/${of}/ns/pid`).ino;
    return fs.readdirSync('/proc').flatMap((d) => {
      try {
        if (!/^\d+$/.test(d) || fs.statSync(`/proc/${d}/ns/pid`).ino !== ino) return [];
        return [nsPidOf(d)];
      } catch {
        return [];
      }
    });
  };
  const receive = async (sock: string, input: string) => {
    const r = collect(receiver, [sock, input]);
    await waitFor(() => r.out().startsWith('ready\n'), 'the console receiver to listen');
    return r;
  };
  /**
   * A counter with a terminal (`after` runs once $F.stop exists), its master sent to a console receiver, counting
   * to 5, then checkpointed into img (the container is gone, and its terminal lost its last slave).
   */
  const ttyCounterCheckpointed = async (name: string, after: string, img: string) => {
    const { b, file } = counterBundle(`i=0; while [ ! -e $F.stop ]; do i=$((i+1)); echo $i >> $F; sleep 0.1; done; ${after}`, (c) => {
      c.process.terminal = true;
    });
    const a = h.id(name);
    const sock = path.join(h.dir, `${name}.sock`);
    const first = await receive(sock, '');
    expect(tsrun(['create', '--console-socket', sock, '--bundle', b, a]).code).toBe(0);
    expect(tsrun(['start', a]).code).toBe(0);
    await waitFor(() => counts(file).length >= 5, 'the counter to count to 5');
    const ck = tsrun(['checkpoint', '--image-path', img, a]);
    expect(ck.code, ck.stderr).toBe(0);
    expect((await first.done).code).toBe(0);
    return { a, b, file };
  };

  it('a container with a terminal: checkpointed, then restored with a new terminal sent to --console-socket', async () => {
    const { a, b, file } = await ttyCounterCheckpointed('tty', 'read x; echo "got $x on $(tty)"', path.join(h.dir, 'img-tty'));
    expect(tsrun(['delete', '--force', a]).code).toBe(0);
    const atCheckpoint = counts(file).length;

    // detached, a new terminal needs a socket to go to (runc's rule)
    const nosock = tsrun(['restore', '-d', '--bundle', b, '--image-path', path.join(h.dir, 'img-tty'), h.id('nosock')]);
    expect([nosock.code, nosock.stderr]).toEqual([1, expect.stringContaining('--detach needs --console-socket')]);
    expect(leftovers(h.root, h.id('nosock'))).toEqual([]);

    // a console socket nobody listens on: CRIU is stopped, nothing is left
    const dead = h.id('ttydead');
    const ds = tsrun(['restore', '-d', '--console-socket', path.join(h.dir, 'nobody.sock'), '--bundle', b, '--image-path', path.join(h.dir, 'img-tty'), dead]);
    expect([ds.code, ds.stderr]).toEqual([1, expect.stringContaining(`connect to the console socket "${path.join(h.dir, 'nobody.sock')}"`)]);
    expect(leftovers(h.root, dead)).toEqual([]);
    expect(counts(file).length).toBe(atCheckpoint);

    const r = h.id('ttyr');
    const second = await receive(path.join(h.dir, 'c2.sock'), 'hello\n');
    const rs = tsrun(['restore', '-d', '--console-socket', path.join(h.dir, 'c2.sock'), '--bundle', b, '--image-path', path.join(h.dir, 'img-tty'), r]);
    expect(rs.code, rs.stderr).toBe(0);
    await waitFor(() => counts(file).length >= atCheckpoint + 3, 'the restored counter to count on');
    expect(contiguous(counts(file))).toBe(true);
    fs.writeFileSync(`${file}.stop`, '');
    const { code, out } = await second.done;
    expect(code).toBe(0);
    // the new master came with the engine's usual name, and the restored shell reads and writes through it
    expect(out).toMatch(/^ready\nname=\/dev\/ptmx\n/);
    expect(out).toMatch(/got hello on \/dev\/pts\/\d+\n/);
    await waitFor(() => JSON.parse(tsrun(['state', r]).stdout).status === 'stopped', 'the restored container to stop');
    expect(tsrun(['delete', r]).code).toBe(0);
    expect(leftovers(h.root, r)).toEqual([]);
  }, 60_000);

  it('restore in the foreground waits for the process, exits with its status, forwards signals, then deletes', async () => {
    const { b, file } = counterBundle('trap "exit 42" TERM; i=0; while [ ! -e $F.stop ]; do i=$((i+1)); echo $i >> $F; sleep 0.1; done; exit 7');
    const img = path.join(h.dir, 'img-fg');
    for (const [id, stop, want] of [
      ['fg1', true, 7],
      ['fg2', false, 42],
    ] as const) {
      fs.rmSync(`${file}`, { force: true });
      fs.rmSync(`${file}.stop`, { force: true });
      const a = h.id(`${id}a`);
      expect(tsrun(['run', '-d', '--bundle', b, a], quiet).code).toBe(0);
      await waitFor(() => counts(file).length >= 5, 'the counter to count to 5');
      const ck = tsrun(['checkpoint', '--image-path', img, a]);
      expect(ck.code, ck.stderr).toBe(0);
      const at = counts(file).length;
      const r = h.id(`${id}r`);
      const fg = collect(TSRUN, tsrunArgv(['restore', '--bundle', b, '--image-path', img, r]));
      await waitFor(() => counts(file).length >= at + 3, 'the restored counter to count on').catch((e) => {
        throw new Error(`${e.message}: ${fg.out()}`);
      });
      const pid = pidOf(r);
      expect(JSON.parse(tsrun(['state', r]).stdout).status).toBe('running');
      // the restored process is a child of tsrun-init --criu, which tsrun waits through
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      expect(fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0')).toContain('--criu');
      if (stop) fs.writeFileSync(`${file}.stop`, '');
      else fg.proc.kill('SIGTERM'); // to tsrun, which passes it on
      const done = await fg.done;
      expect([done.code, done.out]).toEqual([want, '']);
      expect(contiguous(counts(file))).toBe(true);
      // deleted afterwards, as after `run`
      expect(tsrun(['state', r]).stderr).toContain('does not exist');
      expect(leftovers(h.root, r)).toEqual([]);
    }
  }, 60_000);

  it('restore in the foreground with a terminal and no socket proxies the caller\'s terminal, as run does', async () => {
    const img = path.join(h.dir, 'img-fgtty');
    const { b, file } = await ttyCounterCheckpointed('fgtty', 'echo "counted $i"; read x; echo "got $x on $(tty)"; exit 5', img);
    const at = counts(file).length;
    fs.writeFileSync(`${file}.stop`, ''); // the restored loop ends at once
    const r = h.id('fgttyr');
    const cmd = [TSRUN, ...tsrunArgv(['restore', '--bundle', b, '--image-path', img, r])].map((x) => `'${x}'`).join(' ');
    const run = collect(nativeHelper('pty-run', h.dir), ['24', '80', 'expect:counted', 'send:hello\\n', 'expect:got hello', '--', 'sh', '-c', `${cmd}; echo "EXIT=$?"`]);
    const { code, out } = await run.done;
    expect(code, out).toBe(0);
    expect(out).toContain(`counted ${at}`);
    expect(out).toMatch(/got hello on \/dev\/pts\/\d+/);
    expect(out).toContain('EXIT=5');
    expect(leftovers(h.root, r)).toEqual([]);
  }, 60_000);

  it('runs prestart and createRuntime hooks on restore, with the restored pid; a failing hook fails the restore', async () => {
    const hookOut = path.join(h.dir, 'hooks.log');
    const hook = (name: string, fail = false) => ({
      path: '/bin/sh',
      args: ['sh', '-c', `{ echo ${name}; cat; echo; } >> ${hookOut}${fail ? '; exit 3' : ''}`],
    });
    const { b, file } = counterBundle('i=0; while :; do i=$((i+1)); echo $i >> $F; sleep 0.1; done');
    const a = h.id('hk');
    expect(tsrun(['run', '-d', '--bundle', b, a], quiet).code).toBe(0);
    await waitFor(() => counts(file).length >= 5, 'the counter to count to 5');
    const img = path.join(h.dir, 'img-hooks');
    expect(tsrun(['checkpoint', '--leave-running', '--image-path', img, a]).code).toBe(0);
    expect(tsrun(['delete', '--force', a]).code).toBe(0);

    const cfg = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    cfg.hooks = { prestart: [hook('prestart')], createRuntime: [hook('createRuntime')] };
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(cfg));
    const r = h.id('hkr');
    const rs = tsrun(['restore', '-d', '--bundle', b, '--image-path', img, r]);
    expect(rs.code, rs.stderr).toBe(0);
    const pid = pidOf(r);
    const lines = fs.readFileSync(hookOut, 'utf8').trim().split('\n');
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual(['prestart', 'createRuntime']);
    for (const state of lines.filter((_, i) => i % 2 === 1).map((l) => JSON.parse(l))) {
      expect(state).toMatchObject({ id: r, pid, status: 'creating', bundle: fs.realpathSync(b) });
    }
    expect(tsrun(['delete', '--force', r]).code).toBe(0);

    cfg.hooks.createRuntime = [hook('createRuntime', true)];
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(cfg));
    const bad = h.id('hkbad');
    const f = tsrun(['restore', '-d', '--bundle', b, '--image-path', img, bad]);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('createRuntime');
    expect(tsrun(['state', bad]).stderr).toContain('does not exist');
    expect(leftovers(h.root, bad)).toEqual([]);
    // nothing restored lives on: the counter's file stops growing
    const now = counts(file).length;
    await new Promise((res) => setTimeout(res, 400));
    expect(counts(file).length).toBe(now);
  }, 60_000);

  it('network and pid namespaces joined by path are left out of the images and joined again on restore', async () => {
    const netns = `tsrun-ck-${process.pid}`;
    const holder = h.id('nsholder');
    expect(spawnSync('ip', ['netns', 'add', netns]).status).toBe(0);
    try {
      // a pod's sandbox: its pid namespace is the one the counter joins
      const hb = h.bundle((c) => (c.process.args = ['sh', '-c', 'while :; do sleep 0.2; done'])); // it reaps orphans, as pause does
      expect(tsrun(['run', '-d', '--bundle', hb, holder], quiet).code).toBe(0);
      const holderPid = pidOf(holder);
      const join = (c: Record<string, any>) => {
        c.linux.namespaces = c.linux.namespaces.filter((x: { type: string }) => x.type !== 'network' && x.type !== 'pid');
        c.linux.namespaces.push({ type: 'network', path: `/run/netns/${netns}` }, { type: 'pid', path: `/proc/${holderPid}/ns/pid` });
      };
      const { b, file } = counterBundle('i=0; while :; do i=$((i+1)); echo $i >> $F; sleep 0.1; done', join);
      const a = h.id('nsj');
      expect(tsrun(['run', '-d', '--bundle', b, a], quiet).code).toBe(0);
      await waitFor(() => counts(file).length >= 5, 'the counter to count to 5');
      const oldPid = nsPidOf(pidOf(a));
      expect(oldPid).toBeGreaterThan(1);
      const img = path.join(h.dir, 'img-nsjoin');
      const ck = tsrun(['checkpoint', '--image-path', img, a]);
      expect(ck.code, ck.stderr).toBe(0);
      const at = counts(file).length;
      // CRIU restores the counter under its old pid there, free once the sandbox's init has reaped it
      await waitFor(() => !pidsIn(holderPid).includes(oldPid), `pid ${oldPid} to be free in the sandbox`);
      const r = h.id('nsjr');
      const rs = tsrun(['restore', '-d', '--bundle', b, '--image-path', img, r]);
      expect(rs.code, rs.stderr).toBe(0);
      const pid = pidOf(r);
      expect(fs.statSync(`/proc/${pid}/ns/net`).ino).toBe(fs.statSync(`/run/netns/${netns}`).ino);
      expect(fs.statSync(`/proc/${pid}/ns/pid`).ino).toBe(fs.statSync(`/proc/${holderPid}/ns/pid`).ino);
      await waitFor(() => counts(file).length >= at + 3, 'the restored counter to count on');
      expect(contiguous(counts(file))).toBe(true);
      expect(tsrun(['delete', '--force', r]).code).toBe(0);
      expect(leftovers(h.root, r)).toEqual([]);

      // the namespace must still be there
      expect(spawnSync('ip', ['netns', 'delete', netns]).status).toBe(0);
      const gone = tsrun(['restore', '-d', '--bundle', b, '--image-path', img, h.id('nsgone')]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain(`the network namespace to join (linux.namespaces, type network): /run/netns/${netns}`);
      expect(leftovers(h.root, h.id('nsgone'))).toEqual([]);
    } finally {
      tsrun(['delete', '--force', holder]);
      spawnSync('ip', ['netns', 'delete', netns]);
    }
  }, 60_000);
});
