// Where tsrun-init is: its own module, so that delete (which runs
// `tsrun-init --umount-tree`) does not load the init channel.
import * as path from 'node:path';

/**
 * The native init sits next to the runtime: build/tsrun-init beside the
 * bundle (Node) or beside the compiled executable (Bun, whose __dirname is
 * the directory it was built in, so the executable's own path is used).
 */
export function initBinary(): string {
  const dir = process.versions.bun ? path.dirname(process.execPath) : __dirname;
  return path.join(dir, 'tsrun-init');
}
