import { describe, expect, it } from 'vitest';
import { buildCreatePlan, buildExecPlan, type CreatePlanInput } from '../../src/plan/build';
import { encodePlanBody } from '../../src/plan/encode';
import { sysctlPath, planRootfsPropagation } from '../../src/plan/linux';
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS } from '../../src/plan/namespaces';
import { MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE } from '../../src/plan/mounts';
import { TsrunError } from '../../src/errors';
import type { Spec } from '../../src/spec/types';
import { baseSpec, BOUNDING_NO_SYS_RESOURCE, CGROUP_PROCS, fakeHost } from './plan-helpers';

function input(spec: Spec = baseSpec(), over: Partial<CreatePlanInput> = {}): CreatePlanInput {
  return {
    spec,
    bundle: '/bundle',
    rootfs: '/bundle/rootfs',
    opts: { id: 'c1', fifoPath: '/run/tsrun/c1/exec.fifo' },
    host: fakeHost({ rootfsFiles: { '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' } }),
    cgroupProcs: CGROUP_PROCS,
    ...over,
  };
}

describe('buildCreatePlan on the `runc spec` config', () => {
  const { plan, warnings } = buildCreatePlan(input());

  it('creates the listed namespaces and joins the cgroups', () => {
    expect(plan.mode).toBe(1);
    expect(plan.cloneFlags).toBe((CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP) >>> 0);
    expect(plan.nsJoin).toEqual([]);
    expect(plan.cgroupProcs).toEqual(CGROUP_PROCS);
    expect(plan.uidMap).toBeUndefined();
  });

  it('sets up the root filesystem', () => {
    expect(plan.rootfs).toBe('/bundle/rootfs');
    expect(plan.rootfsPropagation).toBe(MS_SLAVE | MS_REC);
    expect(plan.rootReadonly).toBe(true);
    expect(plan.noPivot).toBeUndefined();
    // the cgroup mount became a tmpfs plus three hierarchies
    expect(plan.mounts.map((m) => `${m.type ?? 'bind'} ${m.destination}`)).toEqual([
      'proc /proc',
      'tmpfs /dev',
      'devpts /dev/pts',
      'tmpfs /dev/shm',
      'mqueue /dev/mqueue',
      'sysfs /sys',
      'tmpfs /sys/fs/cgroup',
      'cgroup /sys/fs/cgroup/cpu,cpuacct',
      'cgroup /sys/fs/cgroup/memory',
      'cgroup /sys/fs/cgroup/systemd',
    ]);
    expect(plan.devices).toHaveLength(6);
    expect(plan.symlinks[0]).toEqual({ target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' });
    expect(plan.symlinks.map((l) => l.path)).toContain('/dev/ptmx');
    expect(plan.maskedPaths).toEqual(['/proc/acpi', '/proc/kcore', '/sys/firmware']);
    expect(plan.readonlyPaths).toEqual(['/proc/bus', '/proc/sys']);
    expect(plan.hostname).toBe('runc');
  });

  it('describes the process', () => {
    expect(plan.args).toEqual(['sh']);
    expect(plan.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'HOME=/root']);
    expect(plan.umask).toBe(0o022);
    expect(plan.rlimits).toEqual([{ type: 7, soft: 1024n, hard: 1024n }]);
    expect(plan.caps?.bounding).toBe((1n << 29n) | (1n << 5n) | (1n << 10n));
    expect(plan.caps?.inheritable).toBe(0n);
    expect(plan.noNewPrivs).toBe(true);
    expect(plan.newKeyring).toBe('_ses.c1');
    expect(plan.fifoPath).toBe('/run/tsrun/c1/exec.fifo');
    expect(plan.seccompBpf).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('encodes without throwing', () => {
    const body = encodePlanBody(plan);
    expect(body.length).toBeGreaterThan(500);
    expect(body.readUInt32LE(0)).toBe(100); // P_MODE first
  });
});

describe('buildCreatePlan options and container-wide settings', () => {
  it('passes create options through', () => {
    const spec = baseSpec();
    spec.process!.terminal = true;
    const { plan } = buildCreatePlan(
      input(spec, {
        opts: { id: 'x', fifoPath: '/f', noPivot: true, noNewKeyring: true, preserveFds: 2, listenFds: 1, consoleSocket: '/c.sock', wait: true },
      }),
    );
    expect(plan).toMatchObject({ noPivot: true, preserveFds: 3, terminal: true, consoleSocket: '/c.sock', wait: true });
    expect(plan.newKeyring).toBeUndefined();
    expect(plan.env.slice(-2)).toEqual(['LISTEN_FDS=1', 'LISTEN_PID=1']);
  });

  it('sets up a user namespace: maps, bound devices', () => {
    const spec = baseSpec();
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const { plan } = buildCreatePlan(input(spec));
    expect(plan.cloneFlags & CLONE_NEWUSER).toBe(CLONE_NEWUSER);
    expect(plan.uidMap).toBe('0 100000 65536\n');
    expect(plan.gidMap).toBe('0 100000 65536\n');
    expect(plan.devices.every((d) => d.bind)).toBe(true);
    expect(() => encodePlanBody(plan)).not.toThrow();
  });

  it('drops a capability the host lacks with a warning (CAP_SYS_RESOURCE on this machine)', () => {
    const spec = baseSpec();
    spec.process!.capabilities!.bounding!.push('CAP_SYS_RESOURCE');
    const { plan, warnings } = buildCreatePlan(input(spec, { host: fakeHost({ boundingSet: BOUNDING_NO_SYS_RESOURCE }) }));
    expect(plan.caps!.bounding & (1n << 24n)).toBe(0n);
    expect(warnings).toEqual(["process.capabilities: CAP_SYS_RESOURCE dropped, it is not in the host's bounding set"]);
  });

  it('maps sysctl keys to /proc/sys paths and checks their namespace', () => {
    const spec = baseSpec();
    spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel/shmmax': '100', 'net/ipv4/conf/eth0.100/forwarding': '0' };
    expect(buildCreatePlan(input(spec)).plan.sysctls).toEqual([
      { path: 'net/ipv4/ip_forward', value: '1' },
      { path: 'kernel/shmmax', value: '100' },
      { path: 'net/ipv4/conf/eth0.100/forwarding', value: '0' },
    ]);
    spec.linux!.sysctl = { 'vm.swappiness': '1' };
    expect(() => buildCreatePlan(input(spec))).toThrow('linux.sysctl["vm.swappiness"]: is not in a separate kernel namespace');
    spec.linux!.sysctl = { 'kernel.hostname': 'x' };
    expect(() => buildCreatePlan(input(spec))).toThrow('conflicts with the "hostname" field');
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network');
    spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    expect(() => buildCreatePlan(input(spec))).toThrow('linux.sysctl["net.ipv4.ip_forward"]: is not allowed in the host network namespace');
    expect(() => sysctlPath('net..x')).toThrow('is not a valid sysctl name');
  });

  it('maps rootfsPropagation like runc, refusing private without pivot_root', () => {
    const s = (v: string) => ({ ociVersion: '1', linux: { rootfsPropagation: v } }) as Spec;
    expect(planRootfsPropagation(s('shared'), false)).toBe(MS_SHARED);
    expect(planRootfsPropagation(s('rslave'), false)).toBe(MS_SLAVE | MS_REC);
    expect(planRootfsPropagation(s('private'), false)).toBe(MS_PRIVATE);
    expect(planRootfsPropagation(s('unbindable'), false)).toBe(MS_UNBINDABLE);
    expect(() => planRootfsPropagation(s('xshared'), false)).toThrow('linux.rootfsPropagation: unknown propagation "xshared"');
    expect(() => planRootfsPropagation(s('rprivate'), true)).toThrow('not safe without pivot_root');
  });

  it('plans createContainer and startContainer hooks only', () => {
    const spec = baseSpec();
    spec.hooks = {
      prestart: [{ path: '/bin/pre' }],
      createContainer: [{ path: '/bin/cc', args: ['cc', '-v'], env: ['A=1'], timeout: 5 }],
      startContainer: [{ path: '/bin/sc' }],
      poststop: [{ path: '/bin/post' }],
    };
    const { plan } = buildCreatePlan(input(spec));
    expect(plan.hooks).toEqual([
      { kind: 1, path: '/bin/cc', args: ['cc', '-v'], env: ['A=1'], timeout: 5 },
      { kind: 2, path: '/bin/sc', args: [], env: spec.process!.env, timeout: 0 },
    ]);
    spec.hooks.startContainer = [{ path: 'rel' }];
    expect(() => buildCreatePlan(input(spec))).toThrow('hooks.startContainer[0].path: must be an absolute path');
    spec.hooks.startContainer = [{ path: '/x', timeout: 0 }];
    expect(() => buildCreatePlan(input(spec))).toThrow('hooks.startContainer[0].timeout');
  });

  it('sets the personality and refuses flags', () => {
    const spec = baseSpec();
    spec.linux!.personality = { domain: 'LINUX32' };
    expect(buildCreatePlan(input(spec)).plan.personality).toBe(8);
    spec.linux!.personality = { domain: 'LINUX', flags: ['SHORT_INODE'] };
    expect(() => buildCreatePlan(input(spec))).toThrow('linux.personality.flags[0]: unknown personality flag "SHORT_INODE"');
  });

  it('calls the seccomp compiler when there is one, and warns when there is none', () => {
    const spec = baseSpec();
    spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    const none = buildCreatePlan(input(spec));
    expect(none.plan.seccompBpf).toBeUndefined();
    expect(none.warnings).toEqual(['linux.seccomp: not applied, this tsrun build has no seccomp compiler yet']);
    const bpf = new Uint8Array(72);
    const withCompiler = buildCreatePlan(input(spec, { compileSeccomp: () => ({ bpf, flags: 4n, notify: false, warnings: [] }) }));
    expect(withCompiler.plan.seccompBpf).toBe(bpf);
    expect(withCompiler.plan.seccompFlags).toBe(4n); // the compiler's flags
    spec.linux!.seccomp.flags = ['SECCOMP_FILTER_FLAG_LOG'];
    spec.linux!.seccomp.syscalls![0].action = 'SCMP_ACT_NOTIFY';
    spec.linux!.seccomp.listenerPath = '/run/agent.sock';
    const notify = buildCreatePlan(input(spec, { compileSeccomp: () => ({ bpf, flags: 2n, notify: true, warnings: [] }) })).plan;
    expect(notify.seccompFlags).toBe(2n | 8n); // NEW_LISTENER added for NOTIFY
    expect(notify.seccompListener).toBe('/run/agent.sock');
    expect(() => encodePlanBody(notify)).not.toThrow();
  });

  it('refuses what only the planner can tell, with the field\'s path in the checks\' form', () => {
    const cases: [(s: Spec) => void, string][] = [
      [(s) => (s.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0-1' }), '$.linux.memoryPolicy.nodes: node 1 does not exist on this host (online: 0)'],
      [(s) => (s.linux!.netDevices = { eth9: {} }), '$.linux.netDevices.eth9: no network device "eth9" on the host (there are: lo, eth0)'],
      [(s) => (s.linux!.namespaces = [{ type: 'uts' }, { type: 'user' }]), '$.linux.namespaces: a user namespace needs a mount namespace too'],
      [(s) => (s.mounts!.push({ destination: '/x', source: '/bundle/rootfs', options: ['bind', 'tmpcopyup'] })), '$.mounts[7].options[1]: tmpcopyup is for tmpfs mounts'],
    ];
    for (const [change, message] of cases) {
      const spec = baseSpec();
      change(spec);
      let err: unknown;
      try {
        buildCreatePlan(input(spec));
      } catch (e) {
        err = e;
      }
      expect(err, message).toBeInstanceOf(TsrunError);
      expect((err as Error).message.startsWith(message), (err as Error).message).toBe(true);
    }
  });

  it('treats what the config checks refuse as internal assertions, never as a config error', () => {
    const cases: [(s: Spec) => void, string][] = [
      [(s) => (s.linux!.namespaces = [{ type: 'uts' }]), 'hostMountPoint: a config without a mount namespace needs'],
      [(s) => (s.linux!.namespaces = [{ type: 'mount' }]), 'hostname: set without a UTS namespace'],
      [(s) => (s.linux!.maskedPaths = ['rel']), 'linux.maskedPaths[0]: not an absolute path'],
      [(s) => (s.linux!.namespaces!.push({ type: 'network' })), 'linux.namespaces[6].type: namespace "network" is listed twice'],
      [(s) => (s.linux!.devices = [{ type: 'c', path: 'dev/x', major: 1, minor: 3 }]), 'linux.devices[0].path: must be an absolute path'],
    ];
    for (const [change, message] of cases) {
      const spec = baseSpec();
      change(spec);
      let err: unknown;
      try {
        buildCreatePlan(input(spec));
      } catch (e) {
        err = e;
      }
      expect(err, message).toBeInstanceOf(Error);
      expect(err, message).not.toBeInstanceOf(TsrunError);
      expect((err as Error).message.startsWith('internal error: ')).toBe(true);
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).toContain('the config checks should have refused it');
    }
  });

  it('plans a config without process as a container that waits and runs nothing (create only)', () => {
    const spec = baseSpec();
    delete spec.process;
    const { plan } = buildCreatePlan(input(spec));
    expect(plan.args).toEqual([]);
    expect(plan.terminal).toBeFalsy();
    expect(plan.fifoPath).toBe('/run/tsrun/c1/exec.fifo');
    expect(plan.cloneFlags).toBe(buildCreatePlan(input()).plan.cloneFlags);
    // run (a waiting stage 0) needs one: the config checks refuse it there
    expect(() => buildCreatePlan(input(spec, { opts: { id: 'c1', fifoPath: '/f', wait: true } }))).toThrow(
      /^internal error: process: absent where the container must start/,
    );
  });

  it('is pure: the same input gives the same plan', () => {
    expect(encodePlanBody(buildCreatePlan(input()).plan)).toEqual(encodePlanBody(buildCreatePlan(input()).plan));
  });
});

describe('a config without a mount namespace (the runtime\'s is shared)', () => {
  const MP = '/run/tsrun/c1/rootfs';
  const noMountNs = (change: (s: Spec) => void = () => undefined) => {
    const spec = baseSpec();
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'mount');
    change(spec);
    return spec;
  };
  const build = (spec: Spec, opts: Partial<CreatePlanInput['opts']> = {}) =>
    buildCreatePlan(input(spec, { opts: { id: 'c1', fifoPath: '/run/tsrun/c1/exec.fifo', hostMountPoint: MP, ...opts } })).plan;

  it('binds the rootfs onto the runtime\'s mount point and creates no mount namespace', () => {
    const plan = build(noMountNs());
    expect(plan.cloneFlags & CLONE_NEWNS).toBe(0);
    expect(plan.nsJoin).toEqual([]);
    expect(plan.rootfs).toBe('/bundle/rootfs');
    expect(plan.hostMounts).toBe(MP);
    expect(plan.noPivot).toBeUndefined();
    // the propagation goes to that bind, never to "/": rslave unless the config says otherwise
    expect(plan.rootfsPropagation).toBe(MS_SLAVE | MS_REC);
    expect(build(noMountNs((s) => (s.linux!.rootfsPropagation = 'rshared'))).rootfsPropagation).toBe(MS_SHARED | MS_REC);
    expect(build(noMountNs((s) => (s.linux!.rootfsPropagation = 'private'))).rootfsPropagation).toBe(MS_PRIVATE);
  });

  it('keeps the mounts, devices, symlinks, masked and read-only paths and the read-only root (all made under the bind)', () => {
    const withNs = buildCreatePlan(input()).plan;
    const plan = build(noMountNs());
    expect(plan.mounts).toEqual(withNs.mounts);
    expect(plan.devices).toEqual(withNs.devices);
    expect(plan.symlinks).toEqual(withNs.symlinks);
    expect(plan.maskedPaths).toEqual(['/proc/acpi', '/proc/kcore', '/sys/firmware']);
    expect(plan.readonlyPaths).toEqual(['/proc/bus', '/proc/sys']);
    expect(plan.rootReadonly).toBe(true);
    expect(() => encodePlanBody(plan)).not.toThrow();
  });

  it('works with no namespaces at all', () => {
    const plan = build(noMountNs((s) => {
      s.linux!.namespaces = [];
      delete s.hostname;
    }));
    expect(plan.cloneFlags).toBe(0);
    expect(plan.hostMounts).toBe(MP);
  });

  it('ignores --no-pivot: the root switch is a chroot, never a move onto the runtime\'s "/"', () => {
    const plan = build(noMountNs((s) => (s.linux!.rootfsPropagation = 'private')), { noPivot: true });
    expect(plan.noPivot).toBeUndefined();
    expect(plan.hostMounts).toBe(MP);
  });

  it('ignores the mount point when the config has a mount namespace', () => {
    const plan = build(baseSpec());
    expect(plan.hostMounts).toBeUndefined();
    expect(plan.cloneFlags & CLONE_NEWNS).toBe(CLONE_NEWNS);
  });

  it('refuses a user namespace (it could not mount in the runtime\'s namespace) and a bad mount point', () => {
    expect(() => build(noMountNs((s) => s.linux!.namespaces!.push({ type: 'user' })))).toThrow('a user namespace needs a mount namespace too');
    expect(() => build(noMountNs((s) => s.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' })))).toThrow(
      'a user namespace needs a mount namespace too',
    );
    for (const bad of ['/', 'run/tsrun/c1/rootfs', '/run/tsrun/../c1/rootfs', '/run/./c1/rootfs']) {
      expect(() => build(noMountNs(), { hostMountPoint: bad }), bad).toThrow('internal error: hostMountPoint: not an absolute, resolved path');
    }
  });

  it('exec chroots into the root of the container\'s init, and joins no mount namespace', () => {
    const exec = (spec: Spec) =>
      buildExecPlan({ spec, pid: 4321, process: baseSpec().process!, opts: { id: 'c1' }, host: fakeHost(), cgroupProcs: [] }).plan;
    const plan = exec(noMountNs());
    expect(plan.chroot).toBe('/proc/4321/root');
    expect(plan.nsJoin.map((n) => n.path)).not.toContain('/proc/4321/ns/mnt');
    expect(exec(baseSpec()).chroot).toBeUndefined();
  });
});

describe('buildExecPlan', () => {
  it('joins the container\'s namespaces and runs the given process', () => {
    const spec = baseSpec();
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.personality = { domain: 'LINUX' };
    const { plan, warnings } = buildExecPlan({
      spec,
      pid: 4321,
      process: {
        user: { uid: 0, gid: 0 },
        args: ['ps', 'aux'],
        env: ['PATH=/bin'],
        cwd: '/tmp',
        capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
        terminal: true,
      },
      opts: { id: 'c1', consoleSocket: '/tmp/c.sock', wait: true, preserveFds: 1 },
      host: fakeHost({ rootfsFiles: { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\n' } }),
      cgroupProcs: ['/sys/fs/cgroup/unified/tsrun/c1/cgroup.procs'],
    });
    expect(plan.mode).toBe(2);
    expect(plan.cloneFlags).toBe(0);
    expect(plan.nsJoin.map((n) => n.path)).toEqual([
      '/proc/4321/ns/user',
      '/proc/4321/ns/ipc',
      '/proc/4321/ns/uts',
      '/proc/4321/ns/net',
      '/proc/4321/ns/pid',
      '/proc/4321/ns/mnt',
      '/proc/4321/ns/cgroup',
    ]);
    expect(plan.nsJoin[0].type).toBe(CLONE_NEWUSER);
    expect(plan).toMatchObject({
      args: ['ps', 'aux'],
      env: ['PATH=/bin', 'HOME=/root'],
      cwd: '/tmp',
      wait: true,
      terminal: true,
      preserveFds: 1,
      personality: 0,
      newKeyring: '_ses.c1',
      cgroupProcs: ['/sys/fs/cgroup/unified/tsrun/c1/cgroup.procs'],
    });
    expect(plan.umask).toBeUndefined();
    expect(plan.rootfs).toBeUndefined();
    expect(plan.mounts).toEqual([]);
    expect(plan.fifoPath).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(() => encodePlanBody(plan)).not.toThrow();
  });

  it('refuses a bad pid', () => {
    expect(() =>
      buildExecPlan({ spec: baseSpec(), pid: 0, process: baseSpec().process!, opts: { id: 'c' }, host: fakeHost(), cgroupProcs: [] }),
    ).toThrow('pid: not a process id');
  });
});
