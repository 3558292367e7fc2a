// podman 4.3 `container checkpoint` and `container restore` with tsrun as the runtime: a counter goes on from
// where it was, in place, with --leave-running and with a terminal; the calls podman and conmon make are recorded and checked.
// podman finds criu on PATH (it asks its version itself), and so does tsrun: the private criu 4.1 goes first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, TSRUN, cgroupDirs, commandOf, engineAvailable, flagsOf, runCmd, waitFor } from './engines';
import { Podman } from './podman-engine';
import { criuAvailable, guardCriuCache } from '../helpers/criu';

const enabled = engineAvailable('podman', ['podman', 'conmon']) && criuAvailable();

describe.skipIf(!enabled)('podman checkpoint and restore with tsrun', () => {
  let p: Podman;
  let criuCache: () => void;

  beforeAll(() => {
    criuCache = guardCriuCache();
    p = new Podman();
    p.env.PATH = `${path.join(REPO, 'build/criu')}:${p.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  });

  afterAll(() => {
    criuCache?.();
    if (!p) return;
    const problems = p.cleanup();
    const left = p.leftovers();
    if (problems.length || left.length) {
      throw new Error(`podman checkpoint test left things behind (kept ${p.dir}):\n${[...problems, ...left].join('\n')}`);
    }
    p.removeDir();
  });

  const counter = ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done'];
  const logged = (name: string) =>
    p
      .podman(['logs', name])
      .stdout.split('\n')
      .filter((l) => l !== '')
      .map(Number);
  const tsrunState = (id: string) => {
    const r = runCmd(p.dir, TSRUN, ['state', id]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { status: string; pid: number }) : undefined;
  };
  const callsOf = (id: string, command: string) => p.calls().filter((c) => c.argv.at(-1) === id && commandOf(c.argv).command === command);

  it('checkpoint stops the counter, restore starts it again where it was', () => {
    const r = p.run(['-d', '--name', 'ck1'], counter);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(waitFor(() => logged('ck1').length >= 5, 10_000)).toBe(true);
    const pid = tsrunState(id)!.pid;

    const ck = p.podman(['container', 'checkpoint', 'ck1']);
    expect(ck.code, ck.stderr).toBe(0);
    expect(p.inspect('ck1', '{{.State.Status}}')).toBe('exited');
    expect(tsrunState(id)).toBeUndefined(); // podman deleted it in tsrun after the checkpoint
    const atCheckpoint = logged('ck1');

    const rs = p.podman(['container', 'restore', 'ck1']);
    expect(rs.code, rs.stderr).toBe(0);
    expect(p.inspect('ck1', '{{.State.Status}}')).toBe('running');
    const restored = tsrunState(id)!;
    expect(restored.status).toBe('running');
    expect(restored.pid).not.toBe(pid);
    expect(Number(p.inspect('ck1', '{{.State.Pid}}'))).toBe(restored.pid);
    expect(waitFor(() => logged('ck1').length >= atCheckpoint.length + 5, 10_000)).toBe(true);
    const all = logged('ck1');
    expect(all.every((x, i) => x === i + 1), all.join(' ')).toBe(true); // on from the last number, never from 1
    // the restored container is a container like any other: exec, its cgroup under podman's parent, stop, rm
    expect(p.podman(['exec', 'ck1', '/bin/cat', '/proc/1/cmdline']).stdout).toContain('while');
    expect(fs.readFileSync(`/proc/${restored.pid}/cgroup`, 'utf8')).toContain(`${p.cgroupParent}/libpod-${id}`);
    expect(p.podman(['stop', '--time', '1', 'ck1']).code).toBe(0);
    expect(p.podman(['rm', 'ck1']).code).toBe(0);
    expect(tsrunState(id)).toBeUndefined();
    expect(cgroupDirs(`${p.cgroupParent}/libpod-${id}`)).toEqual([]);

    // what podman and conmon asked of tsrun
    const [dump] = callsOf(id, 'checkpoint');
    expect(dump.rc).toBe(0);
    const d = flagsOf(commandOf(dump.argv).args, ['--image-path', '--work-path']);
    expect(Object.keys(d.flags).sort()).toEqual(['--image-path', '--work-path']);
    expect(d.flags['--image-path']).toBe(path.join(String(d.flags['--work-path']), 'checkpoint'));
    const [restore] = callsOf(id, 'restore');
    expect(restore.rc).toBe(0);
    const { globals, args } = commandOf(restore.argv);
    expect(globals[0]).toBe('--log-format=json'); // conmon runs restore, as it runs create
    const rflags = flagsOf(args, ['--bundle', '--pid-file', '--image-path', '--work-path']);
    expect(Object.keys(rflags.flags).sort()).toEqual(['--bundle', '--detach', '--image-path', '--pid-file', '--work-path']);
    // podman asks for the checkpoint flags tsrun has before each checkpoint and restore
    expect(p.calls().filter((c) => c.argv.join(' ') === 'checkpoint --help').every((c) => c.rc === 0)).toBe(true);
    // after the checkpoint podman deletes the stopped container in tsrun
    const deletes = p.calls().filter((c) => c.argv.at(-1) === id && commandOf(c.argv).command === 'delete');
    expect(deletes[0].rc).toBe(0);
  }, 120_000);

  it('checkpoint --leave-running keeps the counter running', () => {
    const r = p.run(['-d', '--name', 'ck2'], counter);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(waitFor(() => logged('ck2').length >= 3, 10_000)).toBe(true);
    const ck = p.podman(['container', 'checkpoint', '--leave-running', 'ck2']);
    expect(ck.code, ck.stderr).toBe(0);
    const at = logged('ck2').length;
    expect(p.inspect('ck2', '{{.State.Status}}')).toBe('running');
    expect(tsrunState(id)!.status).toBe('running');
    expect(waitFor(() => logged('ck2').length >= at + 3, 10_000)).toBe(true);
    const [dump] = callsOf(id, 'checkpoint');
    expect(flagsOf(commandOf(dump.argv).args, ['--image-path', '--work-path']).flags['--leave-running']).toBe(true);
    expect(p.podman(['rm', '--force', '--time', '0', 'ck2']).code).toBe(0);
    expect(tsrunState(id)).toBeUndefined();
  }, 60_000);

  it('a container with a terminal (-t) is checkpointed and restored with a new terminal, which conmon gets', () => {
    const r = p.run(['-dt', '--name', 'ck3'], counter);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(waitFor(() => logged('ck3').length >= 5, 10_000)).toBe(true);
    const ck = p.podman(['container', 'checkpoint', 'ck3']);
    expect(ck.code, ck.stderr).toBe(0);
    expect(tsrunState(id)).toBeUndefined();
    const atCheckpoint = logged('ck3');
    const rs = p.podman(['container', 'restore', 'ck3']);
    expect(rs.code, rs.stderr).toBe(0);
    expect(tsrunState(id)!.status).toBe('running');
    // conmon reads the new terminal: the counter's lines go on reaching podman's log, from where they were
    expect(waitFor(() => logged('ck3').length >= atCheckpoint.length + 5, 10_000)).toBe(true);
    const all = logged('ck3');
    expect(all.every((x, i) => x === i + 1), all.join(' ')).toBe(true);
    expect(p.podman(['exec', 'ck3', '/bin/sh', '-c', 'readlink /proc/1/fd/1']).stdout).toMatch(/^\/dev\/pts\/\d+/);
    const [restore] = callsOf(id, 'restore');
    expect(flagsOf(commandOf(restore.argv).args, ['--bundle', '--pid-file', '--image-path', '--work-path', '--console-socket']).flags['--console-socket']).toBeTruthy();
    expect(p.podman(['rm', '--force', '--time', '0', 'ck3']).code).toBe(0);
    expect(tsrunState(id)).toBeUndefined();
  }, 60_000);
});
