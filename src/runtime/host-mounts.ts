// A container without a mount namespace mounts in the runtime's own namespace, all of it on or under one
// directory of its state (ContainerRecord.hostMounts, where the init bound the rootfs). Node cannot unmount, so
// `tsrun-init --umount-tree PATH` detaches everything there, deepest first; then the empty mount point goes.
import { rmdirSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerDir } from '../state/store';
import { initBinary } from './init-binary';

/** Unmounts the container's tree and removes its mount point; returns a problem, or undefined when all is gone. */
export function removeHostMounts(dir: ContainerDir, mountPoint: string): string | undefined {
  // the record names the directory create made: <root>/<id>/rootfs, resolved. Anything else is not ours to touch.
  if (!path.isAbsolute(mountPoint) || path.basename(mountPoint) !== 'rootfs' || path.basename(path.dirname(mountPoint)) !== dir.id) {
    return `container ${dir.id}: the recorded mount point "${mountPoint}" is not <root>/${dir.id}/rootfs: left alone`;
  }
  // loaded here: node:child_process costs Bun about 0.6 ms, and only containers without a mount namespace need it
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(initBinary(), ['--umount-tree', mountPoint], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) return `unmount the container's mounts under ${mountPoint}: ${r.error.message}`;
  if (r.status !== 0) return (r.stderr || `tsrun-init --umount-tree ${mountPoint}: exit ${r.status ?? r.signal}`).trim();
  try {
    rmdirSync(mountPoint);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return `remove the mount point ${mountPoint}: ${(e as Error).message}`;
  }
  return undefined;
}
