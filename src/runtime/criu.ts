// What checkpoint and restore tell CRIU, as runc tells it: the options of
// its RPC (criu-proto.ts) from runc's flags, the external mounts, the stdio
// pipes, and CRIU's own words when it fails. criu-session.ts holds the
// conversation.
import { readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Spec } from '../spec/types';
import { CriuCgMode, type CriuOpts, type CriuResp } from './criu-proto';
import { IMAGES_DIR_FD, WORK_DIR_FD } from './criu-session';

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

const CLONE_NEWNET = 0x40000000;

/** The options both share; the log is LOG_NAME in the work directory (the image directory without one). */
export function sharedOpts(f: CriuFlags, logName: string): CriuOpts {
  const mode = f.manageCgroupsMode || 'soft';
  if (!Object.hasOwn(CriuCgMode, mode)) throw new TsrunError(`--manage-cgroups-mode: "${mode}" is none of soft, full, strict, ignore`);
  let emptyNs = 0;
  for (const ns of f.emptyNs ?? []) {
    if (ns !== 'network' && ns !== 'net') throw new TsrunError(`--empty-ns: "${ns}" is not supported (only network)`);
    emptyNs |= CLONE_NEWNET;
  }
  const o: CriuOpts = {
    imagesDirFd: IMAGES_DIR_FD,
    logLevel: 4,
    logFile: logName,
    manageCgroups: true,
    manageCgroupsMode: CriuCgMode[mode as keyof typeof CriuCgMode],
    notifyScripts: true,
    shellJob: Boolean(f.shellJob),
    tcpEstablished: Boolean(f.tcpEstablished),
    extUnixSk: Boolean(f.extUnixSk),
    fileLocks: Boolean(f.fileLocks),
    autoDedup: Boolean(f.autoDedup),
    // a terminal's pts whose master is outside: dumped without it, given a new one on restore
    orphanPtsMaster: true,
  };
  if (f.workPath) o.workDirFd = WORK_DIR_FD;
  if (emptyNs) o.emptyNs = emptyNs;
  return o;
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

/** For each pipe among the saved descriptors: fd N of criu (our fd N) takes its place. */
export function inheritPipes(imagePath: string): { key: string; fd: number }[] {
  let fds: string[];
  try {
    fds = JSON.parse(readFileSync(path.join(imagePath, DESCRIPTORS_FILE), 'utf8')) as string[];
  } catch (e) {
    throw new TsrunError(`read ${path.join(imagePath, DESCRIPTORS_FILE)}: ${(e as Error).message} (not an image of tsrun or runc checkpoint?)`);
  }
  const out: { key: string; fd: number }[] = [];
  fds.forEach((link, fd) => {
    if (typeof link === 'string' && link.startsWith('pipe:')) out.push({ key: link, fd });
  });
  return out;
}

/** A failed answer as one line: CRIU's errno and message, its last errors from the log, and the log's path. */
export function criuFailure(f: CriuFlags, action: string, resp: CriuResp, logName: string): TsrunError {
  const logFile = path.join(f.workPath ?? f.imagePath, logName);
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    // no log
  }
  // CRIU's own message is its first error, which may be a harmless one the log's errors leave out
  const fromLog = criuErrors(text);
  const why = [fromLog ? '' : resp.crErrmsg?.trim(), resp.crErrno ? `errno ${resp.crErrno}` : ''].filter(Boolean).join(', ');
  return new TsrunError(`criu ${action} failed${why ? ` (${why})` : ''}${fromLog}; log file: ${logFile}`);
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
