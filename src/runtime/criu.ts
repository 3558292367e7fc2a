// Running criu(8) for checkpoint and restore, through its command line (runc
// speaks its swrk RPC instead: protobuf over a SOCK_SEQPACKET socket). Every
// option runc sets through the RPC has a command-line twin, the images are
// the same, and one spawnSync needs no socket code (Node has no SEQPACKET)
// nor a protobuf codec. What only the RPC has: the notifications (prestart
// hooks at setup-namespaces) and the orphan pts master (a new terminal on
// restore); see restore.ts for how those are handled.
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Spec } from '../spec/types';

/** The flags checkpoint and restore share, as runc names them. */
export interface CriuFlags {
  criu: string;
  imagePath: string;
  workPath?: string;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  manageCgroupsMode?: string;
  emptyNs?: string[];
  autoDedup?: boolean;
}

/** runc's file in the image directory: where fds 0-2 of the init pointed (pipe:[N] is given back on restore). */
export const DESCRIPTORS_FILE = 'descriptors.json';

const CGROUP_MODES = new Set(['soft', 'full', 'strict', 'ignore']);
const EMPTY_NS: Record<string, string> = { network: 'net', net: 'net' };

export function sharedArgs(f: CriuFlags): string[] {
  const args = ['--images-dir', f.imagePath, '-v4'];
  if (f.workPath) args.push('--work-dir', f.workPath);
  const mode = f.manageCgroupsMode || 'soft';
  if (!CGROUP_MODES.has(mode)) throw new TsrunError(`--manage-cgroups-mode: "${mode}" is none of soft, full, strict, ignore`);
  args.push(`--manage-cgroups=${mode}`);
  if (f.tcpEstablished) args.push('--tcp-established');
  if (f.extUnixSk) args.push('--ext-unix-sk');
  if (f.shellJob) args.push('--shell-job');
  if (f.fileLocks) args.push('--file-locks');
  if (f.autoDedup) args.push('--auto-dedup');
  for (const ns of f.emptyNs ?? []) {
    const name = EMPTY_NS[ns];
    if (!name) throw new TsrunError(`--empty-ns: "${ns}" is not supported (only network)`);
    args.push('--empty-ns', name);
  }
  return args;
}

/** Mount points inside the container whose source CRIU cannot see from there: the spec's bind mounts. */
export function bindMounts(spec: Spec, bundle: string): { dest: string; source: string }[] {
  return (spec.mounts ?? [])
    .filter((m) => m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind'))
    .map((m) => ({ dest: path.posix.normalize(m.destination).replace(/(.)\/+$/, '$1'), source: path.resolve(bundle, m.source ?? '') }));
}

/** One line of /proc/PID/mountinfo: the fields checkpoint needs. */
export interface MountLine {
  root: string;
  mountPoint: string;
  fsType: string;
}

export function parseMountinfo(text: string): MountLine[] {
  const out: MountLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 0) continue;
    const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ root: unescape(f[3]), mountPoint: unescape(f[4]), fsType: f[dash + 1] });
  }
  return out;
}

/**
 * cgroup v1 hierarchies mounted in the container without a cgroup namespace: each is a view of the
 * container's own directory of a host hierarchy (root is not "/"), which CRIU takes as an external mount.
 */
export function externalCgroupMounts(mounts: MountLine[]): string[] {
  return mounts.filter((m) => (m.fsType === 'cgroup' || m.fsType === 'cgroup2') && m.root !== '/').map((m) => m.mountPoint);
}

/** Where fds 0-2 of pid point, as runc saves them. */
export function stdioLinks(pid: number): string[] {
  return [0, 1, 2].map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
}

/** --inherit-fd for each pipe among the saved descriptors: fd N of criu (ours) replaces it. */
export function inheritPipes(imagePath: string): string[] {
  let fds: string[];
  try {
    fds = JSON.parse(readFileSync(path.join(imagePath, DESCRIPTORS_FILE), 'utf8')) as string[];
  } catch (e) {
    throw new TsrunError(`read ${path.join(imagePath, DESCRIPTORS_FILE)}: ${(e as Error).message} (not an image of tsrun or runc checkpoint?)`);
  }
  const args: string[] = [];
  fds.forEach((link, fd) => {
    if (typeof link === 'string' && link.startsWith('pipe:')) args.push('--inherit-fd', `fd[${fd}]:${link}`);
  });
  return args;
}

/**
 * Runs criu ACTION ARGS; a failure is one line with CRIU's last errors and the log's path. `prefix` runs
 * before criu (restore puts it in the container's cgroups that way).
 */
export function runCriu(
  f: CriuFlags,
  action: string,
  args: string[],
  opts: { logName: string; stdio: 'inherit' | 'quiet'; prefix?: string[]; env?: Record<string, string> },
): void {
  const logDir = f.workPath ?? f.imagePath;
  const logFile = path.join(logDir, opts.logName);
  const argv = [...(opts.prefix ?? []), f.criu, action, ...args, '--log-file', opts.logName];
  const r = spawnSync(argv[0], argv.slice(1), {
    stdio: opts.stdio === 'inherit' ? 'inherit' : ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TsrunError(`criu not found at "${f.criu}": install criu, or name it with --criu PATH`);
    throw new TsrunError(`run ${f.criu} ${action}: ${r.error.message}`);
  }
  if (r.status === 0) return;
  // before its log is open (kernel feature detection) criu writes to stderr only
  let text = typeof r.stderr === 'string' ? r.stderr : '';
  try {
    text += readFileSync(logFile, 'utf8');
  } catch {
    // no log
  }
  throw new TsrunError(`criu ${action} failed (${r.signal ? `signal ${r.signal}` : `exit ${r.status}`})${criuErrors(text)}; log file: ${logFile}`);
}

/** CRIU's own words from its output: the last errors, and what they mean when CRIU cannot run on this kernel. */
export function criuErrors(text: string): string {
  const errors = text
    .split('\n')
    .filter((l) => l.includes('Error (') && !l.includes("Can't setup RLIMIT_NOFILE for self"))
    .map((l) => l.replace(/^\(\s*[\d.]+\)\s*/, '').replace(/^pie: \d+: /, ''));
  if (errors.length === 0) return '';
  // the first error is the cause, the last ones what CRIU gave up
  const shown = errors.length > 3 ? [errors[0], ...errors.slice(-2)] : errors;
  let note = `: ${shown.join('; ')}`;
  if (text.includes('Unexpected rt vDSO area bounds')) {
    note += ' (this criu cannot run on this kernel: Linux 6.13 and later split the vDSO data into [vvar] and [vvar_vclock], which CRIU handles from 4.1 on)';
  } else if (text.includes('Could not initialize kernel features detection')) {
    note += ' (this criu cannot run on this kernel: its feature detection failed; see `criu check`)';
  }
  return note;
}
