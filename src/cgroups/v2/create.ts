// Creating a cgroup v2 directory: mkdir -p, and on the way down enable every
// available controller in each ancestor's cgroup.subtree_control, as runc
// does (on hybrid hosts only what a resource needs, when it needs it).
// Enabling is best effort: a parent with processes refuses domain controllers
// (EBUSY, "no internal processes"); the failure is remembered, and a resource
// that needs the controller fails later with an error that says why.

import type { CgroupFs } from '../fs';
import { cannotApply, parentDir, readControllers, reasonOf, tryRead } from '../util';

/** The root of the cgroup2 mount `dir` is in: the nearest ancestor without cgroup.type. */
export function findCgroup2Root(fs: CgroupFs, dir: string): string {
  let d = dir;
  while (d !== '/' && (fs.exists(`${d}/cgroup.type`) || !fs.exists(d))) d = parentDir(d);
  return d;
}

/** controller -> why enabling it failed somewhere on the way to `leaf`. */
export type EnableFailures = Map<string, string>;

/**
 * Enable controllers in the cgroup.subtree_control of every ancestor of
 * `leaf` below and including `root`, top-down: all the ancestor has, or only
 * `wanted`. Best effort; returns what failed and why.
 */
export function enableControllers(fs: CgroupFs, root: string, leaf: string, wanted?: string[]): EnableFailures {
  const rel = leaf.slice(root.length).split('/').filter(Boolean);
  const failures: EnableFailures = new Map();
  let cur = root;
  for (let i = 0; i < rel.length; i++) {
    const have = readControllers(fs, cur).filter((c) => !wanted || wanted.includes(c));
    const enabled = new Set(readControllers(fs, cur, 'cgroup.subtree_control'));
    for (const c of have) {
      if (enabled.has(c)) continue;
      try {
        fs.writeFile(`${cur}/cgroup.subtree_control`, `+${c}`);
      } catch (e) {
        const reason = reasonOf(e);
        failures.set(c, `enabling it in ${cur}/cgroup.subtree_control failed: ${reason}`);
      }
    }
    cur = `${cur}/${rel[i]}`;
    if (!fs.exists(cur)) fs.mkdirp(cur);
  }
  return failures;
}

/** mkdir -p `leaf`, enabling every available controller on the way down (as runc). */
export function createV2(fs: CgroupFs, leaf: string, mountPoint?: string): EnableFailures {
  const root = mountPoint ?? findCgroup2Root(fs, parentDir(leaf));
  return enableControllers(fs, root, leaf);
}

/** Throws "cannot apply" for the first of `fields` when `ctrl` is not in the cgroup. */
export function requireController(
  fs: CgroupFs,
  dir: string,
  ctrl: string,
  fields: string[],
  failures?: EnableFailures,
): void {
  if (fields.length === 0) return;
  const have = readControllers(fs, dir);
  if (have.includes(ctrl)) return;
  const why = failures?.get(ctrl);
  const exists = tryRead(fs, `${dir}/cgroup.controllers`) !== undefined;
  throw cannotApply(
    fields[0],
    `the ${ctrl} controller is not available in ${dir}` +
      (exists ? ` (cgroup.controllers: ${have.join(' ') || 'none'})` : ' (no such cgroup)') +
      (why ? `; ${why}` : ''),
  );
}
