// process.terminal without --console-socket: allowed in the foreground
// (stage 0 gets the master and proxies the caller's terminal), refused when
// detached, as runc. No new plan tag: P_TERMINAL with P_WAIT and no
// P_CONSOLE_SOCKET means "stage 0 proxies".
import { describe, expect, it } from 'vitest';
import { applyProcess } from '../../src/plan/process';
import { buildCreatePlan, buildExecPlan } from '../../src/plan/build';
import { encodePlanBody } from '../../src/plan/encode';
import { emptyPlan } from '../../src/plan/types';
import type { Process } from '../../src/spec/types';
import { baseSpec, ctxFor, fakeHost, CGROUP_PROCS } from './plan-helpers';

const proc = (extra: Partial<Process> = {}): Process => ({ user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', terminal: true, ...extra });

describe('a terminal without a console socket', () => {
  it('is refused when nobody waits (detached run, create, exec -d)', () => {
    expect(() => applyProcess(emptyPlan(1), proc(), ctxFor(), {})).toThrow(
      'process.terminal: a terminal needs a console socket (--console-socket) to send its master to when detached',
    );
  });

  it('is a terminal with no socket in the foreground, with the console size', () => {
    const plan = emptyPlan(1);
    applyProcess(plan, proc({ consoleSize: { height: 24, width: 80 } }), ctxFor(), { wait: true });
    expect(plan.terminal).toBe(true);
    expect(plan.consoleSocket).toBeUndefined();
    expect(plan).toMatchObject({ consoleHeight: 24, consoleWidth: 80 });
  });

  it('keeps the console socket when one is given, waiting or not', () => {
    const plan = emptyPlan(1);
    applyProcess(plan, proc(), ctxFor(), { wait: true, consoleSocket: '/run/c.sock' });
    expect(plan.consoleSocket).toBe('/run/c.sock');
  });

  it('reaches applyProcess from both plan builders through opts.wait', () => {
    const spec = baseSpec();
    spec.process = proc();
    const input = { spec, bundle: '/b', rootfs: '/r', host: fakeHost(), cgroupProcs: CGROUP_PROCS };
    expect(() => buildCreatePlan({ ...input, opts: { id: 'c', fifoPath: '/f' } })).toThrow('a terminal needs a console socket');
    const { plan } = buildCreatePlan({ ...input, opts: { id: 'c', fifoPath: '/f', wait: true } });
    expect(plan).toMatchObject({ terminal: true, wait: true });
    expect(plan.consoleSocket).toBeUndefined();
    expect(encodePlanBody(plan).length).toBeGreaterThan(0);
    const exec = buildExecPlan({ spec, process: proc(), pid: 42, host: fakeHost(), cgroupProcs: CGROUP_PROCS, opts: { id: 'c', wait: true } });
    expect(exec.plan).toMatchObject({ terminal: true, wait: true });
    expect(() => buildExecPlan({ spec, process: proc(), pid: 42, host: fakeHost(), cgroupProcs: CGROUP_PROCS, opts: { id: 'c' } })).toThrow(
      'a terminal needs a console socket',
    );
  });
});
