// Facts about the host that some checks need (does root.path exist, which
// mappings has the user namespace a path names, is a network namespace the
// runtime's own). They come through HostLookups so that the rules are testable
// without root; realHost reads them from this machine.

import { readFileSync, statSync } from 'node:fs';
import type { IDMapping } from '../types';

export type PathKind = 'directory' | 'other' | 'missing';

export interface HostLookups {
  /** What is at an absolute path (following symlinks). */
  pathKind(p: string): PathKind;
  /**
   * The id mappings of the user namespace a path names, when they can be
   * read without joining it (/proc/PID/ns/user → /proc/PID/{uid,gid}_map).
   */
  userNamespaceMappings(nsPath: string): { uid: IDMapping[]; gid: IDMapping[] } | undefined;
  /** Whether a network namespace path is the runtime's own; an Error when it cannot be told. */
  isRuntimeNetNamespace(nsPath: string): boolean | Error;
}

function parseIdMap(text: string): IDMapping[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every((n) => Number.isInteger(n)))
    .map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
}

export const realHost: HostLookups = {
  pathKind(p) {
    try {
      return statSync(p).isDirectory() ? 'directory' : 'other';
    } catch {
      return 'missing';
    }
  },
  userNamespaceMappings(nsPath) {
    const m = /^(\/proc\/(?:\d+|self|thread-self)(?:\/task\/\d+)?)\/ns\/user$/.exec(nsPath);
    if (!m) return undefined;
    try {
      return {
        uid: parseIdMap(readFileSync(`${m[1]}/uid_map`, 'utf8')),
        gid: parseIdMap(readFileSync(`${m[1]}/gid_map`, 'utf8')),
      };
    } catch {
      return undefined;
    }
  },
  isRuntimeNetNamespace(nsPath) {
    try {
      const own = statSync('/proc/self/ns/net');
      const other = statSync(nsPath);
      return own.dev === other.dev && own.ino === other.ino;
    } catch (e) {
      return e as Error;
    }
  },
};
