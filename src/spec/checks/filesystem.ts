// The container's filesystem: root, mounts, and the paths masked or made
// read-only in it. Citations as in index.ts.

import * as path from 'node:path';
import type { PathSegment } from '../problem';
import type { HostLookups } from './host';
import { checkIdMappings, type NsTable } from './namespaces';
import { Collector, arr, isAbs, isObj, isStr, quote, type Obj } from './shared';

/** The rootfs as an absolute path: root.path, relative to the bundle when not absolute (config.md#root). */
export function resolveRootfs(rootPath: string, bundleDir: string): string {
  return path.resolve(bundleDir, rootPath);
}

/**
 * config.md#root: root is REQUIRED except on Windows; path is absolute or
 * relative to the bundle; "A directory MUST exist at the path".
 */
export function checkRoot(spec: Obj, bundleDir: string | undefined, host: HostLookups, c: Collector): void {
  if (spec.root === undefined) {
    c.error(['root'], 'is required');
    return;
  }
  if (!isObj(spec.root) || !isStr(spec.root.path)) return;
  const p = spec.root.path;
  if (p === '') {
    c.error(['root', 'path'], 'must not be empty');
    return;
  }
  if (bundleDir === undefined) return;
  const abs = resolveRootfs(p, bundleDir);
  const kind = host.pathKind(abs);
  if (kind === 'missing') c.error(['root', 'path'], `no such directory: ${abs}`);
  else if (kind === 'other') c.error(['root', 'path'], `not a directory: ${abs}`);
}

// --- mounts -------------------------------------------------------------------

/**
 * config.md#mounts. destination: since runtime-spec 1.2.0 a relative Linux
 * destination is allowed but deprecated (taken relative to "/"), and runc only
 * warns about it; so does tsrun (the planner makes it absolute).
 * uidMappings/gidMappings: "If specified, it MUST be specified along with"
 * the other. config.md#linux-mount-options idmap/ridmap: with no mappings and
 * no user namespace "an error MUST be returned"; mappings without either
 * option SHOULD name one of them (a warning). runc specconv: no NUL bytes.
 */
export function checkMounts(spec: Obj, ns: NsTable, c: Collector): void {
  arr(spec.mounts).forEach((m, i) => {
    if (!isObj(m)) return;
    const at: PathSegment[] = ['mounts', i];
    if (isStr(m.destination)) {
      if (m.destination === '') c.error([...at, 'destination'], 'must not be empty');
      else if (!isAbs(m.destination)) c.warn([...at, 'destination'], `is not absolute (got ${quote(m.destination)}): deprecated, taken as relative to /`);
    }
    for (const k of ['destination', 'source', 'type']) {
      if (isStr(m[k]) && (m[k] as string).includes('\0')) c.error([...at, k], 'must not contain a NUL byte');
    }
    const hasUid = m.uidMappings !== undefined;
    const hasGid = m.gidMappings !== undefined;
    if (hasUid && !hasGid) c.error([...at, 'gidMappings'], 'is required with uidMappings');
    if (hasGid && !hasUid) c.error([...at, 'uidMappings'], 'is required with gidMappings');
    checkIdMappings(m.uidMappings, [...at, 'uidMappings'], c);
    checkIdMappings(m.gidMappings, [...at, 'gidMappings'], c);
    const options = arr(m.options).filter(isStr);
    const idmap = options.find((o) => o === 'idmap' || o === 'ridmap');
    if (idmap && !hasUid && !hasGid && !ns.has('user')) {
      c.error([...at, 'options'], `"${idmap}" needs uidMappings and gidMappings on the mount, or a user namespace to take them from`);
    }
    if ((hasUid || hasGid) && !idmap) {
      c.warn([...at, 'options'], 'should contain "idmap" or "ridmap" when the mount has uidMappings/gidMappings');
    }
  });
}

// --- maskedPaths, readonlyPaths ------------------------------------------------

/**
 * config-linux.md#masked-paths, #readonly-paths: "The values MUST be absolute
 * paths in the container namespace". runc's validator also refuses them without
 * a mount namespace ("unable to restrict sys entries without a private MNT
 * namespace"); tsrun then makes them, like every mount of such a container,
 * under its own bind of the rootfs (src/plan/build.ts planHostMounts), never
 * on the host's paths.
 */
export function checkPathLists(linux: Obj, c: Collector): void {
  for (const k of ['maskedPaths', 'readonlyPaths']) {
    arr(linux[k]).forEach((p, i) => {
      if (isStr(p) && !isAbs(p)) c.error(['linux', k, i], `must be an absolute path (got ${quote(p)})`);
    });
  }
}
