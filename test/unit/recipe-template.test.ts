import { describe, expect, it } from 'vitest';
import { SENTINEL, cut, fill, idTemplate, sentinelFree, sentinelTokens } from '../../src/recipe/template';

/** What a record looks like to the template code: the id in its own field and inside derived paths. */
function record(id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id,
    pid: SENTINEL.pid.value,
    pidStartTime: SENTINEL.pidStart.value,
    created: SENTINEL.created.value,
    cgroupPaths: { pids: `/sys/fs/cgroup/pids/${id}`, memory: `/sys/fs/cgroup/memory/user.slice/${id}` },
    ...extra,
  });
}

describe('recipe templates', () => {
  it('cuts a rendering at the id and the sentinels, and fills it for another id', () => {
    const t = idTemplate((id) => record(id), 'web-1234', 'probe-000000000001')!;
    expect(t).toBeDefined();
    expect(t.filter((p) => typeof p !== 'string').map((p) => (p as { hole: string }).hole)).toEqual([
      'id', 'pid', 'pidStart', 'created', 'id', 'id',
    ]);
    const out = fill(t, { id: 'other', pid: '4242', pidStart: '987', created: '2026-12-08T00:00:00.000Z' });
    expect(JSON.parse(out)).toEqual({
      id: 'other',
      pid: 4242,
      pidStartTime: '987',
      created: '2026-12-08T00:00:00.000Z',
      cgroupPaths: { pids: '/sys/fs/cgroup/pids/other', memory: '/sys/fs/cgroup/memory/user.slice/other' },
    });
  });

  it('refuses a rendering where the id also occurs by chance', () => {
    // the id is part of a path that does not come from it: replacing it would change that path too
    expect(idTemplate((id) => record(id, { rootfs: '/srv/web-1234-data/rootfs' }), 'web-1234', 'probe-000000000001')).toBeUndefined();
    // a short id that is everywhere
    expect(idTemplate((id) => record(id), 's', 'probe-000000000001')).toBeUndefined();
  });

  it('refuses a rendering that already holds the probe id', () => {
    expect(idTemplate((id) => record(id, { note: 'probe-000000000001' }), 'web-1234', 'probe-000000000001')).toBeUndefined();
  });

  it('an id that is part of a sentinel token is matched only outside it', () => {
    const t = idTemplate((id) => record(id), 'u0001pid', 'probe-000000000001')!;
    expect(t).toBeDefined();
    expect(JSON.parse(fill(t, { id: 'x', pid: '1', pidStart: '2', created: 'c' })).pid).toBe(1);
  });

  it('a template without the values keeps the sentinels as rendered', () => {
    const text = record('abc-12345');
    const t = cut(text, new Map([...sentinelTokens(), ['abc-12345', 'id']]));
    expect(fill(t, { id: 'abc-12345' })).toBe(text);
  });

  it('tells a config that holds a sentinel', () => {
    expect(sentinelFree(JSON.stringify({ a: 'plain', b: '\u0002' }))).toBe(true);
    expect(sentinelFree(JSON.stringify({ a: '\u0001pid\u0001' }))).toBe(false);
    expect(sentinelFree('{"a":"\\\\u0001"}')).toBe(false); // a literal backslash-u0001 text: refused as well
  });

  it('wants a probe of another length', () => {
    expect(() => idTemplate((id) => id, 'abcd', 'wxyz')).toThrow(/differ in length/);
  });
});
