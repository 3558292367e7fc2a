// Rootless with a delegated cgroup (delegation.ts: root gives the user a cgroup in every hierarchy and starts
// its commands there, as a login manager would), tsrun beside runc 1.1.5: the container gets a cgroup of its
// own below the user's, the limits apply and hold, pause, ps and update work through it, and delete removes it.
import * as fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestUser, rootlessAvailable } from './user';
import { Delegation, PURE_V2 } from './delegation';
import { RUNTIMES, bundle, deleteAll, leftovers, rootlessConfig, rt, uniqueId, until, type Runtime } from './runtimes';

const ok = rootlessAvailable();
let u: TestUser;
let deleg: Delegation;

beforeAll(() => {
  if (!ok) return;
  u = new TestUser('deleg');
  deleg = new Delegation(u);
});

afterAll(() => {
  if (!u) return;
  for (const r of RUNTIMES) deleteAll(u, r);
  const left = [...deleg.remove(), ...u.cleanup()];
  expect(left).toEqual([]);
});

describe.skipIf(!ok).each(RUNTIMES)('rootless in a delegated cgroup, $name', (r: Runtime) => {
  const run = (args: string[]) => rt(u, r, args, { via: (argv) => deleg.wrap(argv) });
  const state = (id: string) => {
    const s = run(['state', id]);
    return s.code === 0 ? (JSON.parse(s.stdout) as { status: string; pid: number }) : undefined;
  };

  afterEach(() => {
    deleteAll(u, r);
    expect(leftovers(u, r)).toEqual([]);
  });

  it('the container gets its own cgroup below the user\'s; limits, pause, ps, update and delete work there', async () => {
    const id = uniqueId('deleg');
    const b = bundle(u, rootlessConfig(u, ['sleep', '100']), (c) => {
      c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 20 } };
    });
    const c = run(['create', '-b', b, id]);
    expect(c.code, c.stderr).toBe(0);
    const pid = state(id)!.pid;
    // the user's delegated cgroup, then the container's, in every v1 hierarchy; tsrun also in the cgroup2
    // mount (as for root on a hybrid host), where runc 1.1.5 leaves it in the user's; on pure v2 the one line
    const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(PURE_V2 ? 0 : 1);
    for (const l of lines) {
      const [, ctrl, where] = l.split(':');
      const own = r.name === 'tsrun' || ctrl !== '' || PURE_V2;
      expect(where, l).toBe(own ? `/${deleg.name}/${id}` : `/${deleg.name}`);
    }
    expect(deleg.memoryLimit(id)).toBe(String(64 << 20));
    expect(deleg.pidsMax(id)).toBe('20');
    expect(run(['start', id]).code).toBe(0);

    const p = run(['pause', id]);
    expect(p.code, p.stderr).toBe(0);
    expect(state(id)!.status).toBe('paused');
    expect(deleg.frozen(id)).toBe(true);
    expect(run(['resume', id]).code).toBe(0);
    expect(state(id)!.status).toBe('running');

    const ps = run(['ps', '--format', 'json', id]);
    expect(ps.code, ps.stderr).toBe(0);
    expect(JSON.parse(ps.stdout)).toEqual([pid]);
    const up = run(['update', '--memory', '96m', id]);
    expect(up.code, up.stderr).toBe(0);
    expect(deleg.memoryLimit(id)).toBe(String(96 << 20));
    const e = run(['exec', id, 'cat', '/proc/self/cgroup']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(new RegExp(`^\\d+:${PURE_V2 ? '' : 'memory'}:/${deleg.name}/${id}$`, 'm'));
    const ev = run(['events', '--stats', id]);
    expect(ev.code, ev.stderr).toBe(0);
    const stats = JSON.parse(ev.stdout).data;
    expect(stats.memory.usage.limit).toBe(96 << 20);
    expect(stats.pids.current).toBeGreaterThan(0);

    expect(run(['kill', id, 'KILL']).code).toBe(0);
    await until('stopped', () => state(id)?.status === 'stopped');
    expect(run(['delete', id]).code).toBe(0);
    expect(deleg.childrenOf(id)).toEqual([]);
  });

  it('a pids limit holds: forks past it fail', () => {
    const id = uniqueId('pids');
    const b = bundle(u, rootlessConfig(u, ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done; wait; echo done']), (c) => {
      c.linux.resources = { pids: { limit: 4 } };
    });
    const res = run(['run', '-b', b, id]);
    // the shell gives up at the first fork the limit refuses (status 2), with 4 processes in the cgroup
    expect(res.code, res.stderr).toBe(2);
    expect(res.stdout).not.toMatch(/done/);
    expect(res.stderr).toMatch(/can't fork: Resource temporarily unavailable/);
    expect(deleg.childrenOf(id)).toEqual([]);
  });
});
