// Integration test harness: a private --root, busybox bundles in a temp dir,
// the built bin/tsrun driven as a user would, and a check that nothing of a
// container is left on the host (process, cgroup, mount, state directory).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');
export const TSRUN = path.join(REPO, 'bin/tsrun');

/**
 * A test precondition (root, ../shared, gcc, python3, a build product): when it is missing the tests skip with a
 * warning on a developer's machine, and fail under CI, where a skip would pass silently.
 */
export function precondition(ok: boolean, what: string): boolean {
  if (!ok && process.env.CI) throw new Error(`test precondition missing under CI: ${what}`);
  if (!ok) console.warn(`tests skipped: ${what}`);
  return ok;
}

/** Integration tests need root; under CI its absence is a failure, not a skip. */
export function rootAvailable(): boolean {
  return precondition(process.getuid?.() === 0, 'not root (integration tests need root)');
}

/** An executable on PATH (or at an absolute path). */
export function haveProgram(name: string): boolean {
  const dirs = name.startsWith('/') ? [''] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return dirs.some((d) => {
    try {
      fs.accessSync(d ? path.join(d, name) : name, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let counter = 0;

export class Harness {
  readonly dir: string;
  readonly root: string;
  readonly rootfs: string;
  private ids = new Set<string>();
  private readonly roots: string[] = [];

  constructor(readonly name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsrun-it-${name}-`));
    fs.chmodSync(this.dir, 0o755); // a user-namespaced root must reach the rootfs
    this.root = path.join(this.dir, 'state');
    this.rootfs = path.join(this.dir, 'rootfs');
    const r = spawnSync('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), this.rootfs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`busybox rootfs: ${r.stderr}`);
  }

  /** A fresh id; the harness deletes it at cleanup whatever happens. */
  id(label = 'c'): string {
    const id = `tsrun-it-${this.name}-${label}-${process.pid}-${++counter}`;
    this.ids.add(id);
    return id;
  }

  /** A bundle dir with config.json = base config modified by edit. */
  bundle(edit: (c: Config) => void = () => undefined, label = 'b'): string {
    const b = fs.mkdtempSync(path.join(this.dir, `bundle-${label}-`));
    const c = baseConfig(this.rootfs);
    edit(c);
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(c, null, 2));
    return b;
  }

  /**
   * Runs bin/tsrun. Output goes to files, not pipes: a created container
   * inherits tsrun's stdio, and a pipe would stay open as long as it lives.
   */
  tsrun(args: string[], opts: SpawnSyncOptions & { extraFds?: number[] } = {}): Result {
    const n = ++counter;
    const outFile = path.join(this.dir, `out-${n}`);
    const errFile = path.join(this.dir, `err-${n}`);
    const out = fs.openSync(outFile, 'w+');
    const err = fs.openSync(errFile, 'w+');
    try {
      const { extraFds = [], ...rest } = opts;
      const r = spawnSync(TSRUN, ['--root', this.root, ...args], { timeout: 60_000, stdio: ['ignore', out, err, ...extraFds], ...rest });
      if (r.error) throw r.error;
      return { code: r.status ?? 128 + 9, stdout: fs.readFileSync(outFile, 'utf8'), stderr: fs.readFileSync(errFile, 'utf8') };
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
      fs.rmSync(outFile, { force: true });
      fs.rmSync(errFile, { force: true });
    }
  }

  /** Runs a container in the foreground with the given args; returns its output. */
  run(args: string[], edit: (c: Config) => void = () => undefined): Result & { id: string } {
    const id = this.id('run');
    const b = this.bundle((c) => {
      c.process.args = args;
      edit(c);
    });
    return { ...this.tsrun(['run', '--bundle', b, id]), id };
  }

  /** A state root of its own (under the harness dir) for a test that needs one; cleanup deletes its containers too. */
  otherRoot(): string {
    const root = fs.mkdtempSync(path.join(this.dir, 'root-'));
    this.roots.push(root);
    return root;
  }

  cleanup(): void {
    // before the dir goes: a container whose state is removed with it would leave its cgroups and process
    for (const root of [this.root, ...this.roots]) {
      for (const id of this.ids) {
        if (fs.existsSync(path.join(root, id))) spawnSync(TSRUN, ['--root', root, 'delete', '--force', id], { timeout: 60_000, stdio: 'ignore' });
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Loose on purpose: tests write partial, hostile and future-version configs that no Spec type describes.
export type Config = any;

/** runc's default config, made non-interactive, with the rootfs by absolute path. */
export function baseConfig(rootfs: string): Config {
  return {
    ociVersion: '1.3.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh', '-c', 'true'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: 'tsrun-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** What a container may have left on the host; empty when nothing. */
export function leftovers(root: string, id: string, extraPaths: string[] = []): string[] {
  const found: string[] = [];
  if (fs.existsSync(path.join(root, id))) found.push(`state directory ${path.join(root, id)}`);
  for (const m of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = m.split(' ')[4];
    if (mp && (mp.includes(id) || extraPaths.some((p) => mp.startsWith(p)))) found.push(`mount ${mp}`);
  }
  const cgroupRoot = '/sys/fs/cgroup';
  const walk = (d: string, depth: number) => {
    if (depth > 6) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name.includes(id)) found.push(`cgroup ${p}`);
      else walk(p, depth + 1);
    }
  };
  walk(cgroupRoot, 0);
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      // a process of the container sits in a cgroup named after it; a
      // zombie is dead already, waiting for its parent (the subreaper) to reap it
      if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) continue;
      if (fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(id)) found.push(`process ${pid}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Copies of build/ binaries (the launcher first) in `dir`, beside a fake tsrun-bun running `script`: a command
 * that reached Bun says so in its output. Returns the copied launcher.
 */
export function besideFakeBun(dir: string, binaries: string[], script: string): string {
  fs.mkdirSync(dir);
  for (const b of binaries) {
    fs.copyFileSync(path.join(REPO, 'build', b), path.join(dir, b));
    fs.chmodSync(path.join(dir, b), 0o755);
  }
  fs.writeFileSync(path.join(dir, 'tsrun-bun'), script, { mode: 0o755 });
  return path.join(dir, 'tsrun');
}
