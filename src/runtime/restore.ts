// `restore`: a new container from a bundle and the CRIU images of a
// checkpoint, as `runc restore` makes it: its cgroup first (created with the
// config's limits; CRIU starts in it, and --cgroup-root maps the dumped
// cgroups there), the rootfs bound on a private mount point for CRIU's --root,
// the external mounts mapped to their sources, the saved stdio pipes
// replaced by ours. CRIU then recreates the namespaces and the processes.
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { loadBundle } from '../spec/load';
import { cgroupManager, type CgroupManager } from '../cgroups/manager';
import { preload } from '../cgroups/lazy';
import { withDefaultDeviceRules } from '../cgroups/device-rules';
import { ContainerDir, checkId, writeAtomic } from '../state/store';
import { readProcStat } from '../state/proc';
import { withLock } from '../state/lock';
import { TsrunError } from '../errors';
import { log } from '../log/logger';
import { newContainerRecord } from '../state/new-record';
import type { Spec } from '../spec/types';
import { destroyContainer } from './destroy';
import { removeHostMounts } from './host-mounts';
import { bindMounts, inheritPipes, parseMountinfo, runCriu, sharedArgs, type CriuFlags } from './criu';

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

export async function restoreContainer(o: RestoreOptions): Promise<void> {
  const id = checkId(o.id);
  if (!o.detach) throw new TsrunError('restore: only --detach (-d) is supported: the restored process is no child of tsrun, which could not report its exit status');
  if (o.consoleSocket) throw new TsrunError('restore: --console-socket is not supported: a new terminal needs CRIU\'s RPC (checkpoint refuses a container with a terminal for the same reason)');
  if (o.noPivot) throw new TsrunError('restore: --no-pivot is not supported: CRIU switches into the root itself, with pivot_root');
  if (o.lsmProfile || o.lsmMountContext) throw new TsrunError('restore: --lsm-profile and --lsm-mount-context: this host has no AppArmor or SELinux');
  if (o.systemdCgroup) throw new TsrunError('restore: --systemd-cgroup is not supported yet');
  if (!existsSync(path.join(o.imagePath, 'inventory.img'))) throw new TsrunError(`restore: no CRIU images in ${o.imagePath} (inventory.img is missing)`);
  const { spec, bundle, rootfs, warnings } = loadBundle(o.bundle, { requireProcess: false });
  for (const w of warnings) log.warn(w);
  if (!(spec.linux?.namespaces ?? []).some((n) => n.type === 'mount' && !n.path)) {
    throw new TsrunError('restore: the config has no mount namespace of its own: CRIU restores one');
  }
  for (const type of ['network', 'pid'] as const) {
    const ns = (spec.linux?.namespaces ?? []).find((n) => n.type === type);
    if (ns?.path) throw new TsrunError(`restore: a ${type} namespace joined by path (${ns.path}) is not supported yet`);
  }
  await withLock(o.root, id, () => restoreLocked(o, id, spec, bundle, rootfs));
}

async function restoreLocked(o: RestoreOptions, id: string, spec: Spec, bundle: string, rootfs: string): Promise<void> {
  const dir = new ContainerDir(o.root, id);
  dir.createExclusive();
  const record = newContainerRecord(id, spec, bundle, rootfs);
  let cgroup: CgroupManager | undefined;
  // the mount point a container without a mount namespace uses: delete knows how to unmount and remove it
  const criuRoot = path.join(realpathSync(dir.dir), path.basename(dir.mountPoint));
  let mounted = false;
  try {
    cgroup = cgroupManager({ id, cgroupsPath: spec.linux?.cgroupsPath });
    record.cgroupPaths = cgroup.paths;
    dir.write(record); // delete --force finds the cgroup from here on
    dir.writeConfig(spec);
    await preload(...(cgroup.version === 'v1' ? (['v1Cpuset', 'v1Resources'] as const) : (['v2Create', 'v2Resources'] as const)));
    const given = spec.linux?.resources ?? {};
    const resources = { ...given, devices: withDefaultDeviceRules(given.devices, spec.linux?.devices) };
    await cgroup.create({ resources });
    cgroup.apply(resources);

    // CRIU wants its root to be a mount point whose parent is not overmounted
    mkdirSync(criuRoot, { mode: 0o700 });
    mount(['--rbind', rootfs, criuRoot]);
    mounted = true;
    mount(['--make-rprivate', criuRoot]);

    const pidFile = path.join(dir.dir, 'restore.pid');
    const args = ['--root', criuRoot, '--restore-detached', '--pidfile', pidFile, ...sharedArgs(o), ...inheritPipes(o.imagePath)];
    args.push(...extMountArgs(spec, bundle, cgroup.paths), ...cgroupRootArgs(cgroup.paths));
    // criu starts in the container's cgroups: with --manage-cgroups-mode ignore the processes stay there
    const join = 'for f in $TSRUN_CGROUP_PROCS; do echo 0 > "$f" || exit 125; done; exec "$@"';
    runCriu(o, 'restore', args, {
      logName: 'restore.log',
      stdio: 'inherit',
      prefix: ['/bin/sh', '-c', join, 'sh'],
      env: { TSRUN_CGROUP_PROCS: cgroup.procsFiles().join(' ') },
    });
    record.pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!(record.pid > 0)) throw new TsrunError(`restore: criu wrote no pid to ${pidFile}`);
    record.pidStartTime = readProcStat(record.pid)?.startTime;
    record.status = 'created'; // no exec fifo: statusOf() derives "running"
    delete record.creator;
    dir.write(record);
    unmountRoot(dir, criuRoot);
    mounted = false;
    if (o.pidFile) writeAtomic(o.pidFile, String(record.pid));
  } catch (e) {
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
 * The keys checkpoint gave the external mounts, mapped to this host's sources: a bind mount to its source, a
 * cgroup v1 view to the new container's directory in that hierarchy, a device to the host's node.
 */
function extMountArgs(spec: Spec, bundle: string, cgroupPaths: Record<string, string>): string[] {
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
  const args: string[] = [];
  for (const [k, v] of map) args.push('--ext-mount-map', `${k}:${v}`);
  return args;
}

/**
 * CRIU recreates the dumped cgroups below --cgroup-root, as runc has it: each hierarchy's root is the new
 * container's directory there (relative to the hierarchy's mount), not the checkpointed container's.
 */
function cgroupRootArgs(cgroupPaths: Record<string, string>): string[] {
  const hostMounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2');
  const relative = (dirPath: string): string | undefined => {
    const host = hostMounts
      .filter((m) => dirPath === m.mountPoint || dirPath.startsWith(`${m.mountPoint}/`))
      .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
    return host ? path.posix.join(host.root, dirPath.slice(host.mountPoint.length)) || '/' : undefined;
  };
  const args: string[] = [];
  for (const [ctrl, dirPath] of Object.entries(cgroupPaths)) {
    const rel = relative(dirPath);
    if (rel === undefined) continue;
    // the cgroup2 hierarchy (alone, or beside v1 ones) is CRIU's default root
    if (ctrl === 'unified') args.unshift('--cgroup-root', rel);
    else args.push('--cgroup-root', `${ctrl}:${rel}`);
  }
  return args;
}

function mount(args: string[]): void {
  const r = spawnSync('mount', args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) throw new TsrunError(`mount ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

function unmountRoot(dir: ContainerDir, criuRoot: string): void {
  const problem = removeHostMounts(dir, criuRoot);
  if (problem) throw new TsrunError(problem);
}
