// buildah 1.28 with tsrun: `buildah bud --runtime WRAPPER --isolation oci`
// builds FROM the busybox image imported into the overlay storage podman uses,
// so podman (with tsrun) runs the result. buildah drives the runtime itself,
// without conmon: create, start, state (polled until stopped), delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Call, commandOf, engineAvailable, flagsOf, timings } from './engines';
import { BASE_IMAGE, PodmanImages } from './podman-images';

const enabled = engineAvailable('buildah', ['buildah', 'podman', 'conmon', 'tar']);

const BUILT = 'localhost/tsrun-built:latest';

describe.skipIf(!enabled)('buildah bud with tsrun', () => {
  let p: PodmanImages;
  let bud: { code: number; stdout: string; stderr: string };

  beforeAll(() => {
    p = new PodmanImages();
    p.importRootfs();
    const ctx = p.context('built', [
      `FROM ${BASE_IMAGE}`,
      'RUN echo built > /built.txt && mkdir /data',
      'RUN grep Seccomp: /proc/self/status > /data/seccomp.txt',
      'RUN sleep 1 && echo slept > /data/slept.txt',
    ]);
    bud = p.buildah(p.budArgs(ctx, BUILT));
  });

  afterAll(() => {
    if (!p) return;
    const problems = p.cleanup();
    const left = p.leftovers();
    if (problems.length || left.length) {
      throw new Error(`buildah test left things behind (kept ${p.dir}):\n${[...problems, ...left].join('\n')}`);
    }
    p.removeDir();
  });

  /** tsrun's calls for buildah's containers, by container id, in order. */
  const buildahCalls = (): Map<string, Call[]> => {
    const by = new Map<string, Call[]>();
    for (const c of p.calls()) {
      const id = c.argv.at(-1) ?? '';
      if (/^buildah-buildah\d+$/.test(id)) by.set(id, [...(by.get(id) ?? []), c]);
    }
    return by;
  };

  it('bud builds FROM the imported image, running each RUN step with tsrun', () => {
    expect(bud.stderr).not.toMatch(/error/i);
    expect(bud.code).toBe(0);
    expect(bud.stdout).toContain('STEP 4/4: RUN sleep 1');
    const id = bud.stdout.trim().split('\n').at(-1)!;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // the same storage: podman lists what buildah committed
    expect(p.podman(['image', 'inspect', '--format', '{{.Id}}', BUILT]).stdout.trim()).toBe(id);
    expect(buildahCalls().size).toBe(3);
    // bud removes its working container
    expect(p.buildah(['containers', '--quiet']).stdout).toBe('');
  });

  it('podman runs the built image with tsrun and sees what the RUN steps wrote', () => {
    const r = p.runImage(['--rm'], BUILT, ['sh', '-c', 'cat /built.txt /data/seccomp.txt /data/slept.txt']);
    expect(r.stderr).toBe('');
    // buildah too applies containers-common's default profile to RUN steps
    expect(r.stdout).toBe('built\nSeccomp:\t2\nslept\n');
    expect(r.code).toBe(0);
    // one new layer on top of the base; the base image's layer is unchanged
    const layers = (name: string) => p.podman(['image', 'inspect', '--format', '{{range .RootFS.Layers}}{{.}} {{end}}', name]).stdout.trim().split(' ');
    expect(layers(BUILT)).toEqual([...layers(BASE_IMAGE), expect.stringMatching(/^sha256:/)]);
    const base = p.podman(['image', 'inspect', '--format', '{{.GraphDriver.Data.UpperDir}}', BASE_IMAGE]).stdout.trim();
    expect(fs.existsSync(path.join(base, 'built.txt'))).toBe(false);
  });

  it('buildah calls create, start, state until stopped, delete: no global flags, bundles under TMPDIR', () => {
    const steps = buildahCalls();
    for (const [id, calls] of steps) {
      const commands = calls.map((c) => commandOf(c.argv).command);
      expect(commands[0], id).toBe('create');
      expect(commands[1], id).toBe('start');
      expect(commands.at(-1), id).toBe('delete');
      expect(new Set(commands.slice(2, -1)), id).toEqual(new Set(['state']));
      for (const c of calls) {
        const where = c.argv.join(' ');
        const { globals, command, args } = commandOf(c.argv);
        expect(globals, where).toEqual([]);
        expect(c.rc, where).toBe(0);
        const { flags, positionals } = flagsOf(args, ['--bundle', '--pid-file']);
        expect(positionals, where).toEqual([id]);
        if (command === 'create') {
          const bundle = flags['--bundle'] as string;
          expect(path.dirname(bundle), where).toBe(path.join(p.dir, 'tmp'));
          expect(flags, where).toEqual({ '--bundle': bundle, '--pid-file': path.join(bundle, 'pid') });
        } else {
          expect(flags, where).toEqual({});
        }
      }
    }
    // buildah polls state every 100 ms (plus the call itself): the step that sleeps 1 s is asked again and again
    const states = [...steps.values()].map((calls) => calls.filter((c) => commandOf(c.argv).command === 'state').length);
    expect(Math.max(...states)).toBeGreaterThanOrEqual(3);
    console.info(`buildah: tsrun calls (state per step: ${states.join(', ')})\n${timings([...steps.values()].flat())}`);
  });

  it('a failing RUN step fails the build with its exit status, and its container is deleted', () => {
    const before = new Set(buildahCalls().keys());
    const ctx = p.context('failing', [`FROM ${BASE_IMAGE}`, 'RUN echo about to fail; exit 3']);
    const r = p.buildah(p.budArgs(ctx, 'localhost/tsrun-failing:latest'));
    expect(r.stdout).toContain('about to fail');
    expect(r.stderr).toContain('exit status 3');
    expect(r.code).not.toBe(0);
    const fresh = [...buildahCalls()].filter(([id]) => !before.has(id));
    expect(fresh).toHaveLength(1);
    const [id, calls] = fresh[0];
    expect(calls.map((c) => [c.rc, commandOf(c.argv).command]).filter(([, cmd]) => cmd !== 'state')).toEqual([
      [0, 'create'],
      [0, 'start'],
      [0, 'delete'],
    ]);
    // with --rm (the default) buildah removes and unmounts the working container of a failed build too
    expect(p.buildah(['containers', '--quiet']).stdout).toBe('');
    expect(p.overlayMounts()).toEqual([]);
    expect(fs.existsSync(path.join(p.tsrunRoot, id))).toBe(false);
    expect(p.podman(['image', 'exists', 'localhost/tsrun-failing:latest']).code).toBe(1);
  });
});
