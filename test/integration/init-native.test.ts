// Drives build/tsrun-init directly (no runtime) with a busybox rootfs and
// checks from inside the container what the plan asked for. Root only.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { haveProgram, precondition, rootAvailable } from '../helpers/harness';
import {
  CLONE,
  defaultContainerPlan,
  defaultInitPath,
  driveInit,
  exitCodeOf,
  makeBusyboxRootfs,
  type DriveOptions,
  type DriveResult,
} from '../helpers/init-driver';
import type { InitPlan } from '../../src/plan/types';
import { detect } from '../../src/cgroups/detect';

const isRoot = rootAvailable();
const havePython = precondition(haveProgram('python3'), 'python3 is missing (the console-socket test uses it)');
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));

let tmp = '';
let rootfs = '';
const hostMountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
let mountsBefore = '';
const pids = new Set<number>();

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

async function run(plan: InitPlan, opts: DriveOptions = {}): Promise<DriveResult> {
  const res = await driveInit(plan, { timeoutMs: 20_000, ...opts });
  if (res.pid) pids.add(res.pid);
  return res;
}

/** The default container running `sh -c script`, waited for by stage 0. */
function shPlan(script: string, extra: Partial<InitPlan> = {}): InitPlan {
  return defaultContainerPlan(rootfs, ['sh', '-c', script], extra);
}

function userns(plan: InitPlan): InitPlan {
  plan.cloneFlags |= CLONE.NEWUSER;
  plan.uidMap = '0 100000 65536\n';
  plan.gidMap = '0 100000 65536\n';
  plan.devices = plan.devices.map((d) => ({ ...d, bind: true }));
  plan.rlimits = []; // raising a hard limit needs the host's CAP_SYS_RESOURCE
  return plan;
}

describe.skipIf(!isRoot)('tsrun-init, driven directly', () => {
  beforeAll(() => {
    if (!fs.existsSync(defaultInitPath())) throw new Error(`${defaultInitPath()} is missing: run \`make native\``);
    if (!busybox) throw new Error('busybox is missing: `make deps` installs busybox-static');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-init-'));
    fs.chmodSync(tmp, 0o755); // the root of a user namespace must reach the rootfs
    rootfs = makeBusyboxRootfs(path.join(tmp, 'rootfs'), busybox);
    mountsBefore = hostMountinfo();
  });

  afterEach(async () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
      await waitGone(pid);
    }
    pids.clear();
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the default container: namespaces, hostname, mounts, devices, limits', async () => {
    const res = await run(
      shPlan(
        'hostname; id -u; id -g; ulimit -n; for n in mnt pid net uts ipc cgroup; do readlink /proc/self/ns/$n; done; ' +
          'echo pid=$$; cat /proc/self/mountinfo; ls -ln /dev; ls /proc/self/fd; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ' +
          'cat /sys/class/net/lo/operstate; echo x > /proc/sys/kernel/domainname || echo ro-ok',
      ),
    );
    expect(res.error).toBeUndefined();
    expect(res.messages.map((m) => m.name)).toEqual(['MSG_PID', 'MSG_HOOKS', 'MSG_READY', 'MSG_STARTED', 'MSG_EXIT']);
    expect(exitCodeOf(res.waitStatus!)).toBe(0);
    const out = res.stdout.split('\n');
    expect(out.slice(0, 4)).toEqual(['tsrun-test', '0', '0', '1024']);
    for (const [i, ns] of ['mnt', 'pid', 'net', 'uts', 'ipc', 'cgroup'].entries()) {
      expect(out[4 + i]).toMatch(new RegExp(`^${ns}:\\[\\d+\\]$`));
      expect(out[4 + i]).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
    }
    expect(res.stdout).toContain('pid=1\n');
    expect(res.stdout).toMatch(/ \/ rw,relatime /);
    expect(res.stdout).toMatch(/ \/proc rw,nosuid,nodev,noexec,relatime - proc /);
    expect(res.stdout).toMatch(/ \/dev\/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666/);
    expect(res.stdout).toMatch(/ \/sys ro,nosuid,nodev,noexec,relatime - sysfs /);
    expect(res.stdout).toMatch(/ \/proc\/sys ro,nosuid,nodev,noexec,relatime - proc /);
    expect(res.stdout).toMatch(/crw-rw-rw- +1 0 +0 +1, +3 .* null/);
    expect(res.stdout).toMatch(/crw-rw-rw- +1 0 +0 +5, +0 .* tty/);
    expect(res.stdout).toMatch(/ptmx -> pts\/ptmx/);
    expect(res.stdout).toMatch(/fd -> \/proc\/self\/fd/);
    expect(res.stdout).toMatch(/^0\n1\n2\n3\n/m); // stdio and ls's own dir fd: nothing of ours leaked
    expect(res.stdout).toContain('CapEff:\t00000000a80425fb');
    expect(res.stdout).toContain('NoNewPrivs:\t1');
    expect(res.stdout).toMatch(/^unknown$|^up$/m); // lo is up (operstate of lo reads "unknown")
    expect(res.stdout).toContain('ro-ok');
    expect(res.stderr).toContain('Read-only file system');
    expect(os.hostname()).not.toBe('tsrun-test');
    expect(hostMountinfo()).toBe(mountsBefore);
    expect(await waitGone(res.pid!)).toBe(true);
  });

  // cgjoin.c: a v1 hierarchy's cgroup.procs is joined by the child itself (through
  // "tasks"), the v2 one by clone3(CLONE_INTO_CGROUP), any other file by writing the pid
  const layout = isRoot ? detect() : undefined;
  it.skipIf(!layout || layout.v1.length < 2 || !layout.unified)('joins its cgroups each way: v1 by itself, v2 by clone, a plain file by pid', async () => {
    const name = `tsrun-join-${process.pid}`;
    const [a, b] = layout!.v1;
    const dirs = [path.join(a.mountPoint, name), path.join(b.mountPoint, name), path.join(layout!.unified!.mountPoint, name)];
    try {
      for (const d of dirs) fs.mkdirSync(d);
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        for (const d of dirs.slice(0, 2))
          if (fs.existsSync(`${d}/${f}`)) fs.writeFileSync(`${d}/${f}`, fs.readFileSync(`${path.dirname(d)}/${f}`));
      const plan = shPlan('cat /proc/self/cgroup');
      plan.cloneFlags &= ~CLONE.NEWCGROUP; // the host's view of the paths
      plan.cgroupProcs = [`${dirs[0]}/cgroup.procs`, `${dirs[1]}/tasks`, `${dirs[2]}/cgroup.procs`];
      const res = await run(plan);
      expect(res.error).toBeUndefined();
      expect(exitCodeOf(res.waitStatus!)).toBe(0);
      const lines = res.stdout.trim().split('\n');
      const lineOf = (ctrls: string[]) => lines.find((l) => l.split(':')[1] === ctrls.join(','));
      expect(lineOf(a.controllers)?.split(':')[2]).toBe(path.posix.join(a.root === '/' ? '' : a.root, `/${name}`));
      expect(lineOf(b.controllers)?.split(':')[2]).toBe(path.posix.join(b.root === '/' ? '' : b.root, `/${name}`));
      expect(lines.find((l) => l.startsWith('0::'))).toBe(`0::/${name}`);
      // a cgroup that is not there: the error names the file
      const bad = shPlan('true');
      bad.cgroupProcs = [`${dirs[0]}-missing/cgroup.procs`];
      const r = await run(bad);
      expect(r.error).toContain(`${dirs[0]}-missing/cgroup.procs`);
      expect(r.error).toContain('no such file or directory');
    } finally {
      for (const d of dirs) if (fs.existsSync(d)) fs.rmdirSync(d);
    }
  });

  it('sets up a user namespace, binding the device nodes', async () => {
    const res = await run(userns(shPlan('cat /proc/self/uid_map; id -u; ls -ln /dev/null; echo hi > /dev/null && echo null-ok; readlink /proc/self/ns/user')));
    expect(res.error).toBeUndefined();
    expect(exitCodeOf(res.waitStatus!)).toBe(0);
    expect(res.stdout).toMatch(/^\s*0\s+100000\s+65536\n0\n/);
    expect(res.stdout).toMatch(/crw-rw-rw- +1 65534 +65534 +1, +3 .*\/dev\/null/); // the host's node, unmapped owner
    expect(res.stdout).toContain('null-ok');
    expect(res.stdout).not.toContain(fs.readlinkSync('/proc/self/ns/user'));
    expect(hostMountinfo()).toBe(mountsBefore);
  });

  it('starts the container in a time namespace with the offsets', async () => {
    const plan = shPlan('cut -d. -f1 /proc/uptime');
    plan.cloneFlags |= CLONE.NEWTIME;
    plan.timensOffsets = 'boottime 864000 0\nmonotonic 864000 0\n';
    const res = await run(plan);
    expect(res.error).toBeUndefined();
    const inside = Number(res.stdout.trim());
    const host = Number(fs.readFileSync('/proc/uptime', 'utf8').split('.')[0]);
    expect(inside - host).toBeGreaterThanOrEqual(864000 - 5);
    expect(inside - host).toBeLessThanOrEqual(864000 + 5);
  });

  it('keeps a mount on a symlink inside the rootfs', async () => {
    const evil = path.join(rootfs, 'evil');
    fs.symlinkSync('/etc', evil);
    try {
      const plan = shPlan('grep -E " /etc(/sub)? " /proc/self/mountinfo | cut -d" " -f5');
      plan.mounts.push({ source: 'tmpfs', destination: '/evil', type: 'tmpfs', flags: 0n, propagation: [] });
      plan.mounts.push({ source: 'tmpfs', destination: '/evil/../../../../etc/sub', type: 'tmpfs', flags: 0n, propagation: [] });
      const res = await run(plan);
      expect(res.error).toBeUndefined();
      expect(res.stdout).toBe('/etc\n/etc/sub\n');
      expect(fs.existsSync('/etc/sub')).toBe(false);
      expect(hostMountinfo()).toBe(mountsBefore);
    } finally {
      fs.rmSync(evil, { force: true });
      fs.rmSync(path.join(rootfs, 'etc/sub'), { recursive: true, force: true });
    }
  });

  it('reports a missing or non-executable program before READY', async () => {
    const missing = await run(shPlan('', { args: ['no-such-program'] }));
    expect(missing.error).toBe('exec: "no-such-program": executable file not found in $PATH');
    expect(missing.messages.map((m) => m.name)).not.toContain('MSG_READY');
    const notExec = await run(shPlan('', { args: ['/etc/passwd'] }));
    expect(notExec.error).toBe('exec: "/etc/passwd": permission denied');
    const noRootfs = await run(shPlan('', { rootfs: path.join(tmp, 'nope') }));
    expect(noRootfs.error).toBe(`open rootfs "${path.join(tmp, 'nope')}": no such file or directory`);
    expect(hostMountinfo()).toBe(mountsBefore);
  });

  it('runs hooks and waits on the exec fifo', async () => {
    const log = path.join(tmp, 'hook.log');
    const hook = path.join(tmp, 'hook.sh');
    fs.writeFileSync(hook, `#!${busybox} sh\n{ echo "$1 $FOO"; cat; echo; } >> "$2"\n`, { mode: 0o755 });
    fs.copyFileSync(hook, path.join(rootfs, 'hook.sh'));
    fs.chmodSync(path.join(rootfs, 'hook.sh'), 0o755);
    const fifo = path.join(tmp, 'exec.fifo');
    const plan = shPlan(`cat ${log} 2>/dev/null || echo no-host-log; echo started`, {
      wait: false,
      fifoPath: fifo,
      hooks: [
        // before the root switch: host paths
        { kind: 1, path: hook, args: ['hook', 'create', log], env: ['FOO=bar'], timeout: 5 },
        // after it: the rootfs's copy, writing inside the container
        { kind: 2, path: '/hook.sh', args: ['hook', 'start', '/tmp/hook.log'], env: [], timeout: 5 },
      ],
    });
    const res = await run(plan, { state: '{"id":"c1"}' });
    expect(res.error).toBeUndefined();
    expect(res.messages.map((m) => m.name)).toEqual(['MSG_PID', 'MSG_HOOKS', 'MSG_READY', 'MSG_STARTED']);
    expect(res.stdout).toBe('no-host-log\nstarted\n');
    expect(fs.readFileSync(log, 'utf8')).toBe('create bar\n{"id":"c1"}\n');
    expect(fs.readFileSync(path.join(rootfs, 'tmp/hook.log'), 'utf8')).toBe('start \n{"id":"c1"}\n');
    expect(await waitGone(res.pid!)).toBe(true);
    fs.rmSync(path.join(rootfs, 'tmp/hook.log'));
  });

  it('fails on a failing hook, naming it', async () => {
    const hook = path.join(tmp, 'fail.sh');
    fs.writeFileSync(hook, `#!${busybox} sh\necho broken >&2\nexit 3\n`, { mode: 0o755 });
    const res = await run(shPlan('true', { hooks: [{ kind: 1, path: hook, args: [], env: [], timeout: 0 }] }));
    expect(res.error).toBe(`createContainer hook "${hook}" failed: exit status 3: broken`);
  });

  it('applies masked and read-only paths, sysctls, a read-only root and the user', async () => {
    const plan = shPlan('id; touch /x 2>&1; cat /proc/sys/kernel/msgmax; cat /proc/self/oom_score_adj; umask; pwd', {
      rootReadonly: true,
      sysctls: [{ path: 'kernel/msgmax', value: '12345' }],
      uid: 65534,
      gid: 65534,
      additionalGids: [5],
      umask: 0o027,
      oomScoreAdj: 200,
      cwd: '/tmp',
    });
    const res = await run(plan);
    expect(res.error).toBeUndefined();
    expect(res.stdout).toBe(
      'uid=65534(nobody) gid=65534(nobody) groups=5(tty)\ntouch: /x: Read-only file system\n12345\n200\n0027\n/tmp\n',
    );
    expect(fs.readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim()).not.toBe('12345');
  });

  it('loads a seccomp filter', async () => {
    // mkdir and mkdirat -> EPERM, everything else allowed (x86-64)
    const ins = (code: number, jt: number, jf: number, k: number) => {
      const b = Buffer.alloc(8);
      b.writeUInt16LE(code, 0);
      b.writeUInt8(jt, 2);
      b.writeUInt8(jf, 3);
      b.writeUInt32LE(k >>> 0, 4);
      return b;
    };
    const bpf = Buffer.concat([
      ins(0x20, 0, 0, 4), ins(0x15, 1, 0, 0xc000003e), ins(0x06, 0, 0, 0x7fff0000),
      ins(0x20, 0, 0, 0), ins(0x15, 1, 0, 83), ins(0x15, 0, 1, 258), ins(0x06, 0, 0, 0x00050001), ins(0x06, 0, 0, 0x7fff0000),
    ]);
    for (const noNewPrivs of [true, false]) {
      const res = await run(shPlan('mkdir /tmp/d 2>&1; grep ^Seccomp: /proc/self/status', { seccompBpf: bpf, noNewPrivs }));
      expect(res.error).toBeUndefined();
      expect(res.stdout).toBe("mkdir: can't create directory '/tmp/d': Operation not permitted\nSeccomp:\t2\n");
    }
  });

  it('executes a process in a running container', async () => {
    const fifo = path.join(tmp, 'exec2.fifo');
    const c = await run(shPlan('exec sleep 30', { wait: false, fifoPath: fifo }), { output: 'inherit' });
    expect(c.error).toBeUndefined();
    const pid = c.pid!;
    const names: [string, number][] = [['ipc', CLONE.NEWIPC], ['uts', CLONE.NEWUTS], ['net', CLONE.NEWNET], ['pid', CLONE.NEWPID], ['cgroup', CLONE.NEWCGROUP], ['mnt', CLONE.NEWNS]];
    const plan: InitPlan = {
      ...shPlan('echo $$ $(hostname) $(pwd); ps -o pid,comm | grep sleep; exit 7'),
      mode: 2,
      wait: true,
      nsJoin: names.map(([n, type]) => ({ type, path: `/proc/${pid}/ns/${n}` })),
      cloneFlags: 0,
      rootfs: undefined,
      mounts: [],
      devices: [],
      symlinks: [],
      maskedPaths: [],
      readonlyPaths: [],
      hostname: undefined,
      cwd: '/tmp',
      newKeyring: undefined,
    };
    const e = await run(plan);
    expect(e.error).toBeUndefined();
    expect(e.messages.map((m) => m.name)).toEqual(['MSG_PID', 'MSG_READY', 'MSG_EXIT']);
    expect(exitCodeOf(e.waitStatus!)).toBe(7);
    expect(e.stdout).toMatch(/^\d+ tsrun-test \/tmp\n\s*1 sleep\n$/);
    process.kill(pid, 'SIGKILL');
    expect(await waitGone(pid)).toBe(true);
  });

  it.skipIf(!havePython)('hands the pty master to the console socket', async () => {
    const sock = path.join(tmp, 'console.sock');
    const out = path.join(tmp, 'console.out');
    // a console-socket receiver: Node cannot receive SCM_RIGHTS, python can
    const py = `
import socket, os, sys, array, select
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(64, socket.CMSG_LEN(4))
fds = array.array('i'); fds.frombytes(anc[0][2][:4]); m = fds[0]
data = b""
while True:
    r, _, _ = select.select([m], [], [], 10)
    if not r: break
    try: d = os.read(m, 4096)
    except OSError: break
    if not d: break
    data += d
open(sys.argv[2], "wb").write(msg + b"|" + data)
`;
    const p = spawn('python3', ['-c', py, sock, out], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
    const res = await run(shPlan('tty; stty size; readlink /proc/self/fd/0', { terminal: true, consoleSocket: sock, consoleHeight: 33, consoleWidth: 99 }));
    await new Promise<void>((resolve) => p.once('exit', () => resolve()));
    expect(res.error).toBeUndefined();
    expect(fs.readFileSync(out, 'utf8').replace(/\r/g, '')).toBe('/dev/ptmx|/dev/pts/0\n33 99\n/dev/pts/0\n');
  });

  it('left nothing behind on the host', () => {
    expect(hostMountinfo()).toBe(mountsBefore);
    const leftovers = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith(defaultInitPath());
        } catch {
          return false;
        }
      })
      .filter((d) => alive(Number(d)));
    expect(leftovers).toEqual([]);
  });
});
