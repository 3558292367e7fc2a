// A real user who is not root, for the rootless tests: made with useradd (which gives it ranges in /etc/subuid
// and /etc/subgid), with a home and an XDG_RUNTIME_DIR of its own under a temp dir, a busybox root filesystem it
// owns, and commands run as it through setpriv (its uid, gid and no other groups). cleanup() kills what is
// left of its processes (by pid: they are the test's), removes the user (userdel also drops its subuid and
// subgid lines) and the temp dir, and reports what it had to clean.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, TSRUN, haveProgram, precondition, rootAvailable } from '../helpers/harness';

export const RUNC = '/usr/sbin/runc';
const PREFIX = 'tsrl';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Range {
  start: number;
  count: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** root, useradd/userdel, setpriv, newuidmap, runc and the build: under CI a missing one fails. */
export function rootlessAvailable(): boolean {
  return (
    rootAvailable() &&
    precondition(haveProgram('useradd') && haveProgram('setpriv'), 'useradd or setpriv is missing') &&
    precondition(haveProgram('newuidmap') && haveProgram('newgidmap'), 'newuidmap/newgidmap are missing (apt-get install uidmap)') &&
    precondition(haveProgram(RUNC), `${RUNC} is missing (apt-get install runc)`) &&
    precondition(fs.existsSync(TSRUN), 'bin/tsrun is not built (make build)')
  );
}

// User-Mode Linux (run-v2.sh) runs every syscall through ptrace: the busybox rootfs alone takes a minute there
const SLOW = process.env.CGV2_VM ? 6 : 1;

function sh(cmd: string, args: string[]): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 * SLOW });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function rangeOf(file: string, name: string): Range {
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`${file} has no range for ${name}`);
  const [, start, count] = line.split(':').map(Number);
  return { start, count };
}

/** The live processes of a uid (zombies excluded). */
export function pidsOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = fs.statSync(`/proc/${e}`);
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (st.uid === uid && state !== 'Z') out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function killAllOf(uid: number): number[] {
  const first = pidsOfUid(uid);
  for (let i = 0, pids = first; i < 5 && pids.length; i++, pids = pidsOfUid(uid)) {
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    spawnSync('sleep', ['0.2']);
  }
  return first;
}

/** Users an earlier test run left behind when it was killed (its pid, in the name, is gone): their processes, by pid, then the user. */
function sweepStaleUsers(): void {
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)x\\d+):x:(\\d+):`).exec(line);
    if (!m || fs.existsSync(`/proc/${m[2]}`)) continue;
    killAllOf(Number(m[3]));
    spawnSync('userdel', [m[1]]);
  }
  // and their temp dirs: a home whose owner no longer exists
  const uids = new Set(fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[2]));
  for (const e of fs.readdirSync(os.tmpdir())) {
    if (!e.startsWith('tsrun-rootless-')) continue;
    const home = fs.statSync(path.join(os.tmpdir(), e, 'home'), { throwIfNoEntry: false });
    if (home && !uids.has(String(home.uid))) fs.rmSync(path.join(os.tmpdir(), e), { recursive: true, force: true });
  }
}

let counter = 0;

export class TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly base: string;
  readonly home: string;
  readonly xdg: string;
  /** A busybox root filesystem the user owns. */
  readonly rootfs: string;
  readonly subuid: Range;
  readonly subgid: Range;
  private n = 0;

  constructor(label: string) {
    if (counter === 0) sweepStaleUsers();
    this.name = `${PREFIX}${process.pid}x${++counter}`;
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), `tsrun-rootless-${label}-`));
    fs.chmodSync(this.base, 0o755); // the user reaches its home through it
    this.home = path.join(this.base, 'home');
    this.xdg = path.join(this.base, 'xdg');
    const r = sh('useradd', ['-M', '-d', this.home, '-s', '/bin/sh', '-U', this.name]);
    if (r.code !== 0) throw new Error(`useradd ${this.name}: ${r.stderr}`);
    try {
      this.uid = Number(sh('id', ['-u', this.name]).stdout.trim());
      this.gid = Number(sh('id', ['-g', this.name]).stdout.trim());
      this.subuid = rangeOf('/etc/subuid', this.name);
      this.subgid = rangeOf('/etc/subgid', this.name);
      fs.mkdirSync(this.home, { mode: 0o755 });
      fs.mkdirSync(this.xdg, { mode: 0o700 });
      this.rootfs = path.join(this.home, 'rootfs');
      // run-v2.sh builds one on the host (hundreds of processes: minutes under User-Mode Linux) to copy
      const template = process.env.TSRUN_ROOTLESS_ROOTFS;
      const b = template ? sh('cp', ['-a', template, this.rootfs]) : sh('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), this.rootfs]);
      if (b.code !== 0) throw new Error(`busybox rootfs: ${b.stderr}`);
      for (const d of [this.home, this.xdg]) sh('chown', ['-R', `${this.uid}:${this.gid}`, d]);
    } catch (e) {
      this.cleanup();
      throw e;
    }
  }

  /** The environment of a login of this user. */
  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: PATH_ENV, HOME: this.home, USER: this.name, LOGNAME: this.name, XDG_RUNTIME_DIR: this.xdg };
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return env;
  }

  /**
   * Runs argv as the user. Output goes to files, not pipes: a created container inherits the runtime's stdio,
   * and a pipe would stay open as long as it lives.
   */
  run(
    argv: string[],
    opts: {
      env?: Record<string, string | undefined>;
      input?: string;
      cwd?: string;
      timeout?: number;
      /** Starts the command another way (root first, then the user: delegation.ts); default setpriv to the user. */
      via?: (argv: string[]) => string[];
    } = {},
  ): RunResult {
    const n = ++this.n;
    const outFile = path.join(this.base, `out-${n}`);
    const errFile = path.join(this.base, `err-${n}`);
    const out = fs.openSync(outFile, 'w+');
    const err = fs.openSync(errFile, 'w+');
    try {
      const full = opts.via ? opts.via(argv) : ['setpriv', `--reuid=${this.uid}`, `--regid=${this.gid}`, '--clear-groups', '--', ...argv];
      const r = spawnSync(full[0], full.slice(1), {
        env: this.env(opts.env),
        cwd: opts.cwd ?? this.home,
        input: opts.input,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', out, err],
        timeout: (opts.timeout ?? 60_000) * SLOW,
      });
      if (r.error) throw r.error;
      return { code: r.status ?? 128 + 9, stdout: fs.readFileSync(outFile, 'utf8'), stderr: fs.readFileSync(errFile, 'utf8') };
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
      fs.rmSync(outFile, { force: true });
      fs.rmSync(errFile, { force: true });
    }
  }

  /** A directory the user owns, under its home. */
  mkdir(name: string): string {
    const d = path.join(this.home, name);
    fs.mkdirSync(d, { recursive: true });
    fs.chownSync(d, this.uid, this.gid);
    return d;
  }

  /** Writes a file the user owns. */
  writeFile(file: string, text: string): void {
    fs.writeFileSync(file, text);
    fs.chownSync(file, this.uid, this.gid);
  }

  /** The user's live processes (zombies excluded). */
  pids(): number[] {
    return pidsOfUid(this.uid);
  }

  /** Kills what is left (by pid), removes the user and its files; returns what was left, for the test to report. */
  cleanup(): string[] {
    const left: string[] = [];
    if (this.uid !== undefined) {
      const pids = killAllOf(this.uid);
      if (pids.length) left.push(`processes of ${this.name}: ${pids.join(' ')}`);
    }
    const r = sh('userdel', [this.name]);
    if (r.code !== 0 && !/does not exist/.test(r.stderr)) left.push(`userdel ${this.name}: ${r.stderr.trim()}`);
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      if (fs.readFileSync(f, 'utf8').split('\n').some((l) => l.startsWith(`${this.name}:`))) left.push(`${f} still names ${this.name}`);
    }
    fs.rmSync(this.base, { recursive: true, force: true });
    return left;
  }
}
