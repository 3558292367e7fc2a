// A private containerd for the engine tests (config version 2, every path under a temp dir, no CRI and no opt
// plugin), driving bin/tsrun through the recording wrapper of engines.ts, and its cleanup.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Call, REPO, type Result, cgroupDirs, leftoversOf, onPty, pidsWhere, readCalls, runCmd, sleepMs, stopAndSweep, thawTree, waitGone, writeWrapper } from './engines';

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
