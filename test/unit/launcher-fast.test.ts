// The launcher's copies of TypeScript's tables (native/launcher-fast.c): its signal names and numbers are
// SIGNAL_NUMBERS, and its documents come in the order answers.ts writes them. And the answers file itself.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SIGNAL_NUMBERS } from '../../src/runtime/signal-numbers';
import { ANSWER_STATUSES, ANSWERS_FORMAT, answersText } from '../../src/state/answers';
import { crc32hex } from '../../src/state/crc32';

const source = fs.readFileSync(path.join(__dirname, '../../native/launcher-fast.c'), 'utf8');

describe('native/launcher-fast.c against the TypeScript it mirrors', () => {
  it('has the signal table of signal-numbers.ts', () => {
    const table = source.slice(source.indexOf('SIGNALS[] = {'), source.indexOf('};', source.indexOf('SIGNALS[] = {')));
    const fromC = Object.fromEntries([...table.matchAll(/\{ "([A-Z0-9]+)", (\d+) \}/g)].map((m) => [`SIG${m[1]}`, Number(m[2])]));
    expect(fromC).toEqual({ ...SIGNAL_NUMBERS });
  });

  it('reads the documents in the order answers.ts writes them, in its format', () => {
    const m = /STATUS\[4\] = \{ ([^}]+) \}/.exec(source)!;
    expect(m[1].split(',').map((s) => s.trim().replace(/"/g, ''))).toEqual([...ANSWER_STATUSES]);
    expect(source).toContain(`"${ANSWERS_FORMAT}"`);
  });
});

describe('answersText', () => {
  const rec = {
    ociVersion: '1.3.0',
    id: 'c1',
    status: 'created' as const,
    pid: 42,
    pidStartTime: '777',
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-01-01T00:00:00.000Z',
    owner: '',
    annotations: { 'a\nb': 'é' },
    cgroupPaths: { freezer: '/sys/fs/cgroup/freezer/c1', memory: '/sys/fs/cgroup/memory/c1', unified: '/sys/fs/cgroup/unified/c1' },
    pidNamespace: true,
  };
  const bytes = Buffer.from(JSON.stringify(rec));

  it('holds the record checksum, the facts, and each status document as `state` prints it', () => {
    const text = answersText(rec, bytes, '/r/c1/exec.fifo')!.toString();
    const lines = text.split('\n');
    expect(lines.slice(0, 13)).toEqual([
      'tsrun-answers 1',
      `record ${crc32hex(bytes)} ${bytes.length}`,
      'pid 42',
      'start 777',
      'fifo /r/c1/exec.fifo',
      'freezer v1 /sys/fs/cgroup/freezer/c1',
      'startable 1',
      'deletable 1',
      'procs /sys/fs/cgroup/memory/c1/cgroup.procs',
      'rmdirs 3',
      '/sys/fs/cgroup/freezer/c1',
      '/sys/fs/cgroup/memory/c1',
      '/sys/fs/cgroup/unified/c1',
    ]);
    const rest = text.slice(lines.slice(0, 13).join('\n').length + 1);
    const docs: Record<string, unknown> = {};
    let off = 0;
    const buf = Buffer.from(rest);
    for (const status of ANSWER_STATUSES) {
      const nl = buf.indexOf('\n', off);
      const [, name, len] = buf.subarray(off, nl).toString().split(' ');
      expect(name).toBe(status);
      const doc = buf.subarray(nl + 1, nl + 1 + Number(len)).toString();
      expect(doc.endsWith('}\n')).toBe(true);
      docs[status] = JSON.parse(doc);
      off = nl + 1 + Number(len);
    }
    expect(off).toBe(buf.length);
    expect(docs.stopped).toMatchObject({ status: 'stopped', pid: 0 });
    expect(docs.paused).toMatchObject({ status: 'paused', pid: 42, annotations: { 'a\nb': 'é' } });
  });

  it('asks cgroup v2 for the freezer on a v2 host, none without a freezer, and gives no answers it cannot trust', () => {
    const v2 = { ...rec, cgroupPaths: { unified: '/sys/fs/cgroup/c1' } };
    expect(answersText(v2, bytes, '/f')!.toString()).toContain('\nfreezer v2 /sys/fs/cgroup/c1\n');
    expect(answersText({ ...rec, cgroupPaths: {} }, bytes, '/f')!.toString()).toContain('\nfreezer none\n');
    expect(answersText({ ...rec, cgroupPaths: { memory: '/m' } }, bytes, '/f')!.toString()).toContain('\nfreezer none\n');
    expect(answersText({ ...rec, pidStartTime: undefined }, bytes, '/f')!.toString()).toContain('\nstart -\n');
    // start is Bun's when a poststart hook must run after it, or there is no process
    expect(answersText({ ...rec, hooks: { poststart: [{ path: '/bin/true' }] } }, bytes, '/f')!.toString()).toContain('\nstartable 0\n');
    expect(answersText({ ...rec, hooks: { poststart: [] } }, bytes, '/f')!.toString()).toContain('\nstartable 1\n');
    expect(answersText({ ...rec, noProcess: true }, bytes, '/f')!.toString()).toContain('\nstartable 0\n');
    // delete is Bun's with a unit, a resctrl group, host mounts or a poststop hook; v2 removes its one directory
    for (const more of [{ systemd: { unit: 'x.scope' } }, { intelRdt: { group: 'g' } }, { hostMounts: '/m' }, { hooks: { poststop: [{ path: '/bin/true' }] } }]) {
      expect(answersText({ ...rec, ...more } as never, bytes, '/f')!.toString()).toContain('\ndeletable 0\nprocs /sys/fs/cgroup/memory/c1/cgroup.procs\nrmdirs 0\ndoc ');
    }
    expect(answersText(v2, bytes, '/f')!.toString()).toContain('\ndeletable 1\nprocs /sys/fs/cgroup/c1/cgroup.procs\nrmdirs 1\n/sys/fs/cgroup/c1\ndoc ');
    expect(answersText({ ...rec, cgroupPaths: {} }, bytes, '/f')!.toString()).toContain('\ndeletable 1\nprocs -\nrmdirs 0\ndoc ');
    expect(answersText({ ...rec, status: 'creating' }, bytes, '/f')).toBeUndefined();
    expect(answersText({ ...rec, pid: 0 }, bytes, '/f')).toBeUndefined();
    expect(answersText({ ...rec, pidStartTime: 'x' }, bytes, '/f')).toBeUndefined();
    expect(answersText(rec, bytes, '/a\nb')).toBeUndefined();
    expect(answersText(rec, bytes, 'relative')).toBeUndefined();
    expect(answersText({ ...rec, cgroupPaths: { freezer: '/x\ny' } }, bytes, '/f')).toBeUndefined();
  });
});
