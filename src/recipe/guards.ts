// Recipes: what the planner learned from the host, as checks a replay makes before it does anything. The
// facts readHostFacts() reads once (capabilities, user namespace, LSMs, /proc/kcore, the runtime's cgroups)
// are checked as the files they come from; the ones the planner asks for (a bind source's kind, a file of the
// rootfs) are recorded as it asks. Any check that fails sends the create back to Bun, which plans afresh.
import { statSync } from 'node:fs';
import { readText as readOr, statKind, type HostFacts, type HostStat } from '../plan/host';
import { cgroupMountLines } from './cgroup-log';

export type Guard =
  /** The whole text of a file, or null: it must be missing (or unreadable) still. */
  | { kind: 'file'; path: string; text: string | null }
  /** One "Name:\tvalue" line of a /proc status file. */
  | { kind: 'status-field'; path: string; field: string; value: string }
  /** The cgroup mounts of /proc/self/mountinfo (cgroupMountLines). */
  | { kind: 'cgroup-mounts'; text: string }
  /** stat(2) of a host path, following symlinks: its kind, or null for none. */
  | { kind: 'stat'; path: string; is: HostStat['kind'] | null }
  /** A file of the rootfs, resolved inside it (openat2 RESOLVE_IN_ROOT): its text, or null for none. */
  | { kind: 'rootfs-file'; path: string; text: string | null }
  /** realpath(3) of a path: the rootfs as the bundle names it must still be the same directory. */
  | { kind: 'realpath'; path: string; resolved: string };

/** The host facts for the planner, with what it asks for recorded; `blocked` names a fact a replay cannot check. */
export function recordingHostFacts(host: HostFacts): { host: HostFacts; asked: Guard[]; blocked: string[] } {
  const asked: Guard[] = [];
  const blocked: string[] = [];
  return {
    asked,
    blocked,
    host: {
      ...host,
      statHost(p) {
        const st = host.statHost(p);
        asked.push({ kind: 'stat', path: p, is: st?.kind ?? null });
        return st;
      },
      readRootfsFile(p) {
        const text = host.readRootfsFile(p);
        asked.push({ kind: 'rootfs-file', path: p, text: text ?? null });
        return text;
      },
      numaNodes() {
        const n = host.numaNodes();
        asked.push({ kind: 'file', path: NODES, text: readText(NODES) });
        return n;
      },
      netDevices() {
        // /proc/self/net/dev holds counters that change all the time: nothing a replay could compare
        blocked.push('the network devices were read');
        return host.netDevices();
      },
    },
  };
}

const NODES = '/sys/devices/system/node/online';

/** The file's text, or null: what a guard records for a missing file. */
const readText = (path: string): string | null => readOr(path) ?? null;

/**
 * The checks for the facts readHostFacts() reads at start (host.ts): the same files, compared whole, except
 * /proc/self/status (only its CapBnd line) and /proc/self/mountinfo (only its cgroup mounts).
 */
export function fixedFactGuards(): Guard[] {
  const status = readText('/proc/self/status') ?? '';
  const capBnd = /^CapBnd:\s*([0-9a-fA-F]+)\s*$/m.exec(status)?.[1] ?? '';
  return [
    { kind: 'file', path: '/proc/sys/kernel/cap_last_cap', text: readText('/proc/sys/kernel/cap_last_cap') },
    { kind: 'status-field', path: '/proc/self/status', field: 'CapBnd', value: capBnd },
    { kind: 'file', path: '/proc/self/uid_map', text: readText('/proc/self/uid_map') },
    { kind: 'file', path: '/sys/module/apparmor/parameters/enabled', text: readText('/sys/module/apparmor/parameters/enabled') },
    { kind: 'stat', path: '/sys/kernel/security/apparmor', is: statKindOf('/sys/kernel/security/apparmor') },
    { kind: 'stat', path: '/sys/fs/selinux/enforce', is: statKindOf('/sys/fs/selinux/enforce') },
    { kind: 'stat', path: '/proc/kcore', is: statKindOf('/proc/kcore') },
    { kind: 'cgroup-mounts', text: cgroupMountLines(readText('/proc/self/mountinfo') ?? '') },
    { kind: 'file', path: '/proc/self/cgroup', text: readText('/proc/self/cgroup') },
  ];
}

function statKindOf(path: string): HostStat['kind'] | null {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? statKind(st) : null;
}
