// Keeps the two ends of the plan wire format in step:
// - src/plan/encode.ts output for one fixed, rich plan == test/golden/plan.bin
// - `tsrun-init --dump-plan` of those bytes == test/golden/plan.txt
// - every tag of native/plan.h has the same name and number in src/plan/tags.ts
// - the init rejects malformed plans with a message and a non-zero exit.
// Regenerate the golden files (then review the diff!) with UPDATE_GOLDEN=1.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePlanBody } from '../../src/plan/encode';
import * as tags from '../../src/plan/tags';
import type { InitPlan } from '../../src/plan/types';

const root = path.resolve(__dirname, '../..');
const goldenBin = path.join(root, 'test/golden/plan.bin');
const goldenTxt = path.join(root, 'test/golden/plan.txt');
const initPath = path.join(root, 'build/tsrun-init');
const update = process.env.UPDATE_GOLDEN === '1';

const RLIM_INFINITY = (1n << 64n) - 1n;

/** Every record kind, every tag, and strings that need escaping. */
export function goldenPlan(): InitPlan {
  return {
    mode: 1,
    wait: true,
    nsJoin: [
      { type: 0x10000000, path: '/proc/4242/ns/user' },
      { type: 0x40000000, path: '/var/run/netns/tsrun test' },
    ],
    cloneFlags: 0x20000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x20000000 | 0x80,
    uidMap: '0 100000 65536\n',
    gidMap: '0 100000 65536\n',
    timensOffsets: 'monotonic 86400 0\nboottime -5 500\n',
    cgroupProcs: ['/sys/fs/cgroup/pids/tsrun/c1/cgroup.procs', '/sys/fs/cgroup/unified/tsrun/c1/cgroup.procs'],
    rootfs: '/var/lib/tsrun/bundle/rootfs',
    rootfsPropagation: (1n << 19n) | 16384n,
    mounts: [
      { source: 'proc', destination: '/proc', type: 'proc', flags: 2n | 4n | 8n, propagation: [] },
      { source: 'tmpfs', destination: '/dev', type: 'tmpfs', flags: 2n | (1n << 24n), data: 'mode=755,size=65536k', propagation: [] },
      {
        source: '/etc/resolv.conf',
        destination: '/etc/resolv.conf',
        flags: 4096n | 16384n,
        propagation: [1n << 18n, (1n << 20n) | 16384n],
        remountFlags: 1n | 2n,
        destIsFile: true,
      },
      {
        source: '/data/with "quotes"\tand\\slash é',
        destination: '/data',
        type: '',
        flags: 4096n,
        propagation: [],
        attrSet: 1n,
        attrClr: 0x70n,
        idmapUserns: '/proc/4242/ns/user',
      },
      {
        source: '/data/owned',
        destination: '/owned',
        flags: 4096n | 16384n,
        propagation: [],
        idmapMaps: { uidMap: '1000 100000 1\n0 100001 1000\n', gidMap: '1000 100000 1\n' },
        idmapRecursive: true,
      },
      { source: 'tmpfs', destination: '/etc', type: 'tmpfs', flags: 0n, data: 'mode=755', propagation: [], tmpcopyup: true },
    ],
    devices: [
      { path: '/dev/null', type: 0o020000, major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/sda', type: 0o060000, major: 8, minor: 0, mode: 0o660, uid: 0, gid: 6, bind: true },
      { path: '/dev/fifo', type: 0o010000, major: 0, minor: 0, mode: 0o600, uid: 1000, gid: 1000 },
    ],
    symlinks: [
      { target: '/proc/self/fd', path: '/dev/fd' },
      { target: 'pts/ptmx', path: '/dev/ptmx' },
    ],
    noPivot: true,
    maskedPaths: ['/proc/kcore', '/sys/firmware'],
    readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
    rootReadonly: true,
    hostname: 'golden',
    domainname: 'example.org',
    sysctls: [{ path: 'net/ipv4/ip_forward', value: '1' }],
    rlimits: [
      { type: 7, soft: 1024n, hard: 4096n },
      { type: 4, soft: RLIM_INFINITY, hard: RLIM_INFINITY },
    ],
    oomScoreAdj: -500,
    personality: 8,
    newKeyring: '_ses.golden',
    uid: 1000,
    gid: 1001,
    additionalGids: [5, 10],
    umask: 0o022,
    cwd: '/home/user',
    args: ['sh', '-c', 'echo "hi"\nexit 0'],
    env: ['PATH=/usr/bin:/bin', 'TERM=xterm', 'EMPTY='],
    caps: { bounding: 0xa80425fbn, effective: 0xa80425fbn, permitted: 0xa80425fbn, inheritable: 0n, ambient: 1n << 10n },
    noNewPrivs: true,
    seccompBpf: Buffer.from('200000000400000015000100' + '3e0000c0' + '06000000' + '0000ff7f', 'hex'),
    seccompFlags: 8n,
    seccompListener: '/run/seccomp-agent.sock',
    seccompMetadata: 'meta',
    fifoPath: '/run/tsrun/c1/exec.fifo',
    preserveFds: 2,
    terminal: true,
    consoleSocket: '/tmp/console.sock',
    consoleHeight: 40,
    consoleWidth: 120,
    hooks: [
      { kind: 1, path: '/usr/bin/hook', args: ['hook', 'create'], env: ['A=1'], timeout: 5 },
      { kind: 2, path: '/usr/bin/hook', args: [], env: [], timeout: 0 },
    ],
    apparmor: 'tsrun-default',
    selinux: 'system_u:system_r:container_t:s0',
    stateJson: '{"ociVersion":"1.2.0","id":"c1","status":"created"}',
    sched: { policy: 0, nice: -5, priority: 0, flags: 0n },
    ioprio: (2 << 13) | 4,
    cpuAffinityInitial: '0-3',
    cpuAffinityFinal: '1,3',
    memPolicy: { mode: 3, flags: 1 << 15, nodes: [0x5n, 1n << 63n] },
    netDevices: [
      { name: 'veth0', newName: 'eth0' },
      { name: 'enp3s0', newName: 'net%d' },
    ],
  };
}

function needInit(): void {
  if (!fs.existsSync(initPath)) {
    throw new Error(`${initPath} is missing: run \`make native\` first`);
  }
}

function dump(input: Buffer) {
  return spawnSync(initPath, ['--dump-plan'], { input, encoding: 'utf8' });
}

describe('plan wire format', () => {
  it('encodes the golden plan byte for byte', () => {
    const body = encodePlanBody(goldenPlan());
    if (update) {
      fs.mkdirSync(path.dirname(goldenBin), { recursive: true });
      fs.writeFileSync(goldenBin, body);
    }
    expect(fs.existsSync(goldenBin), `${goldenBin} missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(body.equals(fs.readFileSync(goldenBin))).toBe(true);
  });

  it('frames a plan past the first buffer, with multi-byte and lone-surrogate strings, as the init reads it', () => {
    needInit();
    // the writer starts with 4 KiB and grows; every string must take as many bytes as its header says
    const odd = ['é', '😀', 'x\ud800y', 'z'.repeat(3000)];
    const args = Array.from({ length: 400 }, (_, i) => `${odd[i % odd.length]}${i}`);
    const body = encodePlanBody({ ...goldenPlan(), args });
    expect(body.length).toBeGreaterThan(4096 * 2);
    const r = dump(body);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const shown = r.stdout.split('\n').filter((l) => l.startsWith('P_ARG '));
    expect(shown).toHaveLength(400);
    // the records after the arguments are still read in place
    expect(r.stdout).toContain('P_ENV ');
    expect(r.stdout).toContain('P_HOOK');
  });

  it('tsrun-init --dump-plan reads the golden bytes as plan.txt says', () => {
    needInit();
    const r = dump(fs.readFileSync(goldenBin));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    if (update) fs.writeFileSync(goldenTxt, r.stdout);
    expect(r.stdout).toBe(fs.readFileSync(goldenTxt, 'utf8'));
  });

  it('native/plan.h and src/plan/tags.ts agree on every tag', () => {
    const header = fs.readFileSync(path.join(root, 'native/plan.h'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const fromHeader = new Map<string, number>();
    for (const m of header.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=\s*(\d+)\s*,/gm)) fromHeader.set(m[1], Number(m[2]));
    expect(fromHeader.size).toBeGreaterThan(90);

    const groups: [string, Record<string, number>][] = [
      ['MSG_', tags.Msg],
      ['PLAN_MODE_', tags.PlanMode],
      ['HOOK_KIND_', tags.HookKind],
      ['P_', tags.P],
      ['NS_', tags.NS],
      ['M_', tags.M],
      ['D_', tags.D],
      ['L_', tags.L],
      ['K_', tags.K],
      ['R_', tags.R],
      ['C_', tags.C],
      ['H_', tags.H],
      ['S_', tags.S],
      ['MP_', tags.MP],
      ['N_', tags.N],
    ];
    const fromTs = new Map<string, number>();
    for (const [prefix, obj] of groups) for (const [k, v] of Object.entries(obj)) fromTs.set(prefix + k, v);
    expect(Object.fromEntries([...fromTs].sort())).toEqual(Object.fromEntries([...fromHeader].sort()));
  });
});

// ---- malformed input -------------------------------------------------------

function rec(tag: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(tag, 0);
  h.writeUInt32LE(payload.length, 4);
  return Buffer.concat([h, payload]);
}
function u64(tag: number, v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return rec(tag, b);
}
const str = (tag: number, s: string) => rec(tag, Buffer.from(s));
const minimal = () => [u64(tags.P.MODE, 1n), str(tags.P.ARG, 'true')];

describe('tsrun-init rejects malformed plans', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['a truncated header', Buffer.concat([...minimal(), Buffer.from([1, 2, 3])]), /truncated record/],
    ['a payload longer than the data', Buffer.concat([...minimal(), Buffer.from([149, 0, 0, 0, 50, 0, 0, 0, 65])]), /truncated record/],
    ['an unknown tag', Buffer.concat([...minimal(), u64(999, 1n)]), /unknown tag 999/],
    ['a U64 of 4 bytes', Buffer.concat([...minimal(), rec(tags.P.UID, Buffer.alloc(4))]), /P_UID: a U64 needs 8 bytes/],
    ['a NUL in a string', Buffer.concat([...minimal(), str(tags.P.HOSTNAME, 'a\0b')]), /P_HOSTNAME: a NUL byte/],
    ['a repeated single tag', Buffer.concat([...minimal(), u64(tags.P.UID, 1n), u64(tags.P.UID, 2n)]), /P_UID given twice/],
    ['a tag out of its group', Buffer.concat([...minimal(), str(tags.M.DEST, '/x')]), /M_DEST is not allowed here/],
    ['no P_MODE', str(tags.P.ARG, 'true'), /no P_MODE/],
    ['no P_ARG', u64(tags.P.MODE, 1n), /no P_ARG/],
    ['a bad mode', Buffer.concat([u64(tags.P.MODE, 3n), str(tags.P.ARG, 'x')]), /P_MODE must be 1/],
    ['a bool of 2', Buffer.concat([...minimal(), u64(tags.P.WAIT, 2n)]), /P_WAIT must be 0 or 1/],
    ['a relative mount destination', Buffer.concat([...minimal(), rec(tags.P.MOUNT, Buffer.concat([str(tags.M.SOURCE, 'proc'), str(tags.M.DEST, 'proc')]))]), /P_MOUNT\[0\]: M_DEST must be an absolute path/],
    ['a mount without source', Buffer.concat([...minimal(), rec(tags.P.MOUNT, str(tags.M.DEST, '/proc'))]), /P_MOUNT\[0\]: needs M_SOURCE and M_DEST/],
    ['a sysctl escaping /proc/sys', Buffer.concat([...minimal(), rec(tags.P.SYSCTL, Buffer.concat([str(tags.K.PATH, 'net/../../etc'), str(tags.K.VALUE, '1')]))]), /must stay under \/proc\/sys/],
    ['a device of a bad type', Buffer.concat([...minimal(), rec(tags.P.DEVICE, Buffer.concat([str(tags.D.PATH, '/dev/x'), u64(tags.D.TYPE, 0o100000n)]))]), /D_TYPE .* is not S_IFCHR/],
    ['an ns join of two types', Buffer.concat([...minimal(), rec(tags.P.NS_JOIN, Buffer.concat([u64(tags.NS.TYPE, 0x60000000n), str(tags.NS.PATH, '/x')]))]), /not one CLONE_NEW\* flag/],
    ['a seccomp program of 7 bytes', Buffer.concat([...minimal(), rec(tags.P.SECCOMP_BPF, Buffer.alloc(7))]), /P_SECCOMP_BPF: 7 bytes/],
    ['P_HOST_MOUNTS of "/"', Buffer.concat([...minimal(), str(tags.P.ROOTFS, '/r'), str(tags.P.HOST_MOUNTS, '/')]), /P_HOST_MOUNTS "\/" must be a directory below/],
    ['P_HOST_MOUNTS with ".."', Buffer.concat([...minimal(), str(tags.P.ROOTFS, '/r'), str(tags.P.HOST_MOUNTS, '/run/..')]), /must be a directory below/],
    ['a relative P_HOST_MOUNTS', Buffer.concat([...minimal(), str(tags.P.ROOTFS, '/r'), str(tags.P.HOST_MOUNTS, 'run/x')]), /P_HOST_MOUNTS must be an absolute path/],
    ['P_HOST_MOUNTS without P_ROOTFS', Buffer.concat([...minimal(), str(tags.P.HOST_MOUNTS, '/run/x')]), /needs P_MODE create and P_ROOTFS/],
    ['P_HOST_MOUNTS with a new mount namespace', Buffer.concat([...minimal(), u64(tags.P.CLONE_FLAGS, 0x20000n), str(tags.P.ROOTFS, '/r'), str(tags.P.HOST_MOUNTS, '/run/x')]), /with a mount or user namespace/],
    ['P_HOST_MOUNTS with a joined user namespace', Buffer.concat([...minimal(), rec(tags.P.NS_JOIN, Buffer.concat([u64(tags.NS.TYPE, 0x10000000n), str(tags.NS.PATH, '/proc/1/ns/user')])), str(tags.P.ROOTFS, '/r'), str(tags.P.HOST_MOUNTS, '/run/x')]), /with a mount or user namespace/],
    ['P_HOST_MOUNTS with P_NO_PIVOT', Buffer.concat([...minimal(), str(tags.P.ROOTFS, '/r'), str(tags.P.HOST_MOUNTS, '/run/x'), u64(tags.P.NO_PIVOT, 1n)]), /the root switch is chroot/],
    ['P_CHROOT in a create plan', Buffer.concat([...minimal(), str(tags.P.CHROOT, '/proc/1/root')]), /P_CHROOT is for exec/],
    ['an idmap uid map without its gid map', Buffer.concat([...minimal(), rec(tags.P.MOUNT, Buffer.concat([str(tags.M.SOURCE, '/s'), str(tags.M.DEST, '/d'), str(tags.M.IDMAP_UID_MAP, '0 1 1\n')]))]), /M_IDMAP_UID_MAP and M_IDMAP_GID_MAP go together/],
    ['idmap maps and a user namespace path', Buffer.concat([...minimal(), rec(tags.P.MOUNT, Buffer.concat([str(tags.M.SOURCE, '/s'), str(tags.M.DEST, '/d'), str(tags.M.IDMAP_UID_MAP, '0 1 1\n'), str(tags.M.IDMAP_GID_MAP, '0 1 1\n'), str(tags.M.IDMAP_USERNS, '/proc/1/ns/user')]))]), /not both/],
    ['M_IDMAP_RECURSIVE without an idmap', Buffer.concat([...minimal(), rec(tags.P.MOUNT, Buffer.concat([str(tags.M.SOURCE, '/s'), str(tags.M.DEST, '/d'), u64(tags.M.IDMAP_RECURSIVE, 1n)]))]), /M_IDMAP_RECURSIVE without an idmap/],
    ['a nodemask that is not whole words', Buffer.concat([...minimal(), rec(tags.P.MEMPOLICY, Buffer.concat([u64(tags.MP.MODE, 2n), rec(tags.MP.NODES, Buffer.alloc(4))]))]), /MP_NODES: 4 bytes/],
    ['a memory policy without a mode', Buffer.concat([...minimal(), rec(tags.P.MEMPOLICY, u64(tags.MP.FLAGS, 0n))]), /needs MP_MODE/],
    ['a network device without a new name', Buffer.concat([...minimal(), rec(tags.P.NETDEV, str(tags.N.NAME, 'veth0'))]), /needs a non-empty N_NAME and N_NEW_NAME/],
    ['a network device name of 16 bytes', Buffer.concat([...minimal(), rec(tags.P.NETDEV, Buffer.concat([str(tags.N.NAME, 'veth0'), str(tags.N.NEW_NAME, 'x'.repeat(16))]))]), /at most 15 bytes/],
    ['tmpcopyup on a bind', Buffer.concat([...minimal(), rec(tags.P.MOUNT, Buffer.concat([str(tags.M.SOURCE, '/s'), str(tags.M.DEST, '/d'), u64(tags.M.TMPCOPYUP, 1n)]))]), /M_TMPCOPYUP is for tmpfs/],
    ['a network device in an exec plan', Buffer.concat([u64(tags.P.MODE, 2n), str(tags.P.ARG, 'x'), rec(tags.P.NETDEV, Buffer.concat([str(tags.N.NAME, 'a'), str(tags.N.NEW_NAME, 'b')]))]), /P_NETDEV is for create/],
    ['an rlimit with soft above hard', Buffer.concat([...minimal(), rec(tags.P.RLIMIT, Buffer.concat([u64(tags.R.TYPE, 7n), u64(tags.R.SOFT, 10n), u64(tags.R.HARD, 5n)]))]), /R_SOFT is above R_HARD/],
  ];
  for (const [name, input, msg] of cases) {
    it(`rejects ${name}`, () => {
      needInit();
      const r = dump(input);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^tsrun-init: invalid plan: /);
      expect(r.stderr).toMatch(msg);
    });
  }

  it('accepts P_HOST_MOUNTS without a mount namespace, and P_CHROOT in an exec plan', () => {
    needInit();
    const host = dump(Buffer.concat([...minimal(), u64(tags.P.CLONE_FLAGS, 0x20000000n), str(tags.P.ROOTFS, '/r'), str(tags.P.HOST_MOUNTS, '/run/tsrun/c/rootfs')]));
    expect(host.stderr).toBe('');
    expect(host.stdout).toContain('P_HOST_MOUNTS "/run/tsrun/c/rootfs"\n');
    const exec = dump(Buffer.concat([u64(tags.P.MODE, 2n), str(tags.P.ARG, 'true'), str(tags.P.CHROOT, '/proc/42/root')]));
    expect(exec.stderr).toBe('');
    expect(exec.stdout).toBe('P_MODE 2\nP_ARG "true"\nP_CHROOT "/proc/42/root"\n');
  });

  it('accepts the minimal plan', () => {
    needInit();
    const r = dump(Buffer.concat(minimal()));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('P_MODE 1\nP_ARG "true"\n');
  });
});
