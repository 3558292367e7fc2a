// How a rootless create gets its user namespace maps written (native/usermaps.c does it), as runc 1.1.5:
//  - one line mapping the caller's own uid (gid) is written straight to /proc/PID/uid_map (gid_map); a
//    direct gid map needs "deny" in /proc/PID/setgroups first (the kernel's rule for an unprivileged writer);
//  - anything else is written by newuidmap/newgidmap, found in PATH, which allow the caller's own id and
//    the ranges /etc/subuid and /etc/subgid give it.
// Checked here first, so that a map the user is not allowed fails with the field and the ranges named,
// before any process is cloned.
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { IDMapping, Spec } from '../spec/types';

export interface Range {
  start: number;
  count: number;
}

export interface RootlessIdHost {
  uid: number;
  gid: number;
  /** The caller's user name, for /etc/subuid lines that name it. */
  user?: string;
  subuid: string;
  subgid: string;
  /** An executable by name, from PATH (undefined when absent). */
  which(name: string): string | undefined;
}

export interface IdMapWay {
  setgroupsDeny?: boolean;
  uidMapHelper?: string;
  gidMapHelper?: string;
}

/** The caller's ranges in an /etc/subuid-style text (lines "name-or-id:start:count"). */
export function subRanges(text: string, user: string | undefined, id: number): Range[] {
  const out: Range[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length !== 3 || f[0].startsWith('#')) continue;
    if (f[0] !== user && f[0] !== String(id)) continue;
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (Number.isInteger(start) && Number.isInteger(count) && count > 0) out.push({ start, count });
  }
  return out;
}

const show = (rs: Range[]) => rs.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ') || 'none';
const ownOnly = (maps: IDMapping[], id: number) => maps.length === 1 && maps[0].hostID === id && maps[0].size === 1;

function checkMaps(field: string, maps: IDMapping[], id: number, ranges: Range[], file: string, kind: string): void {
  maps.forEach((m, i) => {
    if (m.hostID === id && m.size === 1) return;
    const end = m.hostID + m.size;
    if (ranges.some((r) => m.hostID >= r.start && end <= r.start + r.count)) return;
    throw new TsrunError(
      `$.linux.${field}[${i}]: host ${kind}s ${m.hostID}-${end - 1} are not allowed to this user: only its own ${kind} ${id} ` +
        `and its ranges in ${file} (${show(ranges)})`,
    );
  });
}

function helper(name: string, field: string, host: RootlessIdHost): string {
  const found = host.which(name);
  if (!found) {
    throw new TsrunError(
      `$.linux.${field}: a rootless map of more than the user's own id needs ${name} (Debian package uidmap), which is not in PATH`,
    );
  }
  return found;
}

/** The way to write a new user namespace's maps for a caller who is not root; throws on a map it may not have. */
export function rootlessIdMapWay(spec: Spec, host: RootlessIdHost): IdMapWay {
  const linux = spec.linux ?? {};
  const userNs = (linux.namespaces ?? []).find((n) => n.type === 'user');
  if (!userNs) {
    throw new TsrunError(
      '$.linux.namespaces: a rootless container needs a user namespace ({"type": "user"} with uidMappings and gidMappings; `tsrun spec --rootless` writes one)',
    );
  }
  if (userNs.path) return {}; // joined: it keeps its maps
  const uids = linux.uidMappings ?? [];
  const gids = linux.gidMappings ?? [];
  checkMaps('uidMappings', uids, host.uid, subRanges(host.subuid, host.user, host.uid), '/etc/subuid', 'uid');
  checkMaps('gidMappings', gids, host.gid, subRanges(host.subgid, host.user, host.gid), '/etc/subgid', 'gid');
  const way: IdMapWay = {};
  if (!ownOnly(uids, host.uid)) way.uidMapHelper = helper('newuidmap', 'uidMappings', host);
  if (!ownOnly(gids, host.gid)) way.gidMapHelper = helper('newgidmap', 'gidMappings', host);
  else {
    way.setgroupsDeny = true;
    if (spec.process?.user?.additionalGids?.length) {
      throw new TsrunError(
        '$.process.user.additionalGids: a rootless container whose gid map is the user\'s own gid alone cannot set groups ' +
          '(setgroups is denied in it); map a range from /etc/subgid',
      );
    }
  }
  return way;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function whichInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** This host's facts for rootlessIdMapWay. */
export function readRootlessIdHost(): RootlessIdHost {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined; // no passwd entry: only lines by uid match
  }
  return {
    uid: process.geteuid?.() ?? 0,
    gid: process.getegid?.() ?? 0,
    user,
    subuid: readOr('/etc/subuid'),
    subgid: readOr('/etc/subgid'),
    which: whichInPath,
  };
}
