import { describe, expect, it } from 'vitest';
import { planCaps } from '../../src/plan/caps';
import { applyProcess, planEnv, planRlimits, planScheduler } from '../../src/plan/process';
import { capabilityByNumber, capabilityNumbers, rlimitNumbers } from '../../src/spec/names';
import { emptyPlan } from '../../src/plan/types';
import type { Process } from '../../src/spec/types';
import { BOUNDING_NO_SYS_RESOURCE, ctxFor, fakeHost } from './plan-helpers';

const bit = (name: string) => 1n << BigInt(capabilityNumbers[name]);

function proc(extra: Partial<Process> = {}): Process {
  return { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', ...extra };
}

describe('capabilities', () => {
  it('has all 41 names through CAP_CHECKPOINT_RESTORE, both ways', () => {
    expect(Object.keys(capabilityNumbers)).toHaveLength(41);
    expect(capabilityNumbers.CAP_SYS_ADMIN).toBe(21);
    expect(capabilityNumbers.CAP_SYS_RESOURCE).toBe(24);
    expect(capabilityNumbers.CAP_CHECKPOINT_RESTORE).toBe(40);
    expect(capabilityByNumber[0]).toBe('CAP_CHOWN');
    expect(capabilityByNumber[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });

  it('turns each set into a mask', () => {
    const ctx = ctxFor();
    const caps = planCaps(
      { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL', 'CAP_BPF'], ambient: ['CAP_NET_RAW'] },
      ctx,
    );
    expect(caps).toEqual({
      bounding: bit('CAP_KILL') | 1n,
      effective: bit('CAP_KILL'),
      permitted: bit('CAP_KILL') | (1n << 39n),
      inheritable: 0n,
      ambient: 1n << 13n,
    });
    expect(ctx.warnings).toEqual([]);
    expect(planCaps(undefined, ctx)).toBeUndefined();
  });

  it('refuses a name that is no capability, naming it', () => {
    expect(() => planCaps({ effective: ['CAP_KILL', 'CAP_TEST'] }, ctxFor())).toThrow(
      'process.capabilities.effective[1]: unknown capability "CAP_TEST"',
    );
    expect(() => planCaps({ bounding: ['cap_kill'] }, ctxFor())).toThrow('unknown capability "cap_kill"');
  });

  it('drops a capability missing from the host bounding set, with one warning', () => {
    const ctx = ctxFor(fakeHost({ boundingSet: BOUNDING_NO_SYS_RESOURCE }));
    const caps = planCaps({ bounding: ['CAP_SYS_RESOURCE', 'CAP_KILL'], effective: ['CAP_SYS_RESOURCE'], permitted: ['CAP_SYS_RESOURCE'] }, ctx);
    expect(caps?.bounding).toBe(bit('CAP_KILL'));
    expect(caps?.effective).toBe(0n);
    expect(ctx.warnings).toEqual(["process.capabilities: CAP_SYS_RESOURCE dropped, it is not in the host's bounding set"]);
  });

  it('drops capabilities above cap_last_cap', () => {
    const ctx = ctxFor(fakeHost({ capLastCap: 37 }));
    expect(planCaps({ bounding: ['CAP_BPF', 'CAP_PERFMON'] }, ctx)?.bounding).toBe(0n);
    expect(ctx.warnings).toEqual([
      'process.capabilities: CAP_PERFMON dropped, the kernel knows capabilities up to 37 only',
      'process.capabilities: CAP_BPF dropped, the kernel knows capabilities up to 37 only',
    ]);
  });
});

describe('rlimits', () => {
  it('maps names to RLIMIT_* numbers, values to u64', () => {
    expect(
      planRlimits(
        proc({
          rlimits: [
            { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
            { type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 },
          ],
        }),
      ),
    ).toEqual([
      { type: 7, soft: 1024n, hard: 4096n },
      { type: 4, soft: 0xffffffffffffffffn, hard: 0xffffffffffffffffn },
    ]);
    expect(Object.keys(rlimitNumbers)).toHaveLength(16);
    expect(rlimitNumbers.RLIMIT_RTTIME).toBe(15);
  });

  it('refuses unknown names, duplicates and soft above hard', () => {
    expect(() => planRlimits(proc({ rlimits: [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }] }))).toThrow(
      'process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"',
    );
    expect(() =>
      planRlimits(proc({ rlimits: [{ type: 'RLIMIT_NPROC', soft: 1, hard: 1 }, { type: 'RLIMIT_NPROC', soft: 2, hard: 2 }] })),
    ).toThrow('process.rlimits[1].type: rlimit "RLIMIT_NPROC" is set twice');
    expect(() => planRlimits(proc({ rlimits: [{ type: 'RLIMIT_NPROC', soft: 3, hard: 2 }] }))).toThrow('process.rlimits[0]: soft limit 3');
    expect(() => planRlimits(proc({ rlimits: [{ type: 'RLIMIT_NPROC', soft: -1, hard: 2 }] }))).toThrow('process.rlimits[0].soft');
  });
});

describe('environment', () => {
  it('takes HOME from the container\'s /etc/passwd when absent or empty', () => {
    const host = fakeHost({ rootfsFiles: { '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n' } });
    expect(planEnv(['PATH=/bin'], 1000, ctxFor(host))).toEqual(['PATH=/bin', 'HOME=/home/bob']);
    expect(planEnv(['HOME=', 'A=1'], 0, ctxFor(host))).toEqual(['A=1', 'HOME=/root']);
    expect(planEnv(['HOME=/x'], 0, ctxFor(host))).toEqual(['HOME=/x']);
    expect(planEnv([], 4242, ctxFor(host))).toEqual(['HOME=/']);
    expect(planEnv([], 0, ctxFor(fakeHost()))).toEqual(['HOME=/']);
  });

  it('keeps the last of duplicated names, in its place, and refuses malformed entries', () => {
    expect(planEnv(['A=1', 'B=2', 'A=3', 'HOME=/h'], 0, ctxFor())).toEqual(['B=2', 'A=3', 'HOME=/h']);
    expect(() => planEnv(['A=1', 'NOEQUALS'], 0, ctxFor())).toThrow('process.env[1]: "NOEQUALS" is not NAME=value');
    expect(() => planEnv(['=x'], 0, ctxFor())).toThrow('process.env[0]: "=x" has an empty name');
    expect(() => planEnv(['A=\0'], 0, ctxFor())).toThrow('process.env[0]: contains a NUL byte');
  });
});

describe('applyProcess', () => {
  it('fills user, cwd, args, umask, oom, ioprio, scheduler, affinity, terminal', () => {
    const plan = emptyPlan(1);
    applyProcess(
      plan,
      proc({
        user: { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o077 },
        cwd: '/work',
        args: ['/bin/app', '-x'],
        commandLine: 'ignored on linux',
        oomScoreAdj: -500,
        ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
        scheduler: { policy: 'SCHED_FIFO', priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK'] },
        execCPUAffinity: { initial: ' 0-1 ,3,', final: '2' },
        terminal: true,
        consoleSize: { height: 24, width: 80 },
        noNewPrivileges: true,
      }),
      ctxFor(),
      { consoleSocket: '/run/console.sock', defaultUmask: 0o022 },
    );
    expect(plan).toMatchObject({
      uid: 1000,
      gid: 100,
      additionalGids: [5, 6],
      umask: 0o077,
      cwd: '/work',
      args: ['/bin/app', '-x'],
      oomScoreAdj: -500,
      ioprio: (2 << 13) | 4,
      sched: { policy: 1, priority: 10, flags: 1n },
      cpuAffinityInitial: '0-1,3',
      cpuAffinityFinal: '2',
      terminal: true,
      consoleSocket: '/run/console.sock',
      consoleHeight: 24,
      consoleWidth: 80,
      noNewPrivs: true,
    });
    expect(plan.caps).toBeUndefined();
  });

  it('uses the default umask only when given one', () => {
    const a = emptyPlan(1);
    applyProcess(a, proc(), ctxFor(), { defaultUmask: 0o022 });
    expect(a.umask).toBe(0o022);
    const b = emptyPlan(2);
    applyProcess(b, proc(), ctxFor(), {});
    expect(b.umask).toBeUndefined();
  });

  it('refuses what the host or the platform cannot do, naming the field', () => {
    const run = (p: Partial<Process>, opts = {}) => applyProcess(emptyPlan(1), proc(p), ctxFor(), opts);
    expect(() => run({ apparmorProfile: 'docker-default' })).toThrow('process.apparmorProfile: AppArmor is not enabled on this host');
    expect(() => run({ selinuxLabel: 'system_u:system_r:container_t:s0' })).toThrow('process.selinuxLabel: SELinux is not enabled on this host');
    expect(() => run({ user: { uid: 0, gid: 0, username: 'root' } })).toThrow('process.user.username');
    expect(() => run({ args: [] })).toThrow('process.args: must name the program to run');
    expect(() => run({ cwd: 'rel' })).toThrow('process.cwd: must be an absolute path');
    expect(() => run({ terminal: true })).toThrow('process.terminal: a terminal needs a console socket');
    expect(() => run({ ioPriority: { class: 'IOPRIO_CLASS_X', priority: 1 } })).toThrow('process.ioPriority.class: unknown I/O priority class');
    expect(() => run({ ioPriority: { class: 'IOPRIO_CLASS_RT', priority: 8 } })).toThrow('process.ioPriority.priority');
    expect(() => run({ oomScoreAdj: 1001 })).toThrow('process.oomScoreAdj');
    expect(() => run({ execCPUAffinity: { initial: '3-1' } })).toThrow('process.execCPUAffinity.initial: invalid range "3-1"');
    expect(() => run({ execCPUAffinity: { final: 'a' } })).toThrow('process.execCPUAffinity.final: invalid CPU list element "a"');
    const apparmorHost = ctxFor(fakeHost({ apparmorEnabled: true }));
    const plan = emptyPlan(1);
    applyProcess(plan, proc({ apparmorProfile: 'docker-default' }), apparmorHost, {});
    expect(plan.apparmor).toBe('docker-default');
  });
});

describe('scheduler', () => {
  it('maps policies and flags, and checks fields like runc', () => {
    expect(planScheduler({ policy: 'SCHED_DEADLINE', runtime: 10, deadline: 20, period: 30, flags: ['SCHED_FLAG_DL_OVERRUN'] })).toEqual({
      policy: 6,
      runtime: 10n,
      deadline: 20n,
      period: 30n,
      flags: 4n,
    });
    expect(planScheduler({ policy: 'SCHED_BATCH', nice: -5 })).toEqual({ policy: 3, nice: -5 });
    expect(() => planScheduler({ policy: 'SCHED_FOO' })).toThrow('process.scheduler.policy: unknown scheduler policy "SCHED_FOO"');
    expect(() => planScheduler({ policy: 'SCHED_OTHER', priority: 3 })).toThrow('process.scheduler.priority: can only be set for SCHED_FIFO or SCHED_RR');
    expect(() => planScheduler({ policy: 'SCHED_OTHER', runtime: 3 })).toThrow('process.scheduler.runtime: can only be set for SCHED_DEADLINE');
    expect(() => planScheduler({ policy: 'SCHED_OTHER', nice: 20 })).toThrow('process.scheduler.nice');
    expect(() => planScheduler({ policy: 'SCHED_OTHER', flags: ['X'] })).toThrow('process.scheduler.flags[0]: unknown scheduler flag "X"');
  });
});
