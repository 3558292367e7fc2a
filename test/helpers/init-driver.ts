// Drives build/tsrun-init directly, without the runtime: sends MSG_PLAN on
// fd 3 (a socketpair from child_process), prints or collects the messages,
// answers MSG_HOOKS with MSG_HOOKS_DONE and opens the exec fifo to start
// the container. Used by test/integration/init-native.test.ts, and as a CLI:
//
//   npx esbuild --bundle --platform=node --log-level=warning \
//     test/helpers/init-driver.ts --outfile=/tmp/init-driver.js
//   node /tmp/init-driver.js plan.json        # bigints as "123n", seccompBpf as hex
//   node /tmp/init-driver.js --demo ROOTFS [cmd...]   # the default container
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Socket } from 'node:net';
import { encodeMessage, encodePlanMessage } from '../../src/plan/encode';
import { Msg, HookKind } from '../../src/plan/tags';
import { emptyPlan, type InitPlan } from '../../src/plan/types';

export const MS = {
  RDONLY: 1n,
  NOSUID: 2n,
  NODEV: 4n,
  NOEXEC: 8n,
  REMOUNT: 32n,
  BIND: 4096n,
  REC: 16384n,
  PRIVATE: 1n << 18n,
  SLAVE: 1n << 19n,
  SHARED: 1n << 20n,
  RELATIME: 1n << 21n,
  STRICTATIME: 1n << 24n,
} as const;

export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const S_IFCHR = 0o020000;

export interface InitMessage {
  tag: number;
  name: string;
  payload: Buffer;
  text?: string;
  value?: bigint;
}

export interface DriveOptions {
  initPath?: string;
  /** stdin of the container; 'pipe' gives an empty, closed stdin */
  stdin?: 'pipe' | 'inherit' | 'ignore';
  /** 'pipe' collects stdout/stderr; 'inherit' passes ours */
  output?: 'pipe' | 'inherit';
  /** payload of MSG_HOOKS_DONE */
  state?: string;
  /** open the exec fifo after MSG_READY (default true) */
  startFifo?: boolean;
  /** give up (kill the init) after this many ms */
  timeoutMs?: number;
  /** extra fds for P_PRESERVE_FDS, at 3.. (the sync socket then follows them) */
  extraFds?: number[];
  log?: (m: InitMessage) => void;
}

export interface DriveResult {
  messages: InitMessage[];
  pid?: number;
  /** raw wait status from MSG_EXIT (P_WAIT) */
  waitStatus?: number;
  error?: string;
  stdout: string;
  stderr: string;
  /** exit code of stage 0 */
  initCode: number | null;
  timedOut: boolean;
}

const names: Record<number, string> = Object.fromEntries(Object.entries(Msg).map(([k, v]) => [v, `MSG_${k}`]));

/** $TSRUN_INIT, else build/tsrun-init of this checkout (from source or from a bundle in build/ or the cwd). */
export function defaultInitPath(): string {
  if (process.env.TSRUN_INIT) return process.env.TSRUN_INIT;
  const candidates = [
    path.resolve(__dirname, '../../build/tsrun-init'),
    path.resolve(__dirname, 'tsrun-init'),
    path.resolve(process.cwd(), 'build/tsrun-init'),
  ];
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0];
}

/** Opens the fifo for reading without blocking, then reads the byte the init writes. */
async function releaseFifo(fifo: string, deadline: number): Promise<void> {
  const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const b = Buffer.alloc(1);
    while (Date.now() < deadline) {
      try {
        if (fs.readSync(fd, b, 0, 1, null) === 1) return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function driveInit(plan: InitPlan, opts: DriveOptions = {}): Promise<DriveResult> {
  const initPath = opts.initPath ?? defaultInitPath();
  const output = opts.output ?? 'pipe';
  const extra = opts.extraFds ?? [];
  const syncIndex = 3 + extra.length;
  const stdio: (string | number)[] = [opts.stdin ?? 'pipe', output, output, ...extra, 'pipe'];
  const child = spawn(initPath, [String(syncIndex)], { stdio: stdio as never });
  if (opts.stdin === undefined || opts.stdin === 'pipe') child.stdin?.end();
  const sock = child.stdio[syncIndex] as unknown as Socket;
  const res: DriveResult = { messages: [], stdout: '', stderr: '', initCode: null, timedOut: false };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);

  child.stdout?.on('data', (d: Buffer) => (res.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (res.stderr += d.toString()));

  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let pending = 3; // sync socket end, stage 0 exit, output streams
    let outputs = output === 'pipe' ? 2 : 0;
    const done = () => {
      if (--pending === 0) {
        clearTimeout(timer);
        resolve(res);
      }
    };
    const timer = setTimeout(() => {
      res.timedOut = true;
      child.kill('SIGKILL');
      if (res.pid) {
        try {
          process.kill(res.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      sock.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, Math.max(0, deadline - Date.now()));

    const onOutputEnd = () => {
      if (--outputs === 0) done();
    };
    if (outputs) {
      child.stdout!.on('close', onOutputEnd);
      child.stderr!.on('close', onOutputEnd);
    } else {
      done();
    }
    child.on('exit', (code) => {
      res.initCode = code;
      done();
    });
    child.on('error', reject);
    sock.on('error', () => {
      // EPIPE/ECONNRESET once the init is gone: the close event follows
    });
    sock.on('close', done);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        const tag = buf.readUInt32LE(0);
        const len = buf.readUInt32LE(4);
        if (buf.length < 8 + len) break;
        const payload = buf.subarray(8, 8 + len);
        buf = buf.subarray(8 + len);
        const m: InitMessage = { tag, name: names[tag] ?? `tag ${tag}`, payload };
        if (tag === Msg.ERROR || tag === Msg.WARN) m.text = payload.toString();
        if ((tag === Msg.PID || tag === Msg.EXIT) && len === 8) m.value = payload.readBigUInt64LE(0);
        res.messages.push(m);
        opts.log?.(m);
        if (tag === Msg.PID) res.pid = Number(m.value);
        if (tag === Msg.EXIT) res.waitStatus = Number(m.value);
        if (tag === Msg.ERROR) res.error = m.text;
        if (tag === Msg.HOOKS) {
          const state = opts.state ?? JSON.stringify({ ociVersion: '1.2.0', id: 'drv', status: 'creating', pid: res.pid, bundle: '/' });
          sock.write(encodeMessage(Msg.HOOKS_DONE, state));
        }
        if (tag === Msg.READY && plan.fifoPath && opts.startFifo !== false) {
          releaseFifo(plan.fifoPath, deadline).catch((e) => {
            res.error = res.error ?? `driver: fifo: ${(e as Error).message}`;
          });
        }
      }
    });
    sock.write(encodePlanMessage(plan));
  });
}

/** WIFEXITED/WEXITSTATUS of a raw wait status, or 128+signal. */
export function exitCodeOf(status: number): number {
  return (status & 0x7f) === 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
}

/** A busybox rootfs: /bin/busybox, one symlink per applet, a few dirs, /etc/passwd. */
export function makeBusyboxRootfs(dir: string, busybox = '/bin/busybox'): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync(busybox, path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  const list = execFileSync(busybox, ['--list']).toString().split('\n');
  for (const a of list) {
    if (a && a !== 'busybox') fs.symlinkSync('busybox', path.join(bin, a));
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc', 'root']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nnobody:x:65534:\n');
  return dir;
}

/** runc's default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 * NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP */
export const DEFAULT_CAPS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31].reduce((m, b) => m | (1n << BigInt(b)), 0n);

/** runc's default container, as a plan: the namespaces, mounts, devices and paths of `runc spec`. */
export function defaultContainerPlan(rootfs: string, args: string[], extra: Partial<InitPlan> = {}): InitPlan {
  const plan = emptyPlan(1);
  const dev = (p: string, minor: number, major = 1) => ({ path: p, type: S_IFCHR, major, minor, mode: 0o666, uid: 0, gid: 0 });
  Object.assign(plan, {
    wait: true,
    cloneFlags: CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS | CLONE.NEWCGROUP,
    rootfs,
    mounts: [
      { source: 'proc', destination: '/proc', type: 'proc', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, propagation: [] },
      { source: 'tmpfs', destination: '/dev', type: 'tmpfs', flags: MS.NOSUID | MS.STRICTATIME, data: 'mode=755,size=65536k', propagation: [] },
      { source: 'devpts', destination: '/dev/pts', type: 'devpts', flags: MS.NOSUID | MS.NOEXEC, data: 'newinstance,ptmxmode=0666,mode=0620,gid=5', propagation: [] },
      { source: 'shm', destination: '/dev/shm', type: 'tmpfs', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, data: 'mode=1777,size=65536k', propagation: [] },
      { source: 'mqueue', destination: '/dev/mqueue', type: 'mqueue', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, propagation: [] },
      { source: 'sysfs', destination: '/sys', type: 'sysfs', flags: MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, propagation: [] },
    ],
    devices: [dev('/dev/null', 3), dev('/dev/zero', 5), dev('/dev/full', 7), dev('/dev/random', 8), dev('/dev/urandom', 9), dev('/dev/tty', 0, 5)],
    symlinks: [
      { target: '/proc/self/fd', path: '/dev/fd' },
      { target: '/proc/self/fd/0', path: '/dev/stdin' },
      { target: '/proc/self/fd/1', path: '/dev/stdout' },
      { target: '/proc/self/fd/2', path: '/dev/stderr' },
      { target: 'pts/ptmx', path: '/dev/ptmx' },
      { target: '/proc/kcore', path: '/dev/core' },
    ],
    maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
    readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    hostname: 'tsrun-test',
    rlimits: [{ type: 7, soft: 1024n, hard: 1024n }],
    newKeyring: 'tsrun-test',
    cwd: '/',
    args,
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
    caps: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS, inheritable: 0n, ambient: 0n },
    noNewPrivs: true,
  } satisfies Partial<InitPlan>);
  return Object.assign(plan, extra);
}

export { HookKind };

// ---- CLI ------------------------------------------------------------------

function reviveJson(_k: string, v: unknown): unknown {
  if (typeof v === 'string' && /^-?\d+n$/.test(v)) return BigInt(v.slice(0, -1));
  return v;
}

async function cli(argv: string[]): Promise<number> {
  let plan: InitPlan;
  if (argv[0] === '--demo') {
    const rootfs = path.resolve(argv[1] ?? '');
    const args = argv.length > 2 ? argv.slice(2) : ['sh', '-c', "hostname; grep -E 'Uid|Cap' /proc/self/status; ls -l /dev"];
    plan = defaultContainerPlan(rootfs, args);
  } else if (argv[0]) {
    plan = JSON.parse(fs.readFileSync(argv[0], 'utf8'), reviveJson) as InitPlan;
    if (typeof plan.seccompBpf === 'string') plan.seccompBpf = Buffer.from(plan.seccompBpf as unknown as string, 'hex');
  } else {
    process.stderr.write('usage: init-driver plan.json | --demo ROOTFS [cmd...]\n');
    return 2;
  }
  const res = await driveInit(plan, {
    output: 'inherit',
    stdin: 'inherit',
    log: (m) => {
      const v = m.text !== undefined ? JSON.stringify(m.text) : m.value !== undefined ? String(m.value) : '';
      process.stderr.write(`[driver] ${m.name} ${v}\n`);
    },
  });
  process.stderr.write(`[driver] stage 0 exit code ${res.initCode}${res.timedOut ? ' (timed out)' : ''}\n`);
  if (res.waitStatus !== undefined) return exitCodeOf(res.waitStatus);
  return res.error ? 1 : 0;
}

// Only as the entry point (a bundle of another script that imports this must not run it).
if (require.main === module && /init-driver(\.[cm]?[jt]s)?$/.test(process.argv[1] ?? '')) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
