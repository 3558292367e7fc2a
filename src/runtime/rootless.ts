// Rootless mode, as runc 1.1.5 decides it: --rootless true|false|auto (auto: a
// caller who is not root, or root inside a user namespace: with the cgroupfs
// driver always, with systemd when the user bus belongs to a user), and the
// default --root $XDG_RUNTIME_DIR/tsrun for a caller who is not root (runc:
// $XDG_RUNTIME_DIR/runc).
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError, sysError } from '../errors';

export const ROOT_DEFAULT = '/run/tsrun';

let userNs: boolean | undefined;

/** Whether this process is in a user namespace other than the initial one (uid_map not the identity); read once. */
export function inUserNamespace(): boolean {
  if (userNs !== undefined) return userNs;
  let text: string;
  try {
    text = readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return (userNs = false); // a kernel without user namespaces
  }
  const f = text.trim().split(/\s+/);
  return (userNs = !(f.length === 3 && f[0] === '0' && f[1] === '0' && f[2] === '4294967295'));
}

const euid = () => process.geteuid?.() ?? 0;

export type RootlessFlag = 'true' | 'false' | 'auto';

/** --rootless true|false|auto (absent = auto); anything else is an error, whatever the command. */
export function parseRootlessFlag(flag: unknown): RootlessFlag {
  const v = flag === undefined || flag === null || flag === '' ? 'auto' : String(flag);
  if (v === 'true' || v === 'false' || v === 'auto') return v;
  throw new TsrunError(`--rootless ${JSON.stringify(v)}: must be true, false or auto`);
}

/** Whether the container's cgroups are done as rootless; only create needs it (the busctl case costs a process). */
export function resolveRootless(flag: RootlessFlag, systemdCgroup: boolean, ownerUid: () => number = userBusOwnerUid): boolean {
  if (flag !== 'auto') return flag === 'true';
  if (euid() !== 0) return true;
  if (!inUserNamespace()) return false;
  // root in a user namespace: with cgroupfs its cgroups are likely not its own; with systemd, runc asks whom
  // the user bus belongs to (a systemd inside the namespace running as root is the root's own manager)
  return systemdCgroup ? ownerUid() !== 0 : true;
}

/** OwnerUID of the user bus, as runc reads it from `busctl --user status`; 0 when that fails (runc: the same). */
function userBusOwnerUid(): number {
  // loaded here only: this path is root in a user namespace with --systemd-cgroup
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('busctl', ['--user', '--no-pager', 'status'], { encoding: 'utf8', timeout: 10_000 });
  const m = /^OwnerUID=(\d+)$/m.exec(r.stdout ?? '');
  return m ? Number(m[1]) : 0;
}

/** runc's shouldHonorXDGRuntimeDir: not root, or root in a user namespace whose USER is not root. */
function honorXdg(): boolean {
  if (!process.env.XDG_RUNTIME_DIR) return false;
  if (euid() !== 0) return true;
  if (!inUserNamespace()) return false;
  return process.env.USER !== 'root';
}

/**
 * The state root when --root is not given. The XDG one is made here, 0700 with the sticky bit (the XDG spec:
 * files without it may be pruned), as runc does. A caller who is not root and has no XDG_RUNTIME_DIR gets
 * /run/tsrun, which it can rarely write: the error then says so.
 */
export function defaultRoot(): string {
  if (!honorXdg()) return ROOT_DEFAULT;
  const root = path.join(process.env.XDG_RUNTIME_DIR as string, 'tsrun');
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    chmodSync(root, 0o1700);
  } catch (e) {
    throw sysError(`create the state root ${root} (from XDG_RUNTIME_DIR; give --root to choose another)`, e);
  }
  return root;
}
