import { describe, expect, it } from 'vitest';
import { recordTemplates } from '../../src/recipe/records';
import { fill } from '../../src/recipe/template';
import { ANSWER_STATUSES, answersText } from '../../src/state/answers';
import { hookState } from '../../src/runtime/hook-state';
import type { ContainerRecord } from '../../src/state/store';

const hier = ['cpu', 'memory', 'pids', 'freezer'];
const cgroupPaths = (id: string) => Object.fromEntries(hier.map((h) => [h, `/sys/fs/cgroup/${h}/${id}`]));

/** A created container's record, in the key order create writes it. */
function created(id: string, pid: number, start: string, at: string, more: Partial<ContainerRecord> = {}): ContainerRecord {
  const rec: ContainerRecord = {
    ociVersion: '1.3.0',
    id,
    status: 'creating',
    pid: 0,
    bundle: '/srv/bundle',
    rootfs: '/srv/bundle/rootfs',
    created: at,
    owner: '',
    annotations: { team: 'web' },
    cgroupPaths: {},
    pidNamespace: true,
    hooks: { poststart: undefined, poststop: undefined },
    creator: { pid: 77, startTime: '1' },
    ...more,
  };
  rec.cgroupPaths = cgroupPaths(id);
  rec.pid = pid;
  rec.pidStartTime = start;
  rec.status = 'created';
  delete rec.creator;
  return rec;
}

/** The documents of an answers file, in order. */
function docsOf(answers: Buffer): string[] {
  const text = answers.toString('utf8');
  const out: string[] = [];
  const re = /^doc \w+ (\d+)\n/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const from = m.index + m[0].length;
    out.push(text.slice(from, from + Number(m[1])));
    re.lastIndex = from + Number(m[1]);
  }
  return out;
}

describe('recipe record templates', () => {
  const real = created('web-000001', 1234, '5555', '2026-12-08T00:00:00.000Z');
  const t = recordTemplates(real, { id: 'tsrun-probe-0123456789', cgroupPaths: cgroupPaths('tsrun-probe-0123456789') })!;
  const values = { id: 'db-42', pid: '999', pidStart: '31337', created: '2026-12-09T01:02:03.004Z', creatorPid: '55', creatorStart: '66' };
  const other = created('db-42', 999, '31337', '2026-12-09T01:02:03.004Z');

  it('the created state.json, filled for another container, is the one create writes for it', () => {
    expect(t).toBeDefined();
    expect(fill(t.created, values)).toBe(JSON.stringify(other));
  });

  it('the state documents are those of its answers file', () => {
    const bytes = Buffer.from(JSON.stringify(other));
    const docs = docsOf(answersText(other, bytes, '/run/tsrun/db-42/exec.fifo')!);
    expect(docs).toHaveLength(ANSWER_STATUSES.length);
    expect(t.docs.map((d) => fill(d, values))).toEqual(docs);
  });

  it('the records of the steps before: creating with its creator, then with the pid', () => {
    const creating = JSON.parse(fill(t.creating, values));
    expect(creating).toMatchObject({ id: 'db-42', status: 'creating', pid: 0, creator: { pid: 55, startTime: '66' } });
    expect(creating.pidStartTime).toBeUndefined();
    expect(creating.cgroupPaths.pids).toBe('/sys/fs/cgroup/pids/db-42');
    const withPid = JSON.parse(fill(t.withPid, values));
    expect(withPid).toMatchObject({ status: 'creating', pid: 999, pidStartTime: '31337', creator: { pid: 55 } });
  });

  it('the state sent with HOOKS_DONE is the one create sends', () => {
    expect(fill(t.hookState, values)).toBe(JSON.stringify(hookState(other, 'created')));
  });

  it('none when the id also occurs where it does not come from the id', () => {
    const byChance = created('web-000001', 1, '2', 'x', { annotations: { note: 'about web-000001' } });
    expect(recordTemplates(byChance, { id: 'tsrun-probe-0123456789', cgroupPaths: cgroupPaths('tsrun-probe-0123456789') })).toBeUndefined();
  });

  it('none when the probe does not see the same cgroup layout', () => {
    // a cgroup path that does not follow the id (a cgroupsPath in the config) cannot be templated by it
    const fixed = created('web-000001', 1, '2', 'x');
    expect(recordTemplates(fixed, { id: 'tsrun-probe-0123456789', cgroupPaths: cgroupPaths('elsewhere') })).toBeUndefined();
  });

  it('none when a value holds a sentinel', () => {
    const planted = created('web-000001', 1, '2', 'x', { annotations: { a: '\u0001pid\u0001' } });
    expect(recordTemplates(planted, { id: 'tsrun-probe-0123456789', cgroupPaths: cgroupPaths('tsrun-probe-0123456789') })).toBeUndefined();
  });
});
