// `restore`: a new container from a bundle and the CRIU images of a
// checkpoint, as `runc restore` makes it: its cgroup first (created with the
// config's limits; CRIU starts in it, and cg_root maps the dumped cgroups
// there; with --systemd-cgroup the unit is started with criu's pid), the
// rootfs bound on a private mount point for CRIU's root, the external mounts
// mapped to their sources, the saved stdio pipes replaced by ours, a new
// terminal's master sent to --console-socket. CRIU then recreates the
// namespaces and the processes; the prestart and createRuntime hooks run at
// its setup-namespaces notification, as under runc. In the foreground the
// restored process is a child of tsrun-init --criu (rst_sibling), which
// reports its exit; then the container is deleted, as after `run`.
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { loadBundle } from '../spec/load';
import { openCgroupManager, type CgroupManager } from '../cgroups/manager';
import { preload } from '../cgroups/lazy';
import { withDefaultDeviceRules } from '../cgroups/device-rules';
import { ContainerDir, checkId, writeAtomic, type ContainerRecord } from '../state/store';
import { readProcStat } from '../state/proc';
import { withLock } from '../state/lock';
import { TsrunError } from '../errors';
import { log } from '../log/logger';
import { newContainerRecord } from '../state/new-record';
import type { Spec } from '../spec/types';
import { runHooks } from '../hooks/run';
import { destroyContainer } from './destroy';
import { deleteContainer } from './delete';
import { hookState } from './hook-state';
import { removeHostMounts } from './host-mounts';
import { exitCodeOf } from './run';
import { forwardSignals } from './signals';
import { bindMounts, criuFailure, inheritPipes, parseMountinfo, sharedOpts, type CriuFlags } from './criu';
import { CriuReqType } from './criu-proto';
import { CriuSession } from './criu-session';

export interface RestoreOptions extends CriuFlags {
  root: string;
  id: string;
  bundle: string;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  lsmProfile?: string;
  lsmMountContext?: string;
  systemdCgroup?: boolean;
}

/** Resolves with the exit code: 0 detached, else the restored process's own (128+N after signal N). */
export async function restoreContainer(o: RestoreOptions): Promise<number> {
  const id = checkId(o.id);
  if (o.noPivot) throw new TsrunError('restore: --no-pivot is not supported: CRIU switches into the root itself, with pivot_root');
  if (o.lsmProfile || o.lsmMountContext) throw new TsrunError('restore: --lsm-profile and --lsm-mount-context: this host has no AppArmor or SELinux');
  if (!existsSync(path.join(o.imagePath, 'inventory.img'))) throw new TsrunError(`restore: no CRIU images in ${o.imagePath} (inventory.img is missing)`);
  const { spec, bundle, rootfs, warnings } = loadBundle(o.bundle, { requireProcess: false });
  for (const w of warnings) log.warn(w);
  const terminal = Boolean(spec.process?.terminal);
  // runc's rules: a new terminal needs somewhere to go, and a socket a terminal to send
  if (terminal && o.detach && !o.consoleSocket) throw new TsrunError('restore: process.terminal is true: --detach needs --console-socket, where the new terminal\'s master goes');
  if (!terminal && o.consoleSocket) throw new TsrunError('restore: --console-socket is given but process.terminal is false in the config');
  if (!(spec.linux?.namespaces ?? []).some((n) => n.type === 'mount' && !n.path)) {
    throw new TsrunError('restore: the config has no mount namespace of its own: CRIU restores one');
  }
  const { record, session } = await withLock(o.root, id, () => restoreLocked(o, id, spec, bundle, rootfs, terminal));
  if (o.detach) {
    session.end(); // the restored process goes to our parent's subreaper, as a detached runc's does
    return 0;
  }
  const stopForwarding = forwardSignals(() => record.pid);
  try {
    return exitCodeOf(await session.waitRestored(record.pid));
  } finally {
    stopForwarding();
    session.end();
    await deleteContainer(o.root, id, true);
  }
}

async function restoreLocked(
  o: RestoreOptions,
  id: string,
  spec: Spec,
  bundle: string,
  rootfs: string,
  terminal: boolean,
): Promise<{ record: ContainerRecord; session: CriuSession }> {
  const dir = new ContainerDir(o.root, id);
  dir.createExclusive();
  const record = newContainerRecord(id, spec, bundle, rootfs);
  let cgroup: CgroupManager | undefined;
  let session: CriuSession | undefined;
  // the mount point a container without a mount namespace uses: delete knows how to unmount and remove it
  const criuRoot = path.join(realpathSync(dir.dir), path.basename(dir.mountPoint));
  let mounted = false;
  try {
    cgroup = await openCgroupManager({ id, cgroupsPath: spec.linux?.cgroupsPath, systemd: o.systemdCgroup });
    if (cgroup.systemdUnit) record.systemd = cgroup.systemdUnit; // saved before the unit exists: delete --force finds it
    record.cgroupPaths = cgroup.paths;
    dir.write(record); // delete --force finds the cgroup from here on
    dir.writeConfig(spec);
    await preload(...(cgroup.version === 'v1' ? (['v1Cpuset', 'v1Resources'] as const) : (['v2Create', 'v2Resources'] as const)));
    const given = spec.linux?.resources ?? {};
    const resources = { ...given, devices: withDefaultDeviceRules(given.devices, spec.linux?.devices) };
    const byUnit = cgroup.systemdUnit !== undefined;
    if (!byUnit) {
      await cgroup.create({ resources });
      cgroup.apply(resources);
    }

    // CRIU wants its root to be a mount point whose parent is not overmounted
    mkdirSync(criuRoot, { mode: 0o700 });
    mount(['--rbind', rootfs, criuRoot]);
    mounted = true;
    mount(['--make-rprivate', criuRoot]);

    const logName = 'restore.log';
    const opts = {
      ...sharedOpts(o, logName),
      root: criuRoot,
      rstSibling: true,
      evasiveDevices: true,
      inheritFd: inheritPipes(o.imagePath),
      extMnt: extMounts(spec, bundle, cgroup.paths),
      cgRoot: cgroupRoots(cgroup.paths),
    };
    session = await CriuSession.start({
      criu: o.criu,
      imagesDir: o.imagePath,
      workDir: o.workPath,
      consoleSocket: o.consoleSocket,
      keepMaster: terminal && !o.consoleSocket,
      inherit: externalNamespaces(spec),
    });
    opts.inheritFd.push(...session.inherited);
    // criu starts in the container's cgroups (a systemd unit is started with it), so that what it restores
    // is born there; with --manage-cgroups-mode ignore the processes stay where criu is
    if (byUnit) {
      await cgroup.create({ pid: session.criuPid, resources });
      cgroup.apply(resources);
    }
    cgroup.addProcess(session.criuPid);
    const resp = await session.request({ type: CriuReqType.RESTORE, opts }, (script, pid) => {
      if (script !== 'setup-namespaces' || !spec.hooks) return;
      const state = hookState({ ...record, pid }, 'creating');
      runHooks('prestart', spec.hooks.prestart, state);
      runHooks('createRuntime', spec.hooks.createRuntime, state);
    });
    if (!resp.success) throw criuFailure(o, 'restore', resp, logName);
    record.pid = resp.restorePid ?? 0;
    if (!(record.pid > 0)) throw new TsrunError('restore: criu answered without the restored pid');
    record.pidStartTime = readProcStat(record.pid)?.startTime;
    record.status = 'created'; // no exec fifo: statusOf() derives "running"
    delete record.creator;
    dir.write(record);
    await session.close();
    unmountRoot(dir, criuRoot);
    mounted = false;
    if (o.pidFile) writeAtomic(o.pidFile, String(record.pid));
    return { record, session };
  } catch (e) {
    await session?.abandon();
    try {
      if (mounted) unmountRoot(dir, criuRoot);
      else if (existsSync(criuRoot)) rmdirSync(criuRoot);
      if (record.pid <= 0) record.status = 'created'; // nothing runs: destroy finds no process to wait for
      const problems = await destroyContainer(dir, record, { runPoststop: false, cgroup });
      for (const p of problems) log.warn(`cleanup after failed restore: ${p}`);
    } catch (cleanup) {
      log.warn(`cleanup after failed restore: ${(cleanup as Error).message}`);
    }
    throw e;
  }
}

/**
 * A network or pid namespace the config joins by path was left out of the images (checkpoint named it external,
 * under runc's keys): CRIU restores into the one at the path, which must exist.
 */
function externalNamespaces(spec: Spec): { key: string; file: string; what: string }[] {
  const keys = { network: 'extRootNetNS', pid: 'extRootPidNS' } as const;
  return (spec.linux?.namespaces ?? [])
    .filter((n): n is typeof n & { type: keyof typeof keys; path: string } => (n.type === 'network' || n.type === 'pid') && Boolean(n.path))
    .map((n) => ({ key: keys[n.type], file: n.path, what: `the ${n.type} namespace to join (linux.namespaces, type ${n.type}):` }));
}

/**
 * The keys checkpoint gave the external mounts, mapped to this host's sources: a bind mount to its source, a
 * cgroup v1 view to the new container's directory in that hierarchy, a device to the host's node.
 */
function extMounts(spec: Spec, bundle: string, cgroupPaths: Record<string, string>): { key: string; val: string }[] {
  const map = new Map<string, string>();
  for (const m of bindMounts(spec, bundle)) map.set(m.dest, m.source);
  const cgroupMount = (spec.mounts ?? []).find((m) => m.type === 'cgroup');
  const cgroupns = (spec.linux?.namespaces ?? []).some((n) => n.type === 'cgroup');
  if (cgroupMount && !cgroupns) {
    // the init mounts each host hierarchy at <destination>/<its directory name>
    const hostMounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2');
    for (const dirPath of new Set(Object.values(cgroupPaths))) {
      const host = hostMounts.find((m) => dirPath === m.mountPoint || dirPath.startsWith(`${m.mountPoint}/`));
      if (host) map.set(path.posix.join(cgroupMount.destination, path.basename(host.mountPoint)), dirPath);
    }
  }
  for (const d of ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', ...(spec.linux?.devices ?? []).map((x) => x.path)]) {
    if (!map.has(d)) map.set(d, d);
  }
  return [...map].map(([key, val]) => ({ key, val }));
}

/**
 * CRIU recreates the dumped cgroups below --cgroup-root, as runc has it: each hierarchy's root is the new
 * container's directory there (relative to the hierarchy's mount), not the checkpointed container's.
 */
function cgroupRoots(cgroupPaths: Record<string, string>): { ctrl?: string; path: string }[] {
  const hostMounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2');
  const relative = (dirPath: string): string | undefined => {
    const host = hostMounts
      .filter((m) => dirPath === m.mountPoint || dirPath.startsWith(`${m.mountPoint}/`))
      .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
    return host ? path.posix.join(host.root, dirPath.slice(host.mountPoint.length)) || '/' : undefined;
  };
  const roots: { ctrl?: string; path: string }[] = [];
  for (const [ctrl, dirPath] of Object.entries(cgroupPaths)) {
    const rel = relative(dirPath);
    if (rel === undefined) continue;
    // the cgroup2 hierarchy (alone, or beside v1 ones) is CRIU's default root
    if (ctrl === 'unified') roots.unshift({ path: rel });
    else roots.push({ ctrl, path: rel });
  }
  return roots;
}

function mount(args: string[]): void {
  const r = spawnSync('mount', args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) throw new TsrunError(`mount ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

function unmountRoot(dir: ContainerDir, criuRoot: string): void {
  const problem = removeHostMounts(dir, criuRoot);
  if (problem) throw new TsrunError(problem);
}
