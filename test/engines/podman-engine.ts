// A private podman configuration for the engine tests (its own containers.conf, storage, tmpdir, cgroup parent
// and events file), driving bin/tsrun through the recording wrapper of engines.ts, and its cleanup.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Call, REPO, type Result, TSRUN, cgroupDirs, commandOf, killPids, leftoversOf, onPty, pidsWhere, readCalls, removeCgroupTree, runCmd, thawTree, unmountUnder, waitGone, writeWrapper } from './engines';


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
