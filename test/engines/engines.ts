// Helpers for the engine tests: a private containerd and a private podman
// configuration driving bin/tsrun through a recording wrapper, and a cleanup
// that leaves nothing of them on the host (daemons, shims, conmon, container
// processes, mounts, cgroups, tsrun state, /run/containerd).
//
// The wrapper (written into the test's temp dir, never shipped) runs the real
// bin/tsrun and appends one line per call: exit code, duration, the copy of
// the --log file when the call failed, and the argv. It is named `tsrun`, so
// podman matches it against runtime_supports_json = ["tsrun"].
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, TSRUN, leftovers } from '../helpers/harness';

export { REPO, TSRUN };

/** Root and the engine's binaries; under CI their absence is a failure, not a skip. */
export function engineAvailable(engine: string, binaries: string[]): boolean {
  const missing = binaries.filter((b) => !which(b));
  const root = process.getuid?.() === 0;
  if (process.env.CI && (!root || missing.length)) {
    throw new Error(`${engine} engine tests under CI need root and ${binaries.join(', ')} (missing: ${missing.join(', ') || 'root'}); make engines-deps installs them`);
  }
  if (!root) console.warn(`${engine} engine tests skipped: not root`);
  else if (missing.length) console.warn(`${engine} engine tests skipped: ${missing.join(', ')} not installed (make engines-deps)`);
  return root && !missing.length;
}

export function which(bin: string): string | undefined {
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(d, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

let counter = 0;

/**
 * Runs a command with its output in files: a detached container or daemon
 * may inherit the descriptors, and a pipe would then never close.
 */
export function runCmd(dir: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {}): Result {
  const n = ++counter;
  const outFile = path.join(dir, `.out-${n}`);
  const errFile = path.join(dir, `.err-${n}`);
  const inFile = path.join(dir, `.in-${n}`);
  fs.writeFileSync(inFile, opts.input ?? '');
  const fin = fs.openSync(inFile, 'r');
  const out = fs.openSync(outFile, 'w+');
  const err = fs.openSync(errFile, 'w+');
  const t0 = Date.now();
  try {
    const r = spawnSync(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeout ?? 30_000, killSignal: 'SIGKILL', stdio: [fin, out, err] });
    if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
    return {
      code: r.status ?? 128 + (r.signal ? os.constants.signals[r.signal] : 0),
      stdout: fs.readFileSync(outFile, 'utf8'),
      stderr: fs.readFileSync(errFile, 'utf8'),
      ms: Date.now() - t0,
    };
  } finally {
    for (const fd of [fin, out, err]) fs.closeSync(fd);
    for (const f of [inFile, outFile, errFile]) fs.rmSync(f, { force: true });
  }
}

/** A shell command line for `script -c`: each word single-quoted. */
export function shellJoin(argv: string[]): string {
  return argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

/**
 * Runs argv on a fresh pty (util-linux `script`), for the -t/-it paths that want a terminal. Under `ctr -t`,
 * once the input has ended, a NUL byte reaches the container's terminal (with runc as with tsrun): its echo
 * `^@` lands between two writes of the process, anywhere in the output. Match output through ptyText().
 */
export function onPty(dir: string, argv: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {}): Result {
  return runCmd(dir, 'script', ['-q', '-e', '-c', shellJoin(argv), '/dev/null'], opts);
}

/** Output read through a terminal: without carriage returns and the echo `^@` of a NUL input byte (onPty). */
export function ptyText(out: string): string {
  return out.replace(/\r/g, '').replace(/\^@/g, '');
}

/** One call tsrun received, as the wrapper recorded it. */
export interface Call {
  rc: number;
  ms: number;
  /** Copy of the --log file, taken when the call failed. */
  logCopy?: string;
  argv: string[];
}

/** Writes the recording wrapper as DIR/bin/tsrun; returns its path. */
export function writeWrapper(dir: string): { wrapper: string; callsFile: string } {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const wrapper = path.join(bin, 'tsrun');
  const callsFile = path.join(dir, 'calls.log');
  const logsDir = path.join(dir, 'failed-logs');
  fs.mkdirSync(logsDir, { recursive: true });
  fs.writeFileSync(
    wrapper,
    `#!/bin/bash
# test only: records the call, then runs the real tsrun
t0=\${EPOCHREALTIME/./}
${shellJoin([TSRUN])} "$@"
rc=$?
ms=$(( (\${EPOCHREALTIME/./} - t0) / 1000 ))
log= prev= copy=
for a in "$@"; do
  case "$a" in --log=*) log=\${a#--log=} ;; esac
  [ "$prev" = --log ] && log=$a
  prev=$a
done
if [ "$rc" != 0 ] && [ -n "$log" ] && [ -f "$log" ]; then
  copy=${shellJoin([logsDir])}/log-$t0-$$.json
  cp "$log" "$copy"
fi
line="$rc"$'\\t'"$ms"$'\\t'"$copy"$'\\t'"$(IFS=$'\\x1f'; echo "$*")"
printf '%s\\n' "$line" >> ${shellJoin([callsFile])}
exit $rc
`,
    { mode: 0o755 },
  );
  return { wrapper, callsFile };
}

export function readCalls(callsFile: string): Call[] {
  if (!fs.existsSync(callsFile)) return [];
  return fs
    .readFileSync(callsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [rc, ms, copy, args] = l.split('\t');
      return { rc: Number(rc), ms: Number(ms), logCopy: copy || undefined, argv: args === '' ? [] : args.split('\x1f') };
    });
}

/** A call's command: the first word after the global flags. */
export function commandOf(argv: string[]): { globals: string[]; command: string; args: string[] } {
  const withValue = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) i += withValue.has(argv[i]) ? 2 : 1;
  return { globals: argv.slice(0, i), command: argv[i], args: argv.slice(i + 1) };
}

/** The command's flags and values, with its positional arguments. */
export function flagsOf(args: string[], withValue: string[]): { flags: Record<string, string | true>; positionals: string[] } {
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^(--?[\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      positionals.push(a);
      continue;
    }
    if (m[2] !== undefined) flags[m[1]] = m[2];
    else if (withValue.includes(m[1])) flags[m[1]] = args[++i];
    else flags[m[1]] = true;
  }
  return { flags, positionals };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Checks a --log-format json file as both engines read it: every line a JSON
 * object with level, msg and an RFC 3339 time; returns the last error message.
 */
export function lastJsonError(file: string): string | undefined {
  let last: string | undefined;
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { level?: string; msg?: string; time?: string };
    if (typeof o.level !== 'string' || typeof o.msg !== 'string' || !RFC3339.test(o.time ?? '')) {
      throw new Error(`${file}: not a {level,msg,time(RFC 3339)} line: ${line}`);
    }
    if (o.level === 'error') last = o.msg;
  }
  return last;
}

// ---------------------------------------------------------------- host state

/** Pids of live (not zombie) processes whose /proc/PID/FILE matches. */
export function pidsWhere(file: 'cmdline' | 'cgroup', test: (content: string) => boolean): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (/\) Z /.test(fs.readFileSync(`/proc/${name}/stat`, 'utf8'))) continue;
      const raw = fs.readFileSync(`/proc/${name}/${file}`, 'utf8');
      if (test(file === 'cmdline' ? raw.split('\0').join(' ') : raw)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Sends sig to each pid (ours: started by this test, directly or through an engine). */
export function killPids(pids: number[], sig: NodeJS.Signals = 'SIGKILL'): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // gone
    }
  }
}

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Polls cond every 50 ms until it holds or ms pass; returns its last value. */
export function waitFor(cond: () => boolean, ms = 5000): boolean {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    sleepMs(50);
  }
  return true;
}

/** Waits until none of pids is alive (or a zombie); true when they are all gone. */
export function waitGone(pids: number[], ms = 5000): boolean {
  const end = Date.now() + ms;
  for (;;) {
    const alive = pids.filter((p) => {
      try {
        return !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
      } catch {
        return false;
      }
    });
    if (!alive.length) return true;
    if (Date.now() > end) return false;
    sleepMs(50);
  }
}

/** Cgroup directories of `rel` (e.g. /tsrun-e2e-123) in every mounted hierarchy. */
export function cgroupDirs(rel: string): string[] {
  const dirs = new Set<string>();
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0 || !['cgroup', 'cgroup2'].includes(parts[sep + 1])) continue;
    const d = path.join(parts[4], rel);
    if (fs.existsSync(d)) dirs.add(d);
  }
  return [...dirs];
}

/** Thaws every frozen cgroup of the tree `rel`: a frozen process ignores SIGKILL until then. */
export function thawTree(rel: string): void {
  const walk = (d: string) => {
    for (const [f, v] of [['freezer.state', 'THAWED'], ['cgroup.freeze', '0']]) {
      try {
        fs.writeFileSync(path.join(d, f), v);
      } catch {
        // not this hierarchy
      }
    }
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  for (const d of cgroupDirs(rel)) walk(d);
}

/** Removes the cgroup tree `rel` in every hierarchy (deepest first); returns what is left. */
export function removeCgroupTree(rel: string): string[] {
  const left: string[] = [];
  const rm = (d: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rm(path.join(d, e.name));
    for (let i = 0; ; i++) {
      try {
        fs.rmdirSync(d);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (i >= 40) {
          left.push(`${d} (${code})`);
          return;
        }
        sleepMs(50); // EBUSY while the last task leaves
      }
    }
  };
  for (const d of cgroupDirs(rel)) rm(d);
  return left;
}

/** Unmounts everything mounted under dir, deepest first; returns what is left. */
export function unmountUnder(dir: string): string[] {
  const under = () =>
    fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((mp) => mp && (mp === dir || mp.startsWith(dir + '/')))
      .sort((a, b) => b.length - a.length);
  for (const mp of under()) spawnSync('umount', ['-l', mp]);
  return under();
}

/**
 * The end of every engine's cleanup: the daemon stopped by its pid (SIGTERM, then SIGKILL), whatever else is ours
 * killed, tsrun's state deleted with --force, mounts under dir and the cgroup tree removed. Returns the problems.
 */
export function stopAndSweep(o: {
  daemonPid: number;
  daemonGraceMs: number;
  processes: () => number[];
  cgroupParent: string;
  tsrunRoot: string;
  dir: string;
}): string[] {
  const problems: string[] = [];
  if (o.daemonPid) {
    killPids([o.daemonPid], 'SIGTERM');
    if (!waitGone([o.daemonPid], o.daemonGraceMs)) {
      killPids([o.daemonPid]);
      waitGone([o.daemonPid], 2000);
    }
  }
  const rest = o.processes();
  if (rest.length) {
    thawTree(o.cgroupParent);
    killPids(rest);
    if (!waitGone(rest, 5000)) problems.push(`processes still alive: ${rest.join(' ')}`);
  }
  if (fs.existsSync(o.tsrunRoot)) {
    for (const id of fs.readdirSync(o.tsrunRoot)) {
      runCmd(o.dir, TSRUN, ['--root', o.tsrunRoot, 'delete', '--force', id], { timeout: 20_000 });
    }
  }
  problems.push(...unmountUnder(o.dir).map((m) => `mount ${m}`));
  problems.push(...removeCgroupTree(o.cgroupParent).map((c) => `cgroup ${c}`));
  return problems;
}

/** Everything `leftovers` finds for each id, plus mounts under dir. */
export function leftoversOf(root: string, ids: string[], dir: string): string[] {
  const found = new Set<string>();
  for (const id of ids) for (const l of leftovers(root, id, [dir])) found.add(l);
  if (!ids.length) for (const l of leftovers(root, '\0never', [dir])) found.add(l);
  return [...found];
}

// ---------------------------------------------------------------- containerd

let seq = 0;

/** A private containerd: config version 2, every path under a temp dir, no CRI and no opt plugin. */
export class Containerd {
  readonly dir: string;
  readonly sock: string;
  readonly rootfs: string;
  /** --runc-root; the shim adds the namespace, so tsrun's --root is RUNC_ROOT/default. */
  readonly runcRoot: string;
  readonly tsrunRoot: string;
  readonly cgroupParent: string;
  readonly fifoDir: string;
  readonly wrapper: string;
  readonly callsFile: string;
  readonly env: NodeJS.ProcessEnv;
  readonly ids: string[] = [];
  private pid = 0;
  private readonly runContainerdExisted = fs.existsSync('/run/containerd');
  private readonly runContainerdEntries = new Set(['s', 'fifo'].filter((e) => fs.existsSync(`/run/containerd/${e}`)));

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-e2e-ctr-'));
    fs.chmodSync(this.dir, 0o755);
    this.sock = path.join(this.dir, 'containerd.sock');
    this.rootfs = path.join(this.dir, 'rootfs');
    this.runcRoot = path.join(this.dir, 'runc-root');
    this.tsrunRoot = path.join(this.runcRoot, 'default');
    this.cgroupParent = `/tsrun-e2e-ctr-${process.pid}`;
    this.fifoDir = path.join(this.dir, 'fifo');
    const tmp = path.join(this.dir, 'tmp');
    fs.mkdirSync(tmp);
    fs.mkdirSync(this.fifoDir);
    ({ wrapper: this.wrapper, callsFile: this.callsFile } = writeWrapper(this.dir));
    // the shim writes exec process files and terminal sockets under TMPDIR
    this.env = { ...process.env, TMPDIR: tmp };
    const r = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), this.rootfs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`busybox rootfs: ${r.stderr}`);
  }

  get config(): string {
    const d = this.dir;
    return `version = 2
root = "${d}/root"
state = "${d}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "${this.sock}"

[ttrpc]
  address = "${this.sock}.ttrpc"

[debug]
  address = "${d}/debug.sock"

[metrics]
  address = ""
`;
  }

  start(): void {
    const cfg = path.join(this.dir, 'config.toml');
    fs.writeFileSync(cfg, this.config);
    const log = fs.openSync(path.join(this.dir, 'containerd.log'), 'w');
    const child = spawn('containerd', ['--config', cfg], { env: this.env, stdio: ['ignore', log, log], detached: true });
    child.unref();
    fs.closeSync(log);
    this.pid = child.pid ?? 0;
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      if (fs.existsSync(this.sock) && this.ctr(['version']).code === 0) return;
      sleepMs(50);
    }
    throw new Error(`containerd did not start:\n${fs.readFileSync(path.join(this.dir, 'containerd.log'), 'utf8').slice(-3000)}`);
  }

  id(label: string): string {
    const id = `tsrun-e2e-${label}-${process.pid}-${++seq}`;
    this.ids.push(id);
    return id;
  }

  ctr(args: string[], opts: { input?: string; timeout?: number } = {}): Result {
    return runCmd(this.dir, 'ctr', ['--address', this.sock, ...args], { env: this.env, ...opts });
  }

  /** `ctr run` argv (without `ctr --address`): the rootfs directory, tsrun as the runc binary, our cgroup. */
  runArgs(id: string, opts: string[], cmd: string[]): string[] {
    return ['run', '--rootfs', '--runc-binary', this.wrapper, '--runc-root', this.runcRoot, '--fifo-dir', this.fifoDir, '--cgroup', `${this.cgroupParent}/${id}`, ...opts, this.rootfs, id, ...cmd];
  }

  run(id: string, opts: string[], cmd: string[]): Result {
    return this.ctr(this.runArgs(id, opts, cmd));
  }

  /** As the ctr user would: `ctr --address SOCK ARGS` on a pty. */
  ctrOnPty(args: string[], opts: { input?: string; timeout?: number } = {}): Result {
    return onPty(this.dir, ['ctr', '--address', this.sock, ...args], { env: this.env, ...opts });
  }

  calls(): Call[] {
    return readCalls(this.callsFile);
  }

  /** The shim's socket for a container, as containerd 1.6 names it (/run/containerd/s/HASH). */
  shimSocket(id: string, ns = 'default'): string {
    return `/run/containerd/s/${crypto.createHash('sha256').update(path.join(this.sock, ns, id)).digest('hex')}`;
  }

  private ourProcesses(): number[] {
    return [
      ...pidsWhere('cmdline', (c) => c.includes(this.sock)), // shims (-address SOCK)
      ...pidsWhere('cgroup', (c) => c.includes(this.cgroupParent + '/')), // container processes
    ];
  }

  /** Kills and removes everything; returns what could not be cleaned (empty when all is well). */
  cleanup(): string[] {
    const problems: string[] = [];
    thawTree(this.cgroupParent);
    if (this.pid && fs.existsSync(this.sock)) {
      const ls = this.ctr(['containers', 'list', '-q'], { timeout: 10_000 });
      for (const id of ls.stdout.split('\n').filter(Boolean)) {
        this.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id], { timeout: 10_000 });
        this.ctr(['task', 'delete', '--force', id], { timeout: 10_000 });
        this.ctr(['containers', 'delete', id], { timeout: 10_000 });
      }
    }
    const { pid: daemonPid, cgroupParent, tsrunRoot, dir } = this;
    problems.push(...stopAndSweep({ daemonPid, daemonGraceMs: 5000, processes: () => this.ourProcesses(), cgroupParent, tsrunRoot, dir }));
    for (const id of this.ids) fs.rmSync(this.shimSocket(id), { force: true });
    // the shim makes /run/containerd/s whatever the config says; remove what we made
    for (const e of ['s', 'fifo']) {
      if (!this.runContainerdEntries.has(e)) {
        try {
          fs.rmdirSync(`/run/containerd/${e}`);
        } catch {
          // absent, or another user's sockets are there
        }
      }
    }
    if (!this.runContainerdExisted) {
      try {
        fs.rmdirSync('/run/containerd');
      } catch {
        // absent or in use
      }
    }
    return problems;
  }

  /** What is left on the host after cleanup (daemon, shims, processes, state, mounts, cgroups, /run/containerd). */
  leftovers(): string[] {
    const found = leftoversOf(this.tsrunRoot, this.ids, this.dir);
    if (this.pid && waitGone([this.pid], 0) === false) found.push(`containerd ${this.pid}`);
    for (const p of this.ourProcesses()) found.push(`process ${p}`);
    for (const d of cgroupDirs(this.cgroupParent)) found.push(`cgroup ${d}`);
    for (const id of this.ids) if (fs.existsSync(this.shimSocket(id))) found.push(`shim socket ${this.shimSocket(id)}`);
    if (!this.runContainerdExisted && fs.existsSync('/run/containerd')) found.push('/run/containerd');
    return found;
  }

  removeDir(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- podman

/** A private podman configuration: its own containers.conf, storage, tmpdir, cgroup parent and events file. */
export class Podman {
  readonly dir: string;
  readonly rootfs: string;
  readonly cgroupParent: string;
  readonly wrapper: string;
  readonly callsFile: string;
  readonly env: NodeJS.ProcessEnv;
  /** podman never passes --root: tsrun keeps its state in the default root. */
  readonly tsrunRoot = '/run/tsrun';
  private readonly runContainersExisted = fs.existsSync('/run/containers');
  private readonly runLibpodExisted = fs.existsSync('/run/libpod');
  readonly hardNofile: number;
  /** The storage driver: vfs (copies, no mounts) unless a test needs image layers on overlay. */
  readonly driver: 'vfs' | 'overlay';

  constructor(opts: { driver?: 'vfs' | 'overlay' } = {}) {
    this.driver = opts.driver ?? 'vfs';
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-e2e-pm-'));
    fs.chmodSync(this.dir, 0o755);
    this.rootfs = path.join(this.dir, 'rootfs');
    this.cgroupParent = `/tsrun-e2e-pm-${process.pid}`;
    ({ wrapper: this.wrapper, callsFile: this.callsFile } = writeWrapper(this.dir));
    for (const d of ['tmp', 'libpod-tmp', 'networks']) fs.mkdirSync(path.join(this.dir, d));
    this.hardNofile = hardNofile();
    fs.writeFileSync(path.join(this.dir, 'containers.conf'), this.containersConf(this.wrapper));
    fs.writeFileSync(
      path.join(this.dir, 'storage.conf'),
      `[storage]\ndriver = "${this.driver}"\nrunroot = "${this.dir}/runroot"\ngraphroot = "${this.dir}/graph"\n`,
    );
    this.env = {
      ...process.env,
      CONTAINERS_CONF: path.join(this.dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: path.join(this.dir, 'storage.conf'),
      TMPDIR: path.join(this.dir, 'tmp'),
    };
    const r = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), this.rootfs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`busybox rootfs: ${r.stderr}`);
  }

  /** The containers.conf the README documents, with private paths. */
  containersConf(runtimePath: string): string {
    const n = Math.min(this.hardNofile, 1048576);
    return `[containers]
# podman asks for 1048576 by default; raising past the hard limit needs CAP_SYS_RESOURCE
default_ulimits = ["nofile=${n}:${n}", "nproc=32768:32768"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${this.dir}/events.log"
lock_type = "file"
runtime = "tsrun"
runtime_supports_json = ["tsrun"]
tmp_dir = "${this.dir}/libpod-tmp"

[engine.runtimes]
tsrun = ["${runtimePath}"]

[network]
network_config_dir = "${this.dir}/networks"
`;
  }

  /**
   * Runs podman with the private paths and, unless runtime is null, `--runtime`
   * (the wrapper by default). conf replaces containers.conf for this call.
   */
  podman(args: string[], opts: { input?: string; timeout?: number; runtime?: string | null; conf?: string } = {}): Result {
    const { conf, runtime, ...rest } = opts;
    const env = conf ? { ...this.env, CONTAINERS_CONF: conf } : this.env;
    return runCmd(this.dir, 'podman', [...this.globalArgs(runtime), ...args], { env, ...rest });
  }

  globalArgs(runtime: string | null = this.wrapper): string[] {
    const d = this.dir;
    const rt = runtime === null ? [] : ['--runtime', runtime];
    return ['--root', `${d}/graph`, '--runroot', `${d}/runroot`, '--tmpdir', `${d}/libpod-tmp`, '--storage-driver', this.driver, ...rt];
  }

  /** `podman run` argv after the global flags: no network, our cgroup parent, the rootfs directory. */
  runArgs(opts: string[], cmd: string[]): string[] {
    return ['run', '--network', 'none', '--cgroup-parent', this.cgroupParent, ...opts, '--rootfs', this.rootfs, ...cmd];
  }

  run(opts: string[], cmd: string[], o: { input?: string; timeout?: number; runtime?: string | null; conf?: string } = {}): Result {
    return this.podman(this.runArgs(opts, cmd), o);
  }

  podmanOnPty(args: string[], opts: { input?: string; timeout?: number } = {}): Result {
    return onPty(this.dir, ['podman', ...this.globalArgs(), ...args], { env: this.env, ...opts });
  }

  inspect(name: string, format: string): string {
    const r = this.podman(['inspect', '--format', format, name]);
    if (r.code !== 0) throw new Error(`podman inspect ${name}: ${r.stderr}`);
    return r.stdout.trim();
  }

  calls(): Call[] {
    return readCalls(this.callsFile);
  }

  /** Container ids tsrun was asked about (podman's 64-hex ids). */
  ids(): string[] {
    const ids = new Set<string>();
    for (const c of this.calls()) {
      const last = c.argv.at(-1) ?? '';
      const { command, args } = commandOf(c.argv);
      if (/^[0-9a-f]{64}$/.test(last)) ids.add(last);
      else if (command === 'kill') ids.add(args.filter((a) => !a.startsWith('-'))[0]);
    }
    return [...ids].filter((i) => /^[0-9a-f]{64}$/.test(i));
  }

  private ourProcesses(): number[] {
    return [
      ...pidsWhere('cmdline', (c) => c.includes(this.dir + '/') && !c.startsWith('script ')), // conmon, podman
      ...pidsWhere('cgroup', (c) => c.includes(this.cgroupParent + '/')), // container processes
    ];
  }

  cleanup(): string[] {
    const problems: string[] = [];
    thawTree(this.cgroupParent);
    this.podman(['rm', '--all', '--force', '--time', '0'], { timeout: 30_000 });
    const rest = this.ourProcesses();
    if (rest.length) {
      thawTree(this.cgroupParent);
      killPids(rest);
      if (!waitGone(rest, 5000)) problems.push(`processes still alive: ${rest.join(' ')}`);
    }
    for (const id of this.ids()) {
      if (fs.existsSync(path.join(this.tsrunRoot, id))) runCmd(this.dir, TSRUN, ['delete', '--force', id], { timeout: 20_000 });
    }
    problems.push(...unmountUnder(this.dir).map((m) => `mount ${m}`));
    problems.push(...removeCgroupTree(this.cgroupParent).map((c) => `cgroup ${c}`));
    // rootful podman makes these whatever the config says; remove them when empty and ours
    if (!this.runContainersExisted) {
      for (const d of ['/run/containers/networks', '/run/containers']) {
        try {
          fs.rmdirSync(d);
        } catch {
          // absent or not empty
        }
      }
    }
    if (!this.runLibpodExisted) fs.rmSync('/run/libpod', { recursive: true, force: true });
    return problems;
  }

  leftovers(): string[] {
    const found = leftoversOf(this.tsrunRoot, this.ids(), this.dir);
    for (const p of this.ourProcesses()) found.push(`process ${p}`);
    for (const d of cgroupDirs(this.cgroupParent)) found.push(`cgroup ${d}`);
    if (!this.runContainersExisted && fs.existsSync('/run/containers')) found.push('/run/containers');
    if (!this.runLibpodExisted && fs.existsSync('/run/libpod')) found.push('/run/libpod');
    return found;
  }

  removeDir(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function hardNofile(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 1024;
}

/** Reads a cgroup value inside a container, v1 or v2 (the container sees its own cgroup as the root). */
export const insideCgroup = {
  memoryLimit: 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
  cpuQuota:
    'if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; else cat /sys/fs/cgroup/cpu.max; fi',
};

/** The freezer state of a container's cgroup on the host: FROZEN/THAWED (v1) or 1/0 (v2). */
export function freezerState(cgroupRel: string): string | undefined {
  for (const f of [`/sys/fs/cgroup/freezer${cgroupRel}/freezer.state`, `/sys/fs/cgroup${cgroupRel}/cgroup.freeze`, `/sys/fs/cgroup/unified${cgroupRel}/cgroup.freeze`]) {
    try {
      const v = fs.readFileSync(f, 'utf8').trim();
      return v === '1' ? 'FROZEN' : v === '0' ? 'THAWED' : v;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Waits until pid is a zombie (dead, not reaped). */
export function waitZombie(pid: number, ms = 5000): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return false;
    }
    sleepMs(20);
  }
  return false;
}

/** Count, median and max duration of the calls, by command: for the report. */
export function timings(calls: Call[]): string {
  const by = new Map<string, number[]>();
  for (const c of calls) {
    const k = commandOf(c.argv).command;
    by.set(k, [...(by.get(k) ?? []), c.ms]);
  }
  return [...by]
    .map(([k, ms]) => {
      const s = [...ms].sort((a, b) => a - b);
      return `  ${k.padEnd(8)} n=${String(s.length).padStart(3)}  median ${String(s[Math.floor(s.length / 2)]).padStart(5)} ms  max ${String(s.at(-1)).padStart(5)} ms`;
    })
    .join('\n');
}
