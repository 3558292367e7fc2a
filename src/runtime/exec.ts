// `exec`: a new process in a running container. It joins every namespace of
// the container's init and its cgroup, and gets the container's seccomp
// filter; the rest comes from --process FILE or from the container's own
// process, changed by the flags (runc's rules). In the foreground, tsrun-init
// stage 0 waits for it and reports its exit status.
import { existsSync, readFileSync } from 'node:fs';
import { buildExecPlan } from '../plan/build';
import { readHostFacts } from '../plan/host';
import { encodePlanBody } from '../plan/encode';
import { Msg } from '../plan/tags';
import { cgroupManagerFromPaths, type CgroupManager } from '../cgroups/manager';
import { subCgroupPaths } from '../cgroups/sub-cgroup';
import { seccompCompiler } from './seccomp';
import { ContainerDir, writeAtomic } from '../state/store';
import { statusOf } from '../state/status';
import { validateProcess } from '../spec/validate';
import { checkProcessDocument } from '../spec/checks';
import { parseJson, describeJsonError } from '../spec/json';
import { formatProblem } from '../spec/problem';
import { InitChannel, takeInit } from './init-channel';
import { followInit } from './init-messages';
import type { InitPlan } from '../plan/types';
import { exitCodeOf } from './run';
import { faultPoint } from './fault';
import { forwardSignals, sendSignal } from './signals';
import { TsrunError } from '../errors';
import { log } from '../log/logger';
import type { Process } from '../spec/types';

export interface ExecOptions {
  root: string;
  id: string;
  processFile?: string;
  args: string[];
  tty?: boolean;
  consoleSocket?: string;
  detach?: boolean;
  pidFile?: string;
  env: string[];
  cwd?: string;
  user?: string;
  additionalGids: string[];
  caps: string[];
  noNewPrivs?: boolean;
  preserveFds?: number;
  processLabel?: string;
  apparmor?: string;
  ignorePaused?: boolean;
  /** --cgroup: sub-cgroups of the container's to join instead (cgroups/sub-cgroup.ts). */
  subCgroups?: string[];
}

/** --process FILE: the whole process, validated like a config's. */
function readProcessFile(file: string): Process {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new TsrunError(`open process file ${file}: ${(e as Error).message}`);
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw new TsrunError(`process file ${file}: ${describeJsonError(parsed)}`);
  const doc = parsed.value;
  const problems = [...validateProcess(doc)];
  if (problems.length === 0) problems.push(...checkProcessDocument(doc));
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : '';
    throw new TsrunError(`invalid process ${file}: ${formatProblem(problems[0])}${more}`, { details: problems.map(formatProblem) });
  }
  return doc as Process;
}

function parseId(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new TsrunError(`--${what}: "${text}" is not a numeric id`);
  return Number(text);
}

/**
 * --process gives the whole process; runc then drops the flags that would change it without a word. tsrun refuses
 * them instead (no engine combines them), so that none is accepted and ignored. --tty still overrides.
 */
function refuseWithProcessFile(o: ExecOptions): void {
  const given: [string, boolean][] = [
    ['a command', o.args.length > 0],
    ['--env', o.env.length > 0],
    ['--cwd', o.cwd !== undefined],
    ['--user', o.user !== undefined],
    ['--additional-gids', o.additionalGids.length > 0],
    ['--cap', o.caps.length > 0],
    ['--no-new-privs', Boolean(o.noNewPrivs)],
    ['--process-label', o.processLabel !== undefined],
    ['--apparmor', o.apparmor !== undefined],
  ];
  const clash = given.filter(([, set]) => set).map(([name]) => name);
  if (clash.length) throw new TsrunError(`exec: ${clash.join(', ')} cannot be given with --process: the process file holds the whole process`);
}

/** What the flags change when the container's config has no process (created with none): root, at /. */
const NO_PROCESS: Process = { cwd: '/', user: { uid: 0, gid: 0 }, args: [] };

/** The container's process changed by the flags, as `runc exec` does without --process. */
export function processFromFlags(base: Process, o: ExecOptions): Process {
  if (o.args.length === 0) throw new TsrunError('exec: no command given: tsrun exec [options] ID COMMAND [ARG...]');
  const p: Process = JSON.parse(JSON.stringify(base));
  p.args = o.args;
  delete p.commandLine;
  if (o.cwd) p.cwd = o.cwd;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  p.env = [...(p.env ?? []), ...o.env];
  if (o.tty !== undefined) p.terminal = o.tty;
  if (o.noNewPrivs) p.noNewPrivileges = true;
  if (o.user) {
    const [uid, gid] = o.user.split(':', 2);
    p.user = { ...p.user, uid: parseId(uid, 'user') };
    if (gid !== undefined) p.user.gid = parseId(gid, 'user');
  }
  if (o.additionalGids.length > 0) p.user.additionalGids = o.additionalGids.map((g) => parseId(g, 'additional-gids'));
  if (o.caps.length > 0) {
    const c = (p.capabilities ??= {});
    for (const set of ['bounding', 'effective', 'permitted'] as const) c[set] = [...(c[set] ?? []), ...o.caps];
    // ambient caps need inheritable ones: add them only where the config has some (runc)
    if (c.inheritable) c.ambient = [...(c.ambient ?? []), ...o.caps];
  }
  return p;
}

export async function execProcess(o: ExecOptions): Promise<number> {
  // started first, as for create: its slow first cgroup move overlaps our work
  const channel = takeInit(o.preserveFds ?? 0);
  let plan: InitPlan;
  try {
    plan = planExec(o);
  } catch (e) {
    channel.child.kill('SIGKILL');
    throw e;
  }
  channel.send(Msg.PLAN, encodePlanBody(plan));
  return followExec(o, channel);
}

/** The cgroup the exec'd process joins: the container's, or the sub-cgroups --cgroup names, which must exist. */
function joinedCgroup(paths: Record<string, string>, subCgroups: string[]): CgroupManager | undefined {
  const joined = subCgroupPaths(paths, subCgroups);
  if (Object.keys(joined).length === 0) return undefined;
  if (subCgroups.length) {
    for (const dir of new Set(Object.values(joined))) {
      if (!existsSync(dir)) throw new TsrunError(`--cgroup ${subCgroups.join(' ')}: the sub-cgroup ${dir} does not exist`);
    }
  }
  return cgroupManagerFromPaths(joined);
}

function planExec(o: ExecOptions): InitPlan {
  const dir = new ContainerDir(o.root, o.id);
  const rec = dir.load();
  const status = statusOf(rec, dir.fifo);
  if (status === 'stopped') throw new TsrunError(`cannot exec in a stopped container: ${o.id}`);
  if (status === 'creating') throw new TsrunError(`cannot exec in container ${o.id}: it is still being created`);
  if (status === 'paused' && !o.ignorePaused) {
    throw new TsrunError(`cannot exec in a paused container: ${o.id} (use --ignore-paused to override)`);
  }
  const spec = dir.readConfig();
  if (o.processFile) refuseWithProcessFile(o);
  const proc = o.processFile ? readProcessFile(o.processFile) : processFromFlags(spec.process ?? NO_PROCESS, o);
  if (o.processFile && o.tty !== undefined) proc.terminal = o.tty;

  const cgroup = joinedCgroup(rec.cgroupPaths, o.subCgroups ?? []);
  const { plan, warnings } = buildExecPlan({
    spec,
    pid: rec.pid,
    process: proc,
    opts: { id: rec.id, consoleSocket: o.consoleSocket, preserveFds: o.preserveFds, wait: !o.detach },
    host: readHostFacts(rec.rootfs),
    cgroupProcs: cgroup ? cgroup.procsFiles() : [],
    compileSeccomp: seccompCompiler(o.root),
  });
  for (const w of warnings) log.warn(w);
  return plan;
}

async function followExec(o: ExecOptions, channel: InitChannel): Promise<number> {
  faultPoint('exec:spawned');
  let pid = 0;
  const stopForwarding = o.detach ? () => undefined : forwardSignals(() => pid);
  try {
    const last = await followInit(channel, {
      on: {
        pid: (e) => {
          pid = e.pid;
          faultPoint('exec:pid');
        },
        // the pid file only once the process is set up (terminal sent and made the controlling one, credentials
        // applied), as create and runc do: a caller that sees it may use the process, and a failed exec leaves none
        ready: () => {
          if (o.pidFile) writeAtomic(o.pidFile, String(pid));
          if (!o.detach) return;
          channel.detach();
          return true;
        },
        exit: () => true,
      },
      closed: () =>
        pid > 0 && !o.detach
          ? new TsrunError(`lost track of the exec'd process ${pid} of container ${o.id}`)
          : new TsrunError(`exec in container ${o.id}: tsrun-init exited before the process started`),
    });
    return last?.kind === 'exit' ? exitCodeOf(last.status) : 0;
  } catch (e) {
    channel.child.kill('SIGKILL');
    sendSignal(pid, 'SIGKILL');
    throw e;
  } finally {
    stopForwarding();
  }
}
