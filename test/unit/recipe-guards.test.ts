import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCreatePlan } from '../../src/plan/build';
import { fixedFactGuards, recordingHostFacts } from '../../src/recipe/guards';
import type { Spec } from '../../src/spec/types';
import { baseSpec, CGROUP_PROCS, fakeHost } from './plan-helpers';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n';

function plan(spec: Spec, host = fakeHost({ rootfsFiles: { '/etc/passwd': PASSWD }, paths: { '/srv/data': 'dir' } })) {
  const r = recordingHostFacts(host);
  buildCreatePlan({ spec, bundle: '/bundle', rootfs: '/bundle/rootfs', opts: { id: 'c1', fifoPath: '/run/c1/exec.fifo' }, host: r.host, cgroupProcs: CGROUP_PROCS });
  return r;
}

describe('what the planner asked the host, as checks for a replay', () => {
  it("runc's default config asks the rootfs for /etc/passwd (its env has no HOME)", () => {
    const spec = baseSpec();
    expect(spec.process!.env!.some((e) => e.startsWith('HOME='))).toBe(false);
    expect(plan(spec).asked).toContainEqual({ kind: 'rootfs-file', path: '/etc/passwd', text: PASSWD });
  });

  it('a bind mount asks for its source, and a missing file is recorded as missing', () => {
    const spec: Spec = {
      ...baseSpec(),
      process: { ...baseSpec().process!, env: ['HOME=/root'] },
      mounts: [...(baseSpec().mounts ?? []), { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] }],
    };
    const r = plan(spec);
    expect(r.asked).toEqual([{ kind: 'stat', path: '/srv/data', is: 'dir' }]);
    const none = plan(baseSpec(), fakeHost({ rootfsFiles: {} }));
    expect(none.asked).toContainEqual({ kind: 'rootfs-file', path: '/etc/passwd', text: null });
  });

  it('reading the network devices blocks a recipe', () => {
    const r = recordingHostFacts(fakeHost());
    r.host.netDevices();
    expect(r.blocked).toEqual(['the network devices were read']);
  });

  it('the fixed facts are the files readHostFacts reads, as they are on this host', () => {
    const g = fixedFactGuards();
    const file = (p: string) => g.find((x) => x.kind === 'file' && x.path === p) as { text: string | null } | undefined;
    expect(file('/proc/sys/kernel/cap_last_cap')?.text).toBe(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    expect(file('/proc/self/cgroup')?.text).toBe(readFileSync('/proc/self/cgroup', 'utf8'));
    const cap = g.find((x) => x.kind === 'status-field') as { value: string };
    expect(cap.value).toMatch(/^[0-9a-f]{16}$/);
    const mounts = g.find((x) => x.kind === 'cgroup-mounts') as { text: string };
    expect(mounts.text.split('\n').length).toBeGreaterThan(0);
    expect(mounts.text).toMatch(/ cgroup2? /);
  });
});
