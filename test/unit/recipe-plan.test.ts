import { describe, expect, it } from 'vitest';
import { buildCreatePlan, type CreatePlanInput } from '../../src/plan/build';
import { planParametric, swapInStrings } from '../../src/recipe/plan';
import type { Spec } from '../../src/spec/types';
import { baseSpec, fakeHost } from './plan-helpers';

const PROBE = 'tsrun-probe-0123456789';

/** The plan create makes for `id`: its fifo, cgroup files and keyring follow the id, as the real ones do. */
function planFor(id: string, spec: Spec = baseSpec(), bpf?: Buffer) {
  const input: CreatePlanInput = {
    spec,
    bundle: '/bundle',
    rootfs: '/bundle/rootfs',
    opts: { id, fifoPath: `/run/tsrun/${id}/exec.fifo` },
    host: fakeHost({ rootfsFiles: { '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' } }),
    cgroupProcs: ['pids', 'memory'].map((h) => `/sys/fs/cgroup/${h}/${id}/cgroup.procs`),
    compileSeccomp: bpf ? () => ({ bpf, flags: 0n, notify: false, warnings: [] }) : undefined,
  };
  return buildCreatePlan(input).plan;
}

describe('is the init plan parametric in the id', () => {
  it("runc's default config: the id reaches the plan only through the fifo, the cgroups and the keyring", () => {
    const a = planFor('web-000001');
    expect(a.newKeyring).toBe('_ses.web-000001');
    expect(planParametric(a, planFor(PROBE), 'web-000001', PROBE)).toBe(true);
  });

  it('not when the config holds the id as well (the hostname here)', () => {
    const spec = { ...baseSpec(), hostname: 'web-000001' };
    const other = { ...baseSpec(), hostname: 'web-000001' }; // the probe's config is the same bytes
    expect(planParametric(planFor('web-000001', spec), planFor(PROBE, other), 'web-000001', PROBE)).toBe(false);
  });

  it('not when the plan holds the probe id by itself', () => {
    const spec = { ...baseSpec(), hostname: PROBE };
    expect(planParametric(planFor('web-000001', spec), planFor(PROBE, spec), 'web-000001', PROBE)).toBe(false);
  });

  it('bytes are never swapped: a seccomp program that happens to hold the id stays as compiled', () => {
    const bpf = Buffer.from('xxweb-000001xx');
    const spec: Spec = { ...baseSpec(), linux: { ...baseSpec().linux, seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } } };
    const a = planFor('web-000001', spec, bpf);
    expect(Buffer.from(swapInStrings(a, 'web-000001', PROBE).seccompBpf!).equals(bpf)).toBe(true);
    expect(planParametric(a, planFor(PROBE, spec, bpf), 'web-000001', PROBE)).toBe(true);
  });

  it('a probe of the same length is refused: it would not show where lengths change', () => {
    expect(() => planParametric(planFor('abc'), planFor('xyz'), 'abc', 'xyz')).toThrow(/differ in length/);
  });
});
