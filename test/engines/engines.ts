// Helpers for the engine tests (the engines themselves: containerd-engine.ts,
// podman-engine.ts, docker.ts): a recording wrapper around bin/tsrun, its
// calls, and a cleanup that leaves nothing on the host (daemons, shims, conmon,
// container processes, mounts, cgroups, tsrun state, /run/containerd).
//
// The wrapper (written into the test's temp dir, never shipped) runs the real
// bin/tsrun and appends one line per call: exit code, duration, the copy of
// the --log file when the call failed, and the argv. It is named `tsrun`, so
// podman matches it against runtime_supports_json = ["tsrun"].
import { spawnSync } from 'node:child_process';
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
