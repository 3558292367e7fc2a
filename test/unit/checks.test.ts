// The cross-field rules of src/spec/checks/: for each, a config that breaks
// it (path and message asserted) and one that keeps it (no problem).
import { describe, expect, it } from 'vitest';
import { checkConfig, checkProcessDocument } from '../../src/spec/checks';
import { realHost, type HostLookups } from '../../src/spec/checks/host';
import { parseIdList } from '../../src/spec/checks/shared';
import type { Problem } from '../../src/spec/problem';
import { validateConfig } from '../../src/spec/validate';

type Cfg = Record<string, any>;

/** A small config that passes every check (and the schema). */
function base(): Cfg {
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: {
      user: { uid: 0, gid: 0 },
      args: ['/bin/sh'],
      env: ['PATH=/usr/bin:/bin'],
      cwd: '/',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
    },
    hostname: 'box',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  };
}

interface FakeHost extends HostLookups {
  dirs: Set<string>;
  files: Set<string>;
  userns: Map<string, { uid: any[]; gid: any[] }>;
  netns: Map<string, boolean | Error>;
}

function fakeHost(): FakeHost {
  const h: FakeHost = {
    dirs: new Set(['/bundle/rootfs', '/other/root']),
    files: new Set(['/bundle/file']),
    userns: new Map(),
    netns: new Map(),
    pathKind: (p) => (h.dirs.has(p) ? 'directory' : h.files.has(p) ? 'other' : 'missing'),
    userNamespaceMappings: (p) => h.userns.get(p),
    isRuntimeNetNamespace: (p) => h.netns.get(p) ?? new Error(`stat ${p}: no such file or directory`),
  };
  return h;
}

function run(cfg: Cfg, opts: { requireProcess?: boolean; host?: FakeHost; bundleDir?: string } = {}) {
  const warnings: Problem[] = [];
  const errors = checkConfig(cfg, {
    bundleDir: opts.bundleDir ?? '/bundle',
    requireProcess: opts.requireProcess ?? true,
    host: opts.host ?? fakeHost(),
    warnings,
  });
  return { errors, warnings };
}

function errorsOf(edit: (c: Cfg) => void, opts?: Parameters<typeof run>[1]): Problem[] {
  const c = base();
  edit(c);
  return run(c, opts).errors;
}

/** The config breaks exactly one rule, at `path`, with a message containing `text`. */
function expectOne(edit: (c: Cfg) => void, path: string, text: string, opts?: Parameters<typeof run>[1]): void {
  const errors = errorsOf(edit, opts);
  expect(errors).toEqual([{ path, message: expect.stringContaining(text) }]);
}

function expectNone(edit: (c: Cfg) => void, opts?: Parameters<typeof run>[1]): void {
  expect(errorsOf(edit, opts)).toEqual([]);
}

describe('the base config', () => {
  it('passes the schema and the checks', () => {
    expect(validateConfig(base())).toEqual([]);
    expect(run(base())).toEqual({ errors: [], warnings: [] });
  });
  it('tolerates a document of the wrong shape (the schema reports it)', () => {
    for (const doc of [null, [], 'x', 1, { linux: 'x', process: 'y', mounts: {}, hooks: [] }]) {
      expect(() => checkConfig(doc, { host: fakeHost() })).not.toThrow();
    }
  });
});

describe('ociVersion (config.md#specification-version)', () => {
  it('must be SemVer', () => {
    expectOne((c) => (c.ociVersion = '1.0'), '$.ociVersion', 'must be a SemVer 2.0.0 version');
    expectOne((c) => (c.ociVersion = 'v1.0.0'), '$.ociVersion', 'must be a SemVer 2.0.0 version');
  });
  it('must be 1.x', () => {
    expectOne((c) => (c.ociVersion = '2.0.0'), '$.ociVersion', 'unsupported version 2.0.0');
    expectOne((c) => (c.ociVersion = '0.5.0-dev'), '$.ociVersion', 'unsupported version 0.5.0-dev');
  });
  it('takes any 1.x, pre-releases too', () => {
    for (const v of ['1.0.0', '1.0.2-dev', '1.1.0-rc.3', '1.3.0', '1.4.0', '1.2.1+build.5']) expectNone((c) => (c.ociVersion = v));
  });
});

describe('root (config.md#root)', () => {
  it('is required', () => {
    expectOne((c) => delete c.root, '$.root', 'is required');
  });
  it('must name an existing directory, relative to the bundle', () => {
    expectOne((c) => (c.root.path = 'nope'), '$.root.path', 'no such directory: /bundle/nope');
    expectOne((c) => (c.root.path = 'file'), '$.root.path', 'not a directory: /bundle/file');
    expectOne((c) => (c.root.path = ''), '$.root.path', 'must not be empty');
  });
  it('may be absolute', () => {
    expectNone((c) => (c.root.path = '/other/root'));
    expectNone((c) => (c.root.path = '../other/root'));
  });
  it('is not looked up without a bundle directory', () => {
    const c = base();
    c.root.path = 'nope';
    expect(checkConfig(c, { host: fakeHost() })).toEqual([]);
  });
});

describe('process (config.md#process)', () => {
  it('is required to start a container, not otherwise', () => {
    expectOne((c) => delete c.process, '$.process', 'is required');
    expectNone((c) => delete c.process, { requireProcess: false });
  });
  it('cwd must be absolute', () => {
    expectOne((c) => (c.process.cwd = 'tmp'), '$.process.cwd', 'must be an absolute path (got "tmp")');
    expectNone((c) => (c.process.cwd = '/tmp'));
  });
  it('args must have an entry', () => {
    expectOne((c) => (c.process.args = []), '$.process.args', 'must have at least one entry');
    expectOne((c) => delete c.process.args, '$.process.args', 'must have at least one entry');
    expectOne((c) => (c.process.args = ['a\0b']), '$.process.args[0]', 'NUL');
  });
  it('env entries are NAME=VALUE', () => {
    expectOne((c) => c.process.env.push('JUSTNAME'), '$.process.env[1]', 'must have the form NAME=VALUE');
    expectOne((c) => c.process.env.push('=x'), '$.process.env[1]', 'must have a name');
    expectOne((c) => c.process.env.push('A=\0'), '$.process.env[1]', 'NUL');
    expectNone((c) => c.process.env.push('EMPTY='));
  });
  it('user needs uid and gid (config.md#posix-platform-user)', () => {
    expectOne((c) => delete c.process.user, '$.process.user', 'is required');
    expectOne((c) => delete c.process.user.gid, '$.process.user.gid', 'is required');
  });
  it('oomScoreAdj is -1000 to 1000', () => {
    expectOne((c) => (c.process.oomScoreAdj = 1001), '$.process.oomScoreAdj', 'between -1000 and 1000');
    expectNone((c) => (c.process.oomScoreAdj = -1000));
  });
  it('the same rules apply to a process document (exec --process)', () => {
    expect(checkProcessDocument({ cwd: 'x', args: ['sh'], user: { uid: 0, gid: 0 } })).toEqual([
      { path: '$.cwd', message: 'must be an absolute path (got "x")' },
    ]);
    expect(checkProcessDocument({ cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } })).toEqual([]);
  });
});

describe('rlimits (config.md#posix-process)', () => {
  it('must be known', () => {
    expectOne((c) => (c.process.rlimits[0].type = 'RLIMIT_FOO'), '$.process.rlimits[0].type', 'unknown resource limit "RLIMIT_FOO": must be one of: RLIMIT_AS,');
  });
  it('must not repeat a type', () => {
    expectOne(
      (c) => c.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }),
      '$.process.rlimits[1].type',
      'duplicate resource limit RLIMIT_NOFILE (first at $.process.rlimits[0])',
    );
  });
  it('soft must not exceed hard', () => {
    expectOne((c) => (c.process.rlimits[0].soft = 2048), '$.process.rlimits[0].soft', 'must not be greater than hard (2048 > 1024)');
  });
  it('takes every Linux limit', () => {
    const all = ['AS', 'CORE', 'CPU', 'DATA', 'FSIZE', 'LOCKS', 'MEMLOCK', 'MSGQUEUE', 'NICE', 'NOFILE', 'NPROC', 'RSS', 'RTPRIO', 'RTTIME', 'SIGPENDING', 'STACK'];
    expectNone((c) => (c.process.rlimits = all.map((n) => ({ type: `RLIMIT_${n}`, soft: 1, hard: 18446744073709551615 }))));
  });
});

describe('annotations (config.md#annotations)', () => {
  it('keys must not be empty', () => {
    expectOne((c) => (c.annotations = { '': 'x', ok: 'y' }), '$.annotations', 'keys must not be empty');
    expectNone((c) => (c.annotations = { 'org.example.key': '' }));
  });
});

describe('capabilities (config.md#linux-process)', () => {
  it('an unknown name is an error naming it', () => {
    expectOne((c) => c.process.capabilities.permitted.push('CAP_TEST'), '$.process.capabilities.permitted[1]', 'unknown capability "CAP_TEST"');
    // names inherited by every object are no capabilities either
    expectOne((c) => c.process.capabilities.permitted.push('constructor'), '$.process.capabilities.permitted[1]', 'unknown capability "constructor"');
  });
  it('takes every capability through CAP_CHECKPOINT_RESTORE', () => {
    expectNone((c) => (c.process.capabilities.bounding = ['CAP_CHOWN', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE']));
  });
});

describe('ioPriority, scheduler, execCPUAffinity (config.md#linux-process)', () => {
  it('ioPriority.priority is required and 0 to 7', () => {
    expectOne((c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE' }), '$.process.ioPriority.priority', 'is required');
    expectOne((c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }), '$.process.ioPriority.priority', 'between 0 and 7');
    expectNone((c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 0 }));
  });
  it('scheduler fields must suit the policy (runc validator)', () => {
    expectOne((c) => (c.process.scheduler = { policy: 'SCHED_OTHER', nice: 20 }), '$.process.scheduler.nice', 'between -20 and 19');
    expectOne((c) => (c.process.scheduler = { policy: 'SCHED_OTHER', priority: 1 }), '$.process.scheduler.priority', 'SCHED_FIFO or SCHED_RR');
    expectOne((c) => (c.process.scheduler = { policy: 'SCHED_FIFO', runtime: 1 }), '$.process.scheduler.runtime', 'SCHED_DEADLINE');
    expectNone((c) => (c.process.scheduler = { policy: 'SCHED_FIFO', priority: 50 }));
    expectNone((c) => (c.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 1, deadline: 2, period: 3 }));
  });
  it('execCPUAffinity is a CPU list', () => {
    expectOne((c) => (c.process.execCPUAffinity = { final: '3-1' }), '$.process.execCPUAffinity.final', 'must be a CPU list');
    expectNone((c) => (c.process.execCPUAffinity = { initial: '0', final: '0-3, 7' }));
  });
});

describe('hostname and domainname need a UTS namespace (runc validator uts)', () => {
  const noUts = (c: Cfg) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'uts'));
  it('hostname', () => {
    expectOne(noUts, '$.hostname', 'unable to set hostname without a private UTS namespace');
  });
  it('domainname', () => {
    expectOne(
      (c) => {
        noUts(c);
        delete c.hostname;
        c.domainname = 'example.org';
      },
      '$.domainname',
      'unable to set domainname without a private UTS namespace',
    );
  });
  it('an empty name or a joined namespace is fine', () => {
    expectNone((c) => {
      noUts(c);
      c.hostname = '';
    });
    expectNone((c) => (c.linux.namespaces[3] = { type: 'uts', path: '/proc/1/ns/uts' }));
  });
});

describe('mounts (config.md#mounts)', () => {
  it('a relative destination is deprecated: a warning, not an error (spec 1.2+, as runc)', () => {
    const c = base();
    c.mounts.push({ destination: 'data', type: 'tmpfs', source: 'tmpfs' });
    const { errors, warnings } = run(c);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([{ path: '$.mounts[1].destination', message: expect.stringContaining('is not absolute (got "data")') }]);
    expectOne((c) => c.mounts.push({ destination: '' }), '$.mounts[1].destination', 'must not be empty');
  });
  it('uidMappings and gidMappings go together', () => {
    const map = [{ containerID: 0, hostID: 1000, size: 1 }];
    expectOne((c) => c.mounts.push({ destination: '/d', source: '/s', options: ['bind', 'idmap'], uidMappings: map }), '$.mounts[1].gidMappings', 'is required with uidMappings');
    expectNone((c) => c.mounts.push({ destination: '/d', source: '/s', options: ['bind', 'idmap'], uidMappings: map, gidMappings: map }));
  });
  it('idmap needs mappings or a user namespace (config.md#linux-mount-options)', () => {
    expectOne((c) => c.mounts.push({ destination: '/d', source: '/s', options: ['rbind', 'ridmap'] }), '$.mounts[1].options', '"ridmap" needs uidMappings and gidMappings');
    expectNone((c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.mounts.push({ destination: '/d', source: '/s', options: ['rbind', 'ridmap'] });
    });
  });
  it('mappings without idmap/ridmap are a warning', () => {
    const c = base();
    const map = [{ containerID: 0, hostID: 1000, size: 1 }];
    c.mounts.push({ destination: '/d', source: '/s', options: ['bind'], uidMappings: map, gidMappings: map });
    expect(run(c)).toEqual({ errors: [], warnings: [{ path: '$.mounts[1].options', message: expect.stringContaining('should contain "idmap" or "ridmap"') }] });
  });
});

describe('hooks (config.md#posix-platform-hooks)', () => {
  it('path must be absolute', () => {
    expectOne((c) => (c.hooks = { createRuntime: [{ path: 'hook.sh' }] }), '$.hooks.createRuntime[0].path', 'must be an absolute path (got "hook.sh")');
    expectNone((c) => (c.hooks = { poststop: [{ path: '/usr/bin/hook', env: ['A=1'] }] }));
  });
  it('env entries are NAME=VALUE', () => {
    expectOne((c) => (c.hooks = { prestart: [{ path: '/h', env: ['A'] }] }), '$.hooks.prestart[0].env[0]', 'NAME=VALUE');
  });
});

describe('namespaces (config-linux.md#namespaces)', () => {
  it('types must be unique', () => {
    expectOne((c) => c.linux.namespaces.push({ type: 'pid' }), '$.linux.namespaces[5].type', 'duplicate namespace type "pid" (first at $.linux.namespaces[0])');
  });
  it('path must be absolute', () => {
    expectOne((c) => (c.linux.namespaces[1] = { type: 'network', path: 'netns/x' }), '$.linux.namespaces[1].path', 'must be an absolute path');
  });
});

describe('user namespace and mappings (config-linux.md#user-namespace-mappings, runc)', () => {
  const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
  it('mappings need a user namespace', () => {
    expectOne((c) => ((c.linux.uidMappings = map), (c.linux.gidMappings = map)), '$.linux.uidMappings', 'needs a user namespace');
    expectOne((c) => (c.linux.gidMappings = map), '$.linux.gidMappings', 'needs a user namespace');
  });
  it('a new user namespace needs mappings, both of them', () => {
    expectOne((c) => c.linux.namespaces.push({ type: 'user' }), '$.linux.namespaces[5]', 'a new user namespace needs linux.uidMappings and linux.gidMappings');
    expectOne(
      (c) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = map;
      },
      '$.linux.gidMappings',
      'is required with uidMappings',
    );
    expectNone((c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = map;
      c.linux.gidMappings = map;
    });
  });
  it('joining one by path needs no mappings', () => {
    expectNone((c) => c.linux.namespaces.push({ type: 'user', path: '/proc/42/ns/user' }));
  });
  it('mappings with a path: the joined namespace own ones are a warning, others an error', () => {
    const host = fakeHost();
    host.userns.set('/proc/42/ns/user', { uid: map, gid: map });
    const c = base();
    c.linux.namespaces.push({ type: 'user', path: '/proc/42/ns/user' });
    c.linux.uidMappings = map;
    c.linux.gidMappings = map;
    const r = run(c, { host });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([{ path: '$.linux.uidMappings', message: expect.stringContaining('repeats the mappings') }]);
    c.linux.uidMappings = [{ containerID: 0, hostID: 5000, size: 10 }];
    expect(run(c, { host }).errors).toEqual([{ path: '$.linux.uidMappings', message: expect.stringContaining('do not match the user namespace') }]);
    expect(run(c).errors).toEqual([{ path: '$.linux.uidMappings', message: expect.stringContaining('cannot be given with a user namespace path') }]);
  });
  it('a mapping must have a size and not overlap another', () => {
    const c = (edit: (c: Cfg) => void) => (x: Cfg) => {
      x.linux.namespaces.push({ type: 'user' });
      x.linux.uidMappings = structuredClone(map);
      x.linux.gidMappings = structuredClone(map);
      edit(x);
    };
    expectOne(c((x) => (x.linux.uidMappings[0].size = 0)), '$.linux.uidMappings[0].size', 'must be at least 1');
    expectOne(c((x) => x.linux.gidMappings.push({ containerID: 70000, hostID: 100010, size: 5 })), '$.linux.gidMappings[1]', 'overlaps $.linux.gidMappings[0]');
    expectNone(c((x) => x.linux.gidMappings.push({ containerID: 65536, hostID: 300000, size: 5 })));
  });
});

describe('timeOffsets (config-linux.md#offset-for-time-namespace, runc)', () => {
  const offsets = { monotonic: { secs: 10 } };
  it('need a time namespace', () => {
    expectOne((c) => (c.linux.timeOffsets = offsets), '$.linux.timeOffsets', 'needs a time namespace');
  });
  it('cannot go with a joined one', () => {
    expectOne(
      (c) => {
        c.linux.timeOffsets = offsets;
        c.linux.namespaces.push({ type: 'time', path: '/proc/1/ns/time' });
      },
      '$.linux.timeOffsets',
      'cannot be set when joining',
    );
  });
  it('name a clock that can be offset', () => {
    expectOne(
      (c) => {
        c.linux.timeOffsets = { realtime: { secs: 1 } };
        c.linux.namespaces.push({ type: 'time' });
      },
      '$.linux.timeOffsets.realtime',
      'must be one of: boottime, monotonic',
    );
    expectNone((c) => {
      c.linux.timeOffsets = { monotonic: { secs: -5, nanosecs: 999999999 }, boottime: { secs: 1 } };
      c.linux.namespaces.push({ type: 'time' });
    });
  });
});

describe('devices (config-linux.md#devices)', () => {
  it('path must be absolute and not repeat', () => {
    expectOne((c) => (c.linux.devices = [{ type: 'c', path: 'dev/fuse', major: 10, minor: 229 }]), '$.linux.devices[0].path', 'must be an absolute path');
    expectOne(
      (c) => (c.linux.devices = [{ type: 'c', path: '/dev/a', major: 1, minor: 3 }, { type: 'c', path: '/dev/a', major: 1, minor: 5 }]),
      '$.linux.devices[1].path',
      'duplicate device path /dev/a',
    );
  });
  it('c, b and u need major and minor; on p they are ignored with a warning', () => {
    expectOne((c) => (c.linux.devices = [{ type: 'c', path: '/dev/x', minor: 1 }]), '$.linux.devices[0].major', 'is required for a device of type c');
    const fifo = base();
    fifo.linux.devices = [{ type: 'p', path: '/dev/f', major: 3 }];
    expect(run(fifo)).toEqual({ errors: [], warnings: [{ path: '$.linux.devices[0].major', message: 'is ignored for a fifo (type p)' }] });
    expectNone((c) => (c.linux.devices = [{ type: 'p', path: '/dev/f' }, { type: 'b', path: '/dev/ram0', major: 1, minor: 0 }]));
  });
  it('the same type and numbers twice is a warning', () => {
    const c = base();
    c.linux.devices = [{ type: 'c', path: '/dev/a', major: 1, minor: 3 }, { type: 'u', path: '/dev/b', major: 1, minor: 3 }];
    expect(run(c)).toEqual({ errors: [], warnings: [{ path: '$.linux.devices[1]', message: expect.stringContaining('same type, major and minor') }] });
  });
});

describe('netDevices (config-linux.md#network-devices, runc)', () => {
  it('need a network namespace', () => {
    expectOne(
      (c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'network');
        c.linux.netDevices = { eth1: {} };
      },
      '$.linux.netDevices',
      'needs a network namespace',
    );
  });
  it('names must be interface names', () => {
    expectOne((c) => (c.linux.netDevices = { 'a/b': {} }), '$.linux.netDevices["a/b"]', 'not a valid network interface name');
    expectOne((c) => (c.linux.netDevices = { eth1: { name: 'x'.repeat(16) } }), '$.linux.netDevices.eth1.name', 'not a valid network interface name');
    expectNone((c) => (c.linux.netDevices = { eth1: { name: 'ctr%d' } }));
  });
});

describe('cgroupsPath (config-linux.md#cgroups-path)', () => {
  it('must not climb with ..', () => {
    expectOne((c) => (c.linux.cgroupsPath = '/a/../../b'), '$.linux.cgroupsPath', 'must not contain ".."');
    expectOne((c) => (c.linux.cgroupsPath = '../x'), '$.linux.cgroupsPath', 'must not contain ".."');
  });
  it('may be absolute or relative', () => {
    expectNone((c) => (c.linux.cgroupsPath = '/tsrun/a'));
    expectNone((c) => (c.linux.cgroupsPath = 'tsrun/a..b'));
  });
});

describe('resources', () => {
  it('device rules: type a, b or c, access of r, w, m (config-linux.md#allowed-device-list, runc)', () => {
    expectOne((c) => (c.linux.resources = { devices: [{ allow: true, type: 'p', access: 'r' }] }), '$.linux.resources.devices[0].type', 'must be one of: a, b, c');
    expectOne((c) => (c.linux.resources = { devices: [{ allow: true, access: 'rx' }] }), '$.linux.resources.devices[0].access', 'combination of r, w and m');
    expectOne((c) => (c.linux.resources = { devices: [{ allow: false }] }), '$.linux.resources.devices[0].access', 'is required');
    expectNone((c) => (c.linux.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, access: 'rw' }] }));
  });
  it('memory: swappiness 0 to 100, swap >= limit', () => {
    expectOne((c) => (c.linux.resources = { memory: { swappiness: 101 } }), '$.linux.resources.memory.swappiness', 'between 0 and 100');
    expectOne((c) => (c.linux.resources = { memory: { limit: 200, swap: 100 } }), '$.linux.resources.memory.swap', 'must be at least memory.limit');
    expectNone((c) => (c.linux.resources = { memory: { limit: 200, swap: -1, swappiness: 0 } }));
  });
  it('cpu: burst <= quota (config-linux.md#cpu)', () => {
    expectOne((c) => (c.linux.resources = { cpu: { quota: 1000, burst: 2000 } }), '$.linux.resources.cpu.burst', 'must not be larger than quota');
    expectNone((c) => (c.linux.resources = { cpu: { quota: -1, burst: 2000 } }));
  });
  it('blockIO weightDevice needs a weight; rdma needs a limit', () => {
    expectOne((c) => (c.linux.resources = { blockIO: { weightDevice: [{ major: 8, minor: 0 }] } }), '$.linux.resources.blockIO.weightDevice[0]', 'weight or leafWeight');
    expectOne((c) => (c.linux.resources = { rdma: { mlx5_1: {} } }), '$.linux.resources.rdma.mlx5_1', 'hcaHandles or hcaObjects');
  });
  it('unified keys are file names', () => {
    expectOne((c) => (c.linux.resources = { unified: { '../memory.max': '1' } }), '$.linux.resources.unified["../memory.max"]', 'must be a file name');
    expectNone((c) => (c.linux.resources = { unified: { 'memory.high': '1G' } }));
  });
});

describe('sysctl (runc validator sysctl)', () => {
  const withoutNs = (t: string) => (c: Cfg) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== t));
  it('net.* needs a network namespace of its own', () => {
    expectOne(
      (c) => {
        withoutNs('network')(c);
        c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      },
      '$.linux.sysctl["net.ipv4.ip_forward"]',
      `not allowed in the host's network namespace`,
    );
    const host = fakeHost();
    host.netns.set('/proc/1/ns/net', true);
    host.netns.set('/run/netns/a', false);
    expectOne(
      (c) => {
        c.linux.namespaces[1] = { type: 'network', path: '/proc/1/ns/net' };
        c.linux.sysctl = { 'net/ipv4/ip_forward': '1' };
      },
      '$.linux.sysctl["net/ipv4/ip_forward"]',
      `not allowed in the host's network namespace`,
      { host },
    );
    expectNone(
      (c) => {
        c.linux.namespaces[1] = { type: 'network', path: '/run/netns/a' };
        c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      },
      { host },
    );
    expectOne(
      (c) => {
        c.linux.namespaces[1] = { type: 'network', path: '/run/netns/gone' };
        c.linux.sysctl = { 'net.core.somaxconn': '1' };
      },
      '$.linux.sysctl["net.core.somaxconn"]',
      'cannot check the network namespace path',
      { host },
    );
  });
  it('IPC ones need an IPC namespace', () => {
    for (const k of ['kernel.shmmax', 'kernel.msgmni', 'kernel.sem', 'fs.mqueue.msg_max']) {
      expectOne(
        (c) => {
          withoutNs('ipc')(c);
          c.linux.sysctl = { [k]: '1' };
        },
        `$.linux.sysctl["${k}"]`,
        `not allowed in the host's IPC namespace`,
      );
      expectNone((c) => (c.linux.sysctl = { [k]: '1' }));
    }
  });
  it('kernel.domainname is allowed with a UTS namespace, kernel.hostname is not', () => {
    expectNone((c) => (c.linux.sysctl = { 'kernel.domainname': 'example.org' }));
    expectOne((c) => (c.linux.sysctl = { 'kernel.hostname': 'x' }), '$.linux.sysctl["kernel.hostname"]', 'set the hostname field instead');
    expectOne(
      (c) => {
        withoutNs('uts')(c);
        delete c.hostname;
        c.linux.sysctl = { 'kernel.domainname': 'x' };
      },
      '$.linux.sysctl["kernel.domainname"]',
      'not in a separate kernel namespace',
    );
  });
  it('the rest would change the host', () => {
    expectOne((c) => (c.linux.sysctl = { 'vm.swappiness': '10' }), '$.linux.sysctl["vm.swappiness"]', 'not in a separate kernel namespace');
  });
});

describe('seccomp (config-linux.md#seccomp, runc)', () => {
  const seccomp = (s: Cfg) => (c: Cfg) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', ...s });
  it('errnoRet only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE', () => {
    expectOne(seccomp({ defaultErrnoRet: 1 }), '$.linux.seccomp.defaultErrnoRet', 'can only be set with SCMP_ACT_ERRNO or SCMP_ACT_TRACE');
    expectOne(seccomp({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] }), '$.linux.seccomp.syscalls[0].errnoRet', 'can only be set with');
    expectNone(seccomp({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_TRACE', errnoRet: 1 }] }));
  });
  it('syscall names must not be empty', () => {
    expectOne(seccomp({ syscalls: [{ names: ['read', ''], action: 'SCMP_ACT_ERRNO' }] }), '$.linux.seccomp.syscalls[0].names[1]', 'must not be empty');
  });
  it('SCMP_ACT_NOTIFY needs an absolute listenerPath, not as default, not for write', () => {
    expectOne(seccomp({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }), '$.linux.seccomp.listenerPath', 'is required when a rule uses SCMP_ACT_NOTIFY');
    expectOne(
      seccomp({ listenerPath: 'agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }),
      '$.linux.seccomp.listenerPath',
      'must be an absolute path',
    );
    expectOne(
      seccomp({ listenerPath: '/run/a.sock', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_NOTIFY' }] }),
      '$.linux.seccomp.syscalls[0].names[1]',
      'cannot be used for the write syscall',
    );
    expectOne(seccomp({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/run/a.sock' }), '$.linux.seccomp.defaultAction', 'cannot be the default action');
    expectNone(seccomp({ listenerPath: '/run/a.sock', listenerMetadata: 'm', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }));
  });
  it('listenerMetadata needs listenerPath', () => {
    expectOne(seccomp({ listenerMetadata: 'm' }), '$.linux.seccomp.listenerMetadata', 'can only be set with listenerPath');
  });
  it('an argument index is 0 to 5', () => {
    expectOne(
      seccomp({ syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }),
      '$.linux.seccomp.syscalls[0].args[0].index',
      'between 0 and 5',
    );
  });
});

describe('maskedPaths and readonlyPaths (config-linux.md)', () => {
  it('must be absolute', () => {
    expectOne((c) => c.linux.maskedPaths.push('proc/keys'), '$.linux.maskedPaths[1]', 'must be an absolute path');
    expectOne((c) => c.linux.readonlyPaths.push('sys'), '$.linux.readonlyPaths[1]', 'must be an absolute path');
  });
  it('are accepted without a mount namespace (made under the runtime\'s own bind of the rootfs; runc refuses them)', () => {
    expect(errorsOf((c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'mount')))).toEqual([]);
  });
});

describe('intelRdt, memoryPolicy, personality', () => {
  it('intelRdt.closID is a directory name or /', () => {
    expectOne((c) => (c.linux.intelRdt = { closID: '..' }), '$.linux.intelRdt.closID', 'directory name');
    expectOne((c) => (c.linux.intelRdt = { closID: 'a/b' }), '$.linux.intelRdt.closID', 'directory name');
    expectNone((c) => (c.linux.intelRdt = { closID: '/' }));
    expectOne((c) => (c.linux.intelRdt = { schemata: ['L3:0=f\nMB:0=1'] }), '$.linux.intelRdt.schemata[0]', 'must not contain a newline');
  });
  it('memoryPolicy: mode required, nodes to suit it', () => {
    expectOne((c) => (c.linux.memoryPolicy = { nodes: '0' }), '$.linux.memoryPolicy.mode', 'is required');
    expectOne((c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND' }), '$.linux.memoryPolicy.nodes', 'at least one node');
    expectOne((c) => (c.linux.memoryPolicy = { mode: 'MPOL_LOCAL', nodes: '0' }), '$.linux.memoryPolicy.nodes', 'must be empty');
    expectOne((c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0-' }), '$.linux.memoryPolicy.nodes', 'node list');
    expectOne(
      (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }),
      '$.linux.memoryPolicy.flags',
      'cannot have both',
    );
    expectNone((c) => (c.linux.memoryPolicy = { mode: 'MPOL_PREFERRED' }));
    expectNone((c) => (c.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0-1,3', flags: ['MPOL_F_STATIC_NODES'] }));
  });
  it('personality: domain required, no flags', () => {
    expectOne((c) => (c.linux.personality = {}), '$.linux.personality.domain', 'is required');
    expectOne((c) => (c.linux.personality = { domain: 'LINUX', flags: ['X'] }), '$.linux.personality.flags', 'no personality flags are supported');
    expectNone((c) => (c.linux.personality = { domain: 'LINUX32', flags: [] }));
  });
});

describe('parseIdList', () => {
  it('reads Linux CPU and node lists', () => {
    expect(parseIdList('')).toEqual([]);
    expect(parseIdList('0-3,7')).toEqual([0, 1, 2, 3, 7]);
    expect(parseIdList(' 1 , 1-2 ')).toEqual([1, 2]);
    for (const bad of ['-1', '1-', 'a', '3-1', '1,,2']) expect(parseIdList(bad)).toBeUndefined();
  });
});

describe('realHost', () => {
  it('tells directories, files and missing paths apart', () => {
    expect(realHost.pathKind('/')).toBe('directory');
    expect(realHost.pathKind('/proc/self/status')).toBe('other');
    expect(realHost.pathKind('/no/such/path')).toBe('missing');
  });
  it('reads the mappings of a user namespace named through /proc', () => {
    const m = realHost.userNamespaceMappings('/proc/self/ns/user');
    expect(m?.uid.length).toBeGreaterThan(0);
    expect(m?.uid[0]).toEqual({ containerID: expect.any(Number), hostID: expect.any(Number), size: expect.any(Number) });
    expect(realHost.userNamespaceMappings('/run/userns/x')).toBeUndefined();
  });
  it('knows its own network namespace', () => {
    expect(realHost.isRuntimeNetNamespace('/proc/self/ns/net')).toBe(true);
    expect(realHost.isRuntimeNetNamespace('/no/such/ns')).toBeInstanceOf(Error);
  });
});
