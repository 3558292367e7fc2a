// `checkpoint`: CRIU dumps the container's process tree into image files, as
// `runc checkpoint` has it dumped: frozen through the container's freezer,
// its bind mounts (and cgroup v1 views) named as external mounts, the init's
// stdio saved in descriptors.json. Unless --leave-running or --pre-dump,
// CRIU ends the processes and the container is deleted, as runc deletes it
// (so that a restore may take the same id; engines then call `delete --force`,
// which succeeds for a container that is gone).
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ContainerDir } from '../state/store';
import { statusOf } from '../state/status';
import { withLock } from '../state/lock';
import { TsrunError } from '../errors';
import { log } from '../log/logger';
import { destroyContainer } from './destroy';
import type { Spec } from '../spec/types';
import { DESCRIPTORS_FILE, bindMounts, criuFailure, externalCgroupMounts, parseMountinfo, sharedOpts, stdioLinks, type CriuFlags } from './criu';
import { CriuReqType } from './criu-proto';
import { CriuSession } from './criu-session';

export interface CheckpointOptions extends CriuFlags {
  root: string;
  id: string;
  leaveRunning?: boolean;
  preDump?: boolean;
  parentPath?: string;
}

export async function checkpointContainer(o: CheckpointOptions): Promise<void> {
  await withLock(o.root, o.id, () => checkpointLocked(o));
}

async function checkpointLocked(o: CheckpointOptions): Promise<void> {
  const dir = new ContainerDir(o.root, o.id);
  const rec = dir.load();
  const status = statusOf(rec, dir.fifo);
  if (status !== 'running' && status !== 'paused') throw new TsrunError(`container ${o.id} is not running: ${status}`);
  if (rec.hostMounts) throw new TsrunError(`container ${o.id} has no mount namespace: checkpoint needs one (CRIU dumps a mount namespace)`);
  const spec = dir.readConfig();
  for (const d of [o.imagePath, o.workPath]) {
    if (d) mkdirSync(d, { recursive: true, mode: 0o700 }); // a container may be checkpointed again into the same place
  }

  const logName = o.preDump ? 'pre-dump.log' : 'dump.log';
  const opts = { ...sharedOpts(o, logName), pid: rec.pid, root: rec.rootfs, leaveRunning: Boolean(o.leaveRunning) };
  const freezer = rec.cgroupPaths.freezer ?? (Object.keys(rec.cgroupPaths).length === 1 ? rec.cgroupPaths.unified : undefined);
  if (freezer) opts.freezeCgroup = freezer;
  if (o.parentPath) opts.parentImg = o.parentPath;
  if (o.preDump || o.parentPath) opts.trackMem = true;
  opts.external = (['network', 'pid'] as const).flatMap((ns) => externalNamespace(spec, ns, rec.pid));

  if (!o.preDump) {
    // mounts whose source is outside the container: CRIU saves their mount point under a key, and restore
    // maps the key to a source (the key is the mount point itself, as runc has it)
    const mounts = parseMountinfo(readFileSync(`/proc/${rec.pid}/mountinfo`, 'utf8'));
    const keys = new Set<string>([
      ...bindMounts(spec, rec.bundle).map((m) => m.dest),
      // with a cgroup namespace the container mounts its own cgroup filesystems, which CRIU dumps as they are
      ...((spec.linux?.namespaces ?? []).some((n) => n.type === 'cgroup') ? [] : externalCgroupMounts(mounts)),
      ...boundDevices(spec, mounts),
    ]);
    opts.extMnt = [...keys].map((k) => ({ key: k, val: k }));
    writeFileSync(path.join(o.imagePath, DESCRIPTORS_FILE), JSON.stringify(stdioLinks(rec.pid)), { mode: 0o600 });
  }

  const session = await CriuSession.start({ criu: o.criu, imagesDir: o.imagePath, workDir: o.workPath });
  try {
    const resp = await session.request({ type: o.preDump ? CriuReqType.PRE_DUMP : CriuReqType.DUMP, opts }, () => undefined);
    if (!resp.success) throw criuFailure(o, o.preDump ? 'pre-dump' : 'dump', resp, logName);
    await session.close();
    session.end();
  } catch (e) {
    await session.abandon();
    throw e;
  }
  if (o.leaveRunning || o.preDump) return;
  // CRIU killed the processes once the images were written: what is left is the container's record
  for (const p of await destroyContainer(dir, rec, { runPoststop: true })) log.warn(p);
}

/** A namespace the container joined by path (not its own): CRIU leaves it out, and restore joins it again. */
function externalNamespace(spec: Spec, type: 'network' | 'pid', pid: number): string[] {
  const ns = (spec.linux?.namespaces ?? []).find((n) => n.type === type);
  if (!ns?.path) return [];
  const file = type === 'network' ? 'net' : 'pid';
  const ino = statSync(`/proc/${pid}/ns/${file}`).ino;
  return [`${file}[${ino}]:${type === 'network' ? 'extRootNetNS' : 'extRootPidNS'}`];
}

/** Device nodes bound from the host (in a user namespace mknod is refused, so the init binds them). */
function boundDevices(spec: Spec, mounts: { mountPoint: string; fsType: string }[]): string[] {
  const wanted = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', ...(spec.linux?.devices ?? []).map((d) => d.path)]);
  return mounts.filter((m) => wanted.has(m.mountPoint) && m.fsType === 'devtmpfs').map((m) => m.mountPoint);
}
