// Harness of the conformance suite. It knows nothing of tsrun: it drives any
// runc-compatible runtime through its command line (create, start, state, kill,
// delete, with a private --root) and inspects what containers print.
import { spawnSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const CHECKS = [];

/**
 * Registers a check. `section` is the spec file and anchor it tests
 * (e.g. 'runtime.md#state'), `title` what it checks, `level` MUST or SHOULD.
 */
export function check(section, title, fn, { level = 'MUST' } = {}) {
  CHECKS.push({ section, title, name: `${section}: ${title}`, fn, level });
}

export class Failure extends Error {
  constructor(message, details = {}) {
    super(message);
    this.details = details;
  }
}

export class Skip extends Error {}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// the capabilities a docker-like default gives the container process
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** The base config of every check: a busybox rootfs, the usual mounts and namespaces. */
export function baseConfig() {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/true'],
      env: [DEFAULT_PATH, 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
      },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'conformance',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
    },
  };
}

/** Global state of one run: the runtime, its private --root, the base rootfs. */
export class Env {
  /** Without rootfsScript (a worker), the work directory and its rootfs exist already. */
  constructor({ runtime, workdir, rootfsScript, verbose }) {
    this.runtime = runtime;
    this.workdir = workdir;
    this.root = path.join(workdir, 'state');
    this.baseRootfs = path.join(workdir, 'rootfs');
    this.verbose = verbose;
    this.counter = 0;
    if (!rootfsScript) return;
    fs.mkdirSync(this.root, { recursive: true });
    const r = spawnSync('bash', [rootfsScript, this.baseRootfs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot build the busybox rootfs: ${r.stderr}`);
  }
}

function truncate(s, n = 600) {
  s = String(s ?? '');
  return s.length > n ? `${s.slice(0, n)}…(${s.length - n} more)` : s;
}

/** Everything one check uses; `cleanup()` removes all of it whatever happened. */
export class Ctx {
  constructor(env, index) {
    this.env = env;
    this.dir = path.join(env.workdir, `c${index}`);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    fs.chmodSync(this.dir, 0o755); // a user-namespaced root must reach the rootfs
    this.ids = [];
    this.deleted = new Set(); // ids deleted by the check itself: nothing to clean
    this.pids = new Map(); // id -> the last pid its state showed
    this.deferred = [];
    this.index = index;
    this.n = 0;
  }

  // ---- assertions
  fail(message, details) { throw new Failure(message, details); }
  ok(cond, message, details) { if (!cond) throw new Failure(message, details); }
  eq(actual, expected, message = 'unexpected value', details = {}) {
    const a = typeof actual === 'string' ? actual : JSON.stringify(actual);
    const e = typeof expected === 'string' ? expected : JSON.stringify(expected);
    if (a !== e) throw new Failure(message, { expected, actual, ...details });
  }
  skip(reason) { throw new Skip(reason); }

  /** A path in this check's private directory. */
  tmp(name) { return path.join(this.dir, name); }

  /** Registers an undo step, run at cleanup in reverse order. */
  defer(fn) { this.deferred.push(fn); }

  /** A fresh container id, deleted (--force) at cleanup. */
  id(label = 'c') {
    const id = `conf-${process.pid}-${this.index}-${label}-${++this.env.counter}`;
    this.ids.push(id);
    return id;
  }

  /**
   * A bundle: a copy of the busybox rootfs and a config.json made of the base
   * config changed by `edit(config, bundle)`.
   */
  bundle(edit = () => undefined, label = 'bundle', { parent } = {}) {
    let dir;
    if (parent) {
      dir = path.join(parent, `conformance-${process.pid}-${this.index}-${label}${++this.n}`);
      this.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    } else {
      dir = this.tmp(`${label}${++this.n}`);
    }
    fs.mkdirSync(dir, { mode: 0o755 });
    const rootfs = path.join(dir, 'rootfs');
    const r = spawnSync('cp', ['-a', this.env.baseRootfs, rootfs]);
    if (r.status !== 0) throw new Error(`cp rootfs: ${r.stderr}`);
    const config = baseConfig();
    const b = {
      dir,
      rootfs,
      config,
      write: () => fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(b.config, null, 2)),
    };
    edit(config, b);
    b.write();
    return b;
  }

  /** A bundle whose process runs `script` with /bin/sh. */
  shBundle(script, edit = () => undefined) {
    return this.bundle((c, b) => {
      c.process.args = ['/bin/sh', '-c', script];
      edit(c, b);
    });
  }

  /**
   * Runs the runtime: `--root R args…`. Output goes to files, never pipes: a
   * container created here inherits the runtime's stdio and would hold a pipe open.
   * `wrap` runs it under `sh -c 'wrap; exec "$@"'` (to set what it inherits).
   */
  rt(args, { timeout = 30_000, wrap, stdout, stderr } = {}) {
    const n = ++this.n;
    const outFile = stdout ?? this.tmp(`rt-${n}.out`);
    const errFile = stderr ?? this.tmp(`rt-${n}.err`);
    const out = fs.openSync(outFile, 'a');
    const err = fs.openSync(errFile, 'a');
    const start = Date.now();
    try {
      let cmd = this.env.runtime;
      let argv = ['--root', this.env.root, ...args];
      if (wrap) {
        argv = ['-c', `${wrap}; exec "$@"`, 'sh', cmd, ...argv];
        cmd = '/bin/sh';
      }
      const r = spawnSync(cmd, argv, { stdio: ['ignore', out, err], timeout, killSignal: 'SIGKILL' });
      const res = {
        args,
        code: r.error ? -1 : (r.status ?? 128 + 9),
        timedOut: !!(r.error && r.error.code === 'ETIMEDOUT') || (r.signal === 'SIGKILL' && Date.now() - start >= timeout),
        stdout: stdout ? '' : fs.readFileSync(outFile, 'utf8'),
        stderr: stderr ? '' : fs.readFileSync(errFile, 'utf8'),
        ms: Date.now() - start,
      };
      if (this.env.verbose) process.stderr.write(`# rt ${args.join(' ')} -> ${res.code} (${res.ms} ms) ${truncate(res.stderr, 200)}\n`);
      return res;
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
  }

  /** Details of a runtime call, for a diagnostic. */
  res(r) {
    return { command: r.args.join(' '), exit: r.code, stderr: truncate(r.stderr.trim(), 400), stdout: truncate(r.stdout.trim(), 200) };
  }

  /**
   * `create --bundle DIR ID`. The container's stdout and stderr are files of this
   * check (returned as outFile and errFile).
   */
  create(b, id = this.id(), opts = {}) {
    this.deleted.delete(id);
    if (!this.ids.includes(id)) this.ids.push(id);
    const outFile = this.tmp(`${id}.stdout`);
    const errFile = this.tmp(`${id}.stderr`);
    const r = this.rt(['create', '--bundle', b.dir, id], { ...opts, stdout: outFile, stderr: errFile });
    r.stdout = fs.readFileSync(outFile, 'utf8');
    r.stderr = fs.readFileSync(errFile, 'utf8');
    r.id = id;
    r.outFile = outFile;
    r.errFile = errFile;
    return r;
  }

  /** create, and fail the check if it fails. */
  mustCreate(b, id = this.id(), opts = {}) {
    const r = this.create(b, id, opts);
    if (r.code !== 0) this.fail('create failed', this.res(r));
    return r;
  }

  start(id) { return this.rt(['start', id]); }
  kill(id, sig = 'KILL') { return this.rt(['kill', id, sig]); }
  delete(id, force = false) {
    const r = this.rt(force ? ['delete', '--force', id] : ['delete', id]);
    if (r.code === 0) this.deleted.add(id);
    return r;
  }

  /** `state ID`, parsed; `null` state when the call fails or prints no JSON. */
  state(id) {
    const r = this.rt(['state', id]);
    let state = null;
    if (r.code === 0) {
      try { state = JSON.parse(r.stdout); } catch { state = null; }
    }
    if (state && state.pid > 0) this.pids.set(id, state.pid);
    return { r, state };
  }

  /** Polls `state` until the status is `status`; returns the last state. */
  waitStatus(id, status, timeoutMs = 10_000) {
    const until = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = this.state(id);
      if (last.state && last.state.status === status) return last.state;
      if (status === 'stopped' && last.state && last.state.pid > 0) {
        // cheaper than calling the runtime again and again: wait for the pid to end
        while (Date.now() < until && processAlive(last.state.pid)) sleepMs(20);
        last = this.state(id);
        if (last.state && last.state.status === status) return last.state;
      }
      if (Date.now() > until) {
        this.fail(`container did not reach status ${status}`, { last: last.state ?? this.res(last.r) });
      }
      // a pid that is gone means the status is about to say stopped: poll faster
      sleepMs(40);
    }
  }

  /**
   * The whole lifecycle: create, start, wait until stopped, delete. Returns the
   * container's stdout and stderr. Fails the check on any runtime error.
   */
  run(b, { timeoutMs = 10_000, keep = false } = {}) {
    const c = this.mustCreate(b);
    const s = this.start(c.id);
    if (s.code !== 0) this.fail('start failed', { ...this.res(s), containerStderr: truncate(fs.readFileSync(c.errFile, 'utf8')) });
    this.waitStatus(c.id, 'stopped', timeoutMs);
    const out = fs.readFileSync(c.outFile, 'utf8');
    const err = fs.readFileSync(c.errFile, 'utf8');
    if (!keep) {
      const d = this.delete(c.id);
      if (d.code !== 0) this.fail('delete of a stopped container failed', this.res(d));
    }
    return { id: c.id, out, err, stdout: out, stderr: err };
  }

  /** Runs a shell script in a container; returns its stdout (trimmed lines). */
  sh(script, edit, opts) {
    const r = this.run(this.shBundle(script, edit), opts);
    return { ...r, lines: r.out.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '') };
  }

  /** A long-lived helper process on the host (namespace holders and the like). */
  spawnHelper(cmd, args) {
    const p = spawn(cmd, args, { stdio: 'ignore', detached: true });
    this.defer(() => { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } });
    p.unref();
    return p;
  }

  /** Runs a host command; fails the check if it fails. */
  host(cmd, args) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** A tmpfs mounted on the host, unmounted at cleanup. */
  hostTmpfs(dir) {
    fs.mkdirSync(dir, { recursive: true });
    this.host('mount', ['-t', 'tmpfs', 'conformance', dir]);
    this.defer(() => spawnSync('umount', ['-l', dir]));
  }

  /** The host mount of a cgroup controller ({ version, dir }); skips the check when absent. */
  cgroupMount(controller) {
    const m = host.cgroupMount(controller);
    if (!m) this.skip(`no ${controller} cgroup controller on this host`);
    return m;
  }

  /** Makes this check's directory a mount of the host (bind onto itself) with that propagation, undone at cleanup. */
  hostDirPropagation(prop = 'shared') {
    this.host('mount', ['--bind', this.dir, this.dir]);
    this.defer(() => spawnSync('umount', ['-l', this.dir]));
    this.host('mount', [`--make-${prop}`, this.dir]);
  }

  cleanup() {
    const ourPidNs = fs.readlinkSync('/proc/self/ns/pid');
    for (const id of this.ids.reverse()) {
      if (this.deleted.has(id)) continue;
      this.rt(['delete', '--force', id], { timeout: 15_000 });
      const pid = this.pids.get(id);
      let ns = null;
      try { ns = fs.readlinkSync(`/proc/${pid}/ns/pid`); } catch { /* gone */ }
      if (pid && processAlive(pid) && ns && ns !== ourPidNs) {
        // the runtime failed to remove it: leave no container process behind
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    for (const fn of this.deferred.reverse()) {
      try { fn(); } catch { /* best effort */ }
    }
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** True while PID exists and is not a zombie. */
export function processAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Parses /proc/PID/mountinfo text into objects. */
export function parseMountinfo(text) {
  return text.split('\n').filter(Boolean).map((line) => {
    const [pre, post] = line.split(' - ');
    const f = pre.split(' ');
    const g = (post ?? '').split(' ');
    return {
      id: f[0], parent: f[1], dev: f[2], root: f[3], mountPoint: f[4], options: f[5].split(','),
      optional: f.slice(6), fstype: g[0], source: g[1], superOptions: (g[2] ?? '').split(','),
    };
  });
}

/** Capability numbers (capabilities(7)). */
export const CAP_NUMBERS = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5,
  CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
};

export function capMask(names) {
  let m = 0n;
  for (const n of names) m |= 1n << BigInt(CAP_NUMBERS[n]);
  return m;
}

/** The `Key:\tvalue` lines of /proc/PID/status as an object. */
export function parseStatus(text) {
  const o = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return o;
}

/** Host facts some checks depend on. */
export const host = {
  kernel: os.release(),
  capBnd() {
    const s = parseStatus(fs.readFileSync('/proc/self/status', 'utf8'));
    return BigInt(`0x${s.CapBnd}`);
  },
  /** Where a v1 controller, or the v2 hierarchy, is mounted: { version, dir }. */
  cgroupMount(controller) {
    const mounts = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
    if (v1) return { version: 1, dir: v1.mountPoint };
    const v2 = mounts.find((m) => m.fstype === 'cgroup2');
    if (v2) {
      const ctrl = fs.readFileSync(path.join(v2.mountPoint, 'cgroup.controllers'), 'utf8').split(/\s+/);
      if (ctrl.includes(controller)) return { version: 2, dir: v2.mountPoint };
    }
    return null;
  },
};
