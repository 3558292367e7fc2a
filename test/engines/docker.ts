// A private dockerd (Debian's docker.io 20.10) for the engine tests: its own
// data root, exec root, pid file, socket, config file, containerd namespaces
// and cgroup parent, with the recording wrapper registered as the runtime
// "tsrun"; and a cleanup that leaves nothing of it on the host (dockerd, its
// containerd, shims, containers, mounts, cgroups, /run entries it made).
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  REPO,
  TSRUN,
  type Call,
  type Result,
  cgroupDirs,
  commandOf,
  engineAvailable,
  stopAndSweep,
  leftoversOf,
  onPty,
  pidsWhere,
  readCalls,
  removeCgroupTree,
  runCmd,
  sleepMs,
  thawTree,
  waitGone,
  writeWrapper,
} from './engines';

/** Debian's client; /usr/local/bin/docker on this machine is a newer one. */
export const DOCKER = '/usr/bin/docker';
export const IMAGE = 'tsrun-busybox:test';

/** The gate: root, the daemon's binaries and Debian's client; under CI their absence is a failure. */
export function dockerAvailable(): boolean {
  if (!engineAvailable('docker', ['dockerd', 'containerd', 'containerd-shim-runc-v2', 'script'])) return false;
  if (fs.existsSync(DOCKER)) return true;
  if (process.env.CI) throw new Error(`docker engine tests under CI need ${DOCKER} (Debian's docker.io); make engines-deps installs it`);
  console.warn(`docker engine tests skipped: ${DOCKER} not installed (make engines-deps)`);
  return false;
}

/**
 * One line naming the terminal and whether stdin is one. The pty under
 * `script` sometimes echoes a stray ^@ (under runc too), so no multi-line match.
 */
export const TTY_PROBE = 'echo "tty=$(tty) stdin=$([ -t 0 ] && echo tty || echo none)"';

/** The lines of /proc/self/status that show capabilities, no_new_privs and seccomp. */
export const STATUS_PROBE = ['grep', '-E', '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):', '/proc/self/status'];

/** Directories in /run that dockerd, its containerd or the shims create whatever the config says. */
const RUN_ENTRIES = ['/run/docker/plugins', '/run/docker', '/run/containerd/s', '/run/containerd/fifo', '/run/containerd'];
/** The host's Docker paths, which a private daemon must not create. */
const HOST_PATHS = ['/etc/docker/key.json', '/var/lib/docker', '/run/docker.sock', '/run/docker.pid'];

export class Dockerd {
  readonly dir: string;
  readonly sock: string;
  readonly rootfs: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly pidFile: string;
  readonly cgroupParent: string;
  readonly namespace: string;
  readonly wrapper: string;
  readonly callsFile: string;
  readonly env: NodeJS.ProcessEnv;
  private pid = 0;
  private readonly runExisted = new Set(RUN_ENTRIES.filter((e) => fs.existsSync(e)));
  private readonly hostExisted = new Set(HOST_PATHS.filter((e) => fs.existsSync(e)));
  /** dockerd makes an empty `docker` cgroup in every hierarchy; ours to remove only if absent before. */
  private readonly dockerCgroupExisted = cgroupDirs('/docker').length > 0;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-e2e-dk-'));
    fs.chmodSync(this.dir, 0o755);
    this.sock = path.join(this.dir, 'docker.sock');
    this.rootfs = path.join(this.dir, 'rootfs');
    this.dataRoot = path.join(this.dir, 'data');
    this.execRoot = path.join(this.dir, 'exec');
    this.pidFile = path.join(this.dir, 'docker.pid');
    this.cgroupParent = `/tsrun-e2e-dk-${process.pid}`;
    this.namespace = `tsrun-e2e-dk-${process.pid}`;
    ({ wrapper: this.wrapper, callsFile: this.callsFile } = writeWrapper(this.dir));
    for (const d of ['tmp', 'client']) fs.mkdirSync(path.join(this.dir, d));
    this.env = {
      ...process.env,
      // the shim writes exec process files under TMPDIR
      TMPDIR: path.join(this.dir, 'tmp'),
      DOCKER_HOST: `unix://${this.sock}`,
      DOCKER_CONFIG: path.join(this.dir, 'client'),
    };
    const r = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), this.rootfs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`busybox rootfs: ${r.stderr}`);
  }

  /** daemon.json: no iptables or bridge, the cgroupfs driver, our cgroup parent, tsrun as a runtime. */
  config(): object {
    return {
      iptables: false,
      'ip-masq': false,
      bridge: 'none',
      'exec-opts': ['native.cgroupdriver=cgroupfs'],
      'cgroup-parent': this.cgroupParent,
      // dockerd 20.10 writes a trust key, by default /etc/docker/key.json
      'deprecated-key-path': path.join(this.dir, 'key.json'),
      // so a plain `docker run` uses tsrun; the tests still name it with --runtime
      'default-runtime': 'tsrun',
      // the wrapper records the calls; tsrun-direct is bin/tsrun itself, as the README has it
      runtimes: { tsrun: { path: this.wrapper }, 'tsrun-direct': { path: TSRUN } },
    };
  }

  /** Where the runc shim keeps tsrun's state: --root EXEC_ROOT/runtime-runc/NAMESPACE. */
  get tsrunRoot(): string {
    return path.join(this.execRoot, 'runtime-runc', this.namespace);
  }

  /** The bundle the shim hands tsrun for a container. */
  bundle(id: string): string {
    return path.join(this.execRoot, 'containerd/daemon/io.containerd.runtime.v2.task', this.namespace, id);
  }

  /** The managed containerd's socket, under the exec root. */
  get containerdSock(): string {
    return path.join(this.execRoot, 'containerd', 'containerd.sock');
  }

  start(): void {
    const cfg = path.join(this.dir, 'daemon.json');
    fs.writeFileSync(cfg, JSON.stringify(this.config(), null, 2));
    const log = fs.openSync(path.join(this.dir, 'dockerd.log'), 'w');
    const args = [
      '--config-file', cfg,
      '--data-root', this.dataRoot,
      '--exec-root', this.execRoot,
      '--pidfile', this.pidFile,
      '-H', `unix://${this.sock}`,
      '--containerd-namespace', this.namespace,
      '--containerd-plugins-namespace', `${this.namespace}-plugins`,
    ];
    const child = spawn('dockerd', args, { env: this.env, stdio: ['ignore', log, log], detached: true });
    child.unref();
    fs.closeSync(log);
    this.pid = child.pid ?? 0;
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      if (fs.existsSync(this.sock) && this.docker(['version']).code === 0) {
        this.importImage();
        return;
      }
      if (waitGone([this.pid], 0)) break;
      sleepMs(100);
    }
    throw new Error(`dockerd did not start:\n${this.log().slice(-3000)}`);
  }

  log(): string {
    return fs.readFileSync(path.join(this.dir, 'dockerd.log'), 'utf8');
  }

  /** The busybox root filesystem as an image: no registry is reachable. */
  private importImage(): void {
    const r = spawnSync('bash', ['-c', `tar -C "$1" -c . | ${DOCKER} import - ${IMAGE}`, 'import', this.rootfs], { env: this.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`docker import: ${r.stderr}`);
  }

  docker(args: string[], opts: { input?: string; timeout?: number } = {}): Result {
    return runCmd(this.dir, DOCKER, args, { env: this.env, ...opts });
  }

  dockerOnPty(args: string[], opts: { input?: string; timeout?: number } = {}): Result {
    return onPty(this.dir, [DOCKER, ...args], { env: this.env, ...opts });
  }

  /** `docker run --runtime RUNTIME OPTS IMAGE CMD`. */
  run(opts: string[], cmd: string[], runtime = 'tsrun'): Result {
    return this.docker(['run', '--runtime', runtime, ...opts, IMAGE, ...cmd]);
  }

  inspect(name: string, format: string): string {
    const r = this.docker(['inspect', '--format', format, name]);
    if (r.code !== 0) throw new Error(`docker inspect ${name}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** The container's limits as its cgroup on the host has them, v1 or v2; swap is the part above memory. */
  hostLimits(id: string): { memory: string; swap: string; cpu: string; pids: string } {
    const read = (f: string) => fs.readFileSync(f, 'utf8').trim();
    const rel = `${this.cgroupParent}/${id}`;
    if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      const d = `/sys/fs/cgroup${rel}`;
      return { memory: read(`${d}/memory.max`), swap: read(`${d}/memory.swap.max`), cpu: read(`${d}/cpu.max`), pids: read(`${d}/pids.max`) };
    }
    const v1 = (ctrl: string, f: string) => read(`/sys/fs/cgroup/${ctrl}${rel}/${f}`);
    const memory = v1('memory', 'memory.limit_in_bytes');
    return {
      memory,
      swap: String(BigInt(v1('memory', 'memory.memsw.limit_in_bytes')) - BigInt(memory)),
      cpu: `${v1('cpu', 'cpu.cfs_quota_us')} ${v1('cpu', 'cpu.cfs_period_us')}`,
      pids: v1('pids', 'pids.max'),
    };
  }

  calls(): Call[] {
    return readCalls(this.callsFile);
  }

  /** Container ids tsrun was asked about (Docker's 64-hex ids). */
  ids(): string[] {
    const ids = new Set<string>();
    for (const c of this.calls()) for (const a of commandOf(c.argv).args) if (/^[0-9a-f]{64}$/.test(a)) ids.add(a);
    return [...ids];
  }

  /** The shim's socket for a container, as containerd 1.6 names it. */
  shimSocket(id: string): string {
    return `/run/containerd/s/${crypto.createHash('sha256').update(path.join(this.containerdSock, this.namespace, id)).digest('hex')}`;
  }

  private ourProcesses(): number[] {
    return [
      ...pidsWhere('cmdline', (c) => c.includes(this.dir + '/') && !c.startsWith('script ')), // dockerd, containerd, shims
      ...pidsWhere('cgroup', (c) => c.includes(this.cgroupParent + '/')), // container processes
    ];
  }

  /** Kills and removes everything; returns what could not be cleaned (empty when all is well). */
  cleanup(): string[] {
    const problems: string[] = [];
    thawTree(this.cgroupParent);
    if (this.pid && fs.existsSync(this.sock)) {
      const ls = this.docker(['ps', '-aq'], { timeout: 10_000 });
      const ids = ls.stdout.split('\n').filter(Boolean);
      if (ids.length) this.docker(['rm', '--force', ...ids], { timeout: 30_000 });
    }
    // dockerd stops its containerd on the way out: give it longer
    const { pid: daemonPid, cgroupParent, tsrunRoot, dir } = this;
    problems.push(...stopAndSweep({ daemonPid, daemonGraceMs: 15_000, processes: () => this.ourProcesses(), cgroupParent, tsrunRoot, dir }));
    if (!this.dockerCgroupExisted) problems.push(...removeCgroupTree('/docker').map((c) => `cgroup ${c}`));
    for (const id of this.ids()) fs.rmSync(this.shimSocket(id), { force: true });
    for (const e of RUN_ENTRIES) {
      if (this.runExisted.has(e)) continue;
      try {
        fs.rmdirSync(e);
      } catch {
        // absent, or another user's entries are there
      }
    }
    return problems;
  }

  /** What is left on the host after cleanup. */
  leftovers(): string[] {
    const found = leftoversOf(this.tsrunRoot, this.ids(), this.dir);
    // containers run through bin/tsrun directly are in no calls.log: any state directory is one too many
    if (fs.existsSync(this.tsrunRoot)) for (const e of fs.readdirSync(this.tsrunRoot)) if (!e.startsWith('.')) found.push(`state directory ${path.join(this.tsrunRoot, e)}`);
    if (this.pid && !waitGone([this.pid], 0)) found.push(`dockerd ${this.pid}`);
    for (const p of this.ourProcesses()) found.push(`process ${p}`);
    for (const d of cgroupDirs(this.cgroupParent)) found.push(`cgroup ${d}`);
    if (!this.dockerCgroupExisted) for (const d of cgroupDirs('/docker')) found.push(`cgroup ${d}`);
    for (const id of this.ids()) if (fs.existsSync(this.shimSocket(id))) found.push(`shim socket ${this.shimSocket(id)}`);
    for (const e of ['/run/docker', '/run/containerd']) if (!this.runExisted.has(e) && fs.existsSync(e)) found.push(e);
    for (const f of HOST_PATHS) if (!this.hostExisted.has(f) && fs.existsSync(f)) found.push(f);
    return found;
  }

  removeDir(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
