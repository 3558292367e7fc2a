// linux.cgroupsPath -> one directory per hierarchy, as runc 1.1.5's cgroupfs
// driver does it:
//  - absolute ("/a/b"): under each hierarchy's mount point;
//  - relative ("a/b"): under our own cgroup in each v1 hierarchy (and in the
//    unified one on hybrid hosts); on pure v2 under the *parent* of our own
//    cgroup (runc: the current cgroup most likely has processes, so it cannot
//    get controllers enabled for children);
//  - absent: the container id, taken as a relative path.
// runc silently clamps ".." at the root; we reject a path that tries to climb
// above it, and a path that names the root itself.

import { TsrunError } from '../errors';
import type { Detected } from './detect';

export interface InnerPath {
  absolute: boolean;
  /** Cleaned, "/"-joined, without leading slash; never empty. */
  path: string;
}

export function cleanCgroupsPath(raw: string): InnerPath {
  const absolute = raw.startsWith('/');
  const out: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) {
        throw new TsrunError(`linux.cgroupsPath: ${JSON.stringify(raw)} escapes the cgroup root with ".."`);
      }
      out.pop();
      continue;
    }
    out.push(seg);
  }
  if (out.length === 0) {
    throw new TsrunError(`linux.cgroupsPath: ${JSON.stringify(raw)} does not name a cgroup below the root`);
  }
  return { absolute, path: out.join('/') };
}

function join(...parts: string[]): string {
  const segs = parts.flatMap((p) => p.split('/')).filter((s) => s !== '' && s !== '.');
  return '/' + segs.join('/');
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/**
 * The directories of the container's cgroup. Keys: each v1 controller name
 * (co-mounted controllers share a directory), "name=systemd", and "unified" for
 * the cgroup2 directory (on v2 the only key; on hybrid an extra one).
 */
export function resolvePaths(layout: Detected, id: string, cgroupsPath?: string): Record<string, string> {
  const given = cgroupsPath ? cgroupsPath : undefined;
  const inner = cleanCgroupsPath(given ?? id);
  if (given === undefined && id.includes('/')) {
    throw new TsrunError(`container id ${JSON.stringify(id)} cannot name a cgroup`);
  }
  const paths: Record<string, string> = {};
  if (layout.mode === 'v2') {
    const u = layout.unified!;
    paths.unified = inner.absolute ? join(u.mountPoint, inner.path) : join(u.mountPoint, dirname(u.ownPath), inner.path);
    return paths;
  }
  for (const h of layout.v1) {
    const dir = inner.absolute ? join(h.mountPoint, inner.path) : join(h.mountPoint, h.ownPath, inner.path);
    for (const c of h.controllers) {
      // Named hierarchies other than systemd's are someone else's business.
      if (c.startsWith('name=') && c !== 'name=systemd') continue;
      paths[c] = dir;
    }
  }
  if (layout.mode === 'hybrid' && layout.unified) {
    const u = layout.unified;
    paths.unified = inner.absolute ? join(u.mountPoint, inner.path) : join(u.mountPoint, u.ownPath, inner.path);
  }
  return paths;
}

/** Every distinct directory of a paths map, in a stable order. */
export function uniqueDirs(paths: Record<string, string>): string[] {
  return [...new Set(Object.values(paths))];
}
