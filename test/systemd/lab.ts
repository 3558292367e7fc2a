// SystemdLab: a real systemd (PID 1 of its own pid, mount, cgroup, uts and ipc namespaces) for tests of
// --systemd-cgroup and of engines set up for systemd cgroups, driven through test/systemd/lab.sh (see its
// header for the isolation). Commands run inside with exec(); they see the lab's system bus at
// /run/dbus/system_bus_socket, its /run, /tmp and cgroups, and, at the same paths as on the host, this
// repository (with bin/tsrun), the lab's dir and every bind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, haveProgram, precondition, type Result } from '../helpers/harness';

export const LAB_SH = path.join(REPO, 'test/systemd/lab.sh');

export interface LabOptions {
  /** The lab's shared dir (same path inside, read-write); default a fresh one under os.tmpdir(), removed by stop(). */
  dir?: string;
  /** More host paths shared read-write at the same path inside. */
  binds?: string[];
  /** Seconds to wait for `systemctl is-system-running` (default 90). */
  bootTimeoutSec?: number;
}

export interface ExecOptions {
  /** Working directory inside the lab (default REPO). */
  cwd?: string;
  /** Added to process.env for the command. */
  env?: Record<string, string>;
  /** Written to the command's stdin (default: stdin is /dev/null). */
  input?: string;
  /** Killed (SIGKILL to the nsenter on the host) after this long; default 60 s. */
  timeoutMs?: number;
}

let seq = 0;

export class SystemdLab {
  /** Shared dir: tests' bundles, state roots and temp files belong here (or in the repo, or in a bind). */
  readonly dir: string;
  /** Host pid of the lab's PID 1 (systemd); 0 before start(). */
  pid = 0;
  /** Host path of the lab's root cgroup, by mount point inside the lab (the host's: '/sys/fs/cgroup/memory'...). */
  cgroups: Record<string, string> = {};
  /** Milliseconds from start() to `is-system-running` answering running or degraded, and of stop(). */
  bootMs = 0;
  stopMs = 0;
  private readonly ownDir: boolean;
  private readonly binds: string[];
  private readonly bootTimeoutSec: number;
  private started = false;

  constructor(opts: LabOptions = {}) {
    this.ownDir = !opts.dir;
    this.dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-systemd-lab-'));
    fs.mkdirSync(this.dir, { recursive: true });
    fs.chmodSync(this.dir, 0o755);
    this.binds = opts.binds ?? [];
    this.bootTimeoutSec = opts.bootTimeoutSec ?? 90;
  }

  /** Root, systemd, dbus-daemon, nsenter and unshare: missing ones skip the tests, or fail them under CI. */
  static available(): boolean {
    return (
      precondition(process.getuid?.() === 0, 'not root (the systemd lab needs root)') &&
      precondition(fs.existsSync('/lib/systemd/systemd'), 'systemd is not installed (/lib/systemd/systemd)') &&
      precondition(haveProgram('dbus-daemon'), 'dbus-daemon is not installed') &&
      precondition(haveProgram('nsenter') && haveProgram('unshare'), 'util-linux nsenter/unshare missing')
    );
  }

  /** Boots the lab; throws with lab.sh's output (and the console log's tail) when it does not come up. */
  start(): void {
    // --owner: if this process dies without stop() (a killed test worker), lab.sh's watchdog powers the lab off
    const args = ['start', this.dir, '--owner', String(process.pid), ...this.binds.flatMap((b) => ['--bind', b])];
    const r = spawnSync('bash', [LAB_SH, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LAB_BOOT_TIMEOUT: String(this.bootTimeoutSec) },
      timeout: (this.bootTimeoutSec + 60) * 1000,
    });
    this.started = true; // even a failed start may leave something for stop() to clean
    if (r.status !== 0) throw new Error(`systemd lab did not start (exit ${r.status}): ${r.stderr}${r.stdout}`);
    const info = spawnSync('bash', [LAB_SH, 'info', this.dir], { encoding: 'utf8' });
    if (info.status !== 0) throw new Error(`lab.sh info: ${info.stderr}`);
    for (const line of info.stdout.split('\n')) {
      const [key, value = ''] = splitOnce(line, '=');
      if (key === 'pid') this.pid = Number(value);
      else if (key === 'boot-ms') this.bootMs = Number(value);
      else if (key === 'cgroup') {
        const [mount, hostPath] = splitOnce(value, ' ');
        this.cgroups[mount] = hostPath;
      }
    }
    if (!this.pid || Object.keys(this.cgroups).length === 0) throw new Error(`lab.sh info: ${info.stdout}`);
  }

  /**
   * Runs argv inside the lab and waits for it. Output goes to files, not pipes, so that a daemon the
   * command leaves behind (runc create's container, say) does not hold exec() open.
   */
  exec(argv: string[], opts: ExecOptions = {}): Result {
    this.mustRun();
    const base = path.join(this.dir, '.lab', `exec-${process.pid}-${++seq}`);
    const out = fs.openSync(`${base}.out`, 'w+');
    const err = fs.openSync(`${base}.err`, 'w+');
    try {
      const r = spawnSync('bash', [LAB_SH, 'exec', this.dir, '--cwd', opts.cwd ?? REPO, '--', ...argv], {
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', out, err],
        input: opts.input,
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
      });
      if (r.error) throw r.error;
      return {
        code: r.status ?? 128 + 9,
        stdout: fs.readFileSync(`${base}.out`, 'utf8'),
        stderr: fs.readFileSync(`${base}.err`, 'utf8'),
      };
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
      fs.rmSync(`${base}.out`, { force: true });
      fs.rmSync(`${base}.err`, { force: true });
    }
  }

  /** exec() that throws unless the command exits 0; returns its stdout. */
  run(argv: string[], opts: ExecOptions = {}): string {
    const r = this.exec(argv, opts);
    if (r.code !== 0) throw new Error(`in the systemd lab: ${argv.join(' ')}: exit ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /**
   * Starts argv inside the lab without waiting (a daemon, a process to watch). The host process is lab.sh's
   * nsenter; signals to it do not reach the command, which ends at the latest with stop().
   */
  spawn(argv: string[], opts: Omit<ExecOptions, 'input' | 'timeoutMs'> & { stdio?: 'ignore' | 'pipe' } = {}): ChildProcess {
    this.mustRun();
    return spawn('bash', [LAB_SH, 'exec', this.dir, '--cwd', opts.cwd ?? REPO, '--', ...argv], {
      stdio: ['ignore', opts.stdio ?? 'ignore', opts.stdio ?? 'ignore'],
      env: { ...process.env, ...opts.env },
    });
  }

  /** Host paths of the lab's cgroup `rel` (as systemd names it, '/system.slice/x.scope') in every hierarchy. */
  hostCgroups(rel: string): Record<string, string> {
    const dirs: Record<string, string> = {};
    for (const [mount, root] of Object.entries(this.cgroups)) dirs[mount] = path.join(root, rel);
    return dirs;
  }

  /** The system's state as `systemctl is-system-running` prints it (running, degraded...). */
  state(): string {
    return this.exec(['systemctl', 'is-system-running']).stdout.trim();
  }

  /**
   * Powers the lab off (SIGKILL after 20 s), kills what is left in its cgroups and removes them; removes the
   * dir if the lab made it and nothing is left. Safe to call twice, or after a failed start(). Throws when
   * something is left (the message lists it).
   */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    const t0 = Date.now();
    const r = spawnSync('bash', [LAB_SH, 'stop', this.dir], { encoding: 'utf8', timeout: 120_000 });
    this.stopMs = Date.now() - t0;
    const left = this.leftovers();
    if (left.length === 0 && this.ownDir) fs.rmSync(this.dir, { recursive: true, force: true });
    if (r.status !== 0 || left.length > 0) throw new Error(`systemd lab stop (exit ${r.status}): ${r.stderr}\n${left.join('\n')}`);
  }

  /**
   * Whatever a failed test left: `delete --force` inside the lab of every container under <dir>/<rootName>, each
   * through its runtime (binary, state root name), before stop() (which removes the lab's cgroups).
   */
  deleteLeftContainers(runtimes: [bin: string, rootName: string][]): void {
    for (const [bin, root] of runtimes) {
      const dir = path.join(this.dir, root);
      for (const id of fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')) : []) {
        this.exec([bin, '--systemd-cgroup', '--root', dir, 'delete', '--force', id]);
      }
    }
  }

  /**
   * What of the lab is left on the host: its processes, its cgroups, init.scope/system.slice/user.slice at
   * the host's hierarchy roots (or beside the lab's cgroup), mounts under its dir. Empty after stop().
   */
  leftovers(): string[] {
    if (!fs.existsSync(path.join(this.dir, '.lab'))) return [];
    const r = spawnSync('bash', [LAB_SH, 'leftovers', this.dir], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean);
  }

  private mustRun(): void {
    if (!this.started || !this.pid) throw new Error('the systemd lab is not running (start() first)');
  }
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}
