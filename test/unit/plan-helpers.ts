// Shared fixtures for the plan-*.test.ts files: a host built by hand and a config like `runc spec` writes.
import type { HostFacts, HostStat, CgroupFacts } from '../../src/plan/host';
import type { Spec } from '../../src/spec/types';
import type { PlanContext } from '../../src/plan/util';

/** All 41 capabilities except CAP_SYS_RESOURCE (24), as CapBnd reads on the development machine. */
export const BOUNDING_NO_SYS_RESOURCE = 0x1fffeffffffn;

export const HYBRID_CGROUPS: CgroupFacts = {
  unified: false,
  v1: [
    { mountpoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', controllers: ['cpu', 'cpuacct'], ownPath: '/user.slice' },
    { mountpoint: '/sys/fs/cgroup/memory', root: '/', controllers: ['memory'], ownPath: '/user.slice' },
    { mountpoint: '/sys/fs/cgroup/systemd', root: '/', controllers: ['name=systemd'], ownPath: '/user.slice/x.scope' },
  ],
  v2Mountpoint: '/sys/fs/cgroup/unified',
  v2OwnPath: '/',
};

export const UNIFIED_CGROUPS: CgroupFacts = {
  unified: true,
  v1: [],
  v2Mountpoint: '/sys/fs/cgroup',
  v2OwnPath: '/user.slice/session-1.scope',
};

export interface FakeHostOptions extends Partial<Omit<HostFacts, 'statHost' | 'readRootfsFile' | 'numaNodes' | 'netDevices'>> {
  /** Online NUMA nodes: [0] unless given; null for a kernel without NUMA. */
  numa?: number[] | null;
  /** The host's network devices: lo and eth0 unless given. */
  netdevs?: string[];
  /** Host paths that exist, with their kind. /dev nodes of the default devices exist unless overridden. */
  paths?: Record<string, HostStat['kind']>;
  /** Files of the container rootfs. */
  rootfsFiles?: Record<string, string>;
}

export function fakeHost(o: FakeHostOptions = {}): HostFacts {
  const paths: Record<string, HostStat['kind']> = {
    '/dev/null': 'char',
    '/dev/zero': 'char',
    '/dev/full': 'char',
    '/dev/random': 'char',
    '/dev/urandom': 'char',
    '/dev/tty': 'char',
    '/bundle/rootfs': 'dir',
    ...o.paths,
  };
  const files = o.rootfsFiles ?? {};
  return {
    capLastCap: o.capLastCap ?? 40,
    boundingSet: o.boundingSet ?? (1n << 41n) - 1n,
    apparmorEnabled: o.apparmorEnabled ?? false,
    selinuxEnabled: o.selinuxEnabled ?? false,
    inUserNs: o.inUserNs ?? false,
    procKcore: o.procKcore ?? false,
    cgroup: o.cgroup ?? HYBRID_CGROUPS,
    statHost: (p) => (paths[p] ? { kind: paths[p] } : undefined),
    readRootfsFile: (p) => files[p],
    numaNodes: () => (o.numa === null ? undefined : (o.numa ?? [0])),
    netDevices: () => o.netdevs ?? ['lo', 'eth0'],
  };
}

export function ctxFor(host: HostFacts = fakeHost()): PlanContext {
  return { host, warnings: [] };
}

/** The config `runc spec` writes (trimmed of seccomp-free defaults), fresh each call. */
export function baseSpec(): Spec {
  return {
    ociVersion: '1.2.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/sys'],
    },
  };
}

export const CGROUP_PROCS = [
  '/sys/fs/cgroup/cpu,cpuacct/tsrun/c1/cgroup.procs',
  '/sys/fs/cgroup/memory/tsrun/c1/cgroup.procs',
  '/sys/fs/cgroup/systemd/tsrun/c1/cgroup.procs',
  '/sys/fs/cgroup/unified/tsrun/c1/cgroup.procs',
];
