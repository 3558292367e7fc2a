// The devices a config gives the container: device nodes (linux.devices) and
// network interfaces moved into its network namespace (linux.netDevices).
// Citations as in index.ts.

import * as path from 'node:path';
import { jsonPath, type PathSegment } from '../problem';
import type { NsTable } from './namespaces';
import { Collector, arr, isAbs, isNum, isObj, isStr, quote, type Obj } from './shared';

/**
 * config-linux.md#devices: path is the "full path to device inside container"
 * (absolute; the spec does not confine it to /dev, nor does runc); major and
 * minor are "REQUIRED unless type is p" (a fifo has none: absent or 0); "The
 * same type, major and minor SHOULD NOT be used for multiple devices" (a
 * warning). Two devices cannot share a path.
 */
export function checkDevices(linux: Obj, c: Collector): void {
  const paths = new Map<string, number>();
  const numbers = new Map<string, number>();
  arr(linux.devices).forEach((d, i) => {
    if (!isObj(d)) return;
    const at: PathSegment[] = ['linux', 'devices', i];
    if (isStr(d.path)) {
      if (!isAbs(d.path)) c.error([...at, 'path'], `must be an absolute path (got ${quote(d.path)})`);
      const norm = path.posix.normalize(d.path);
      const first = paths.get(norm);
      if (first !== undefined) c.error([...at, 'path'], `duplicate device path ${d.path} (first at ${jsonPath(['linux', 'devices', first])})`);
      else paths.set(norm, i);
    }
    if (d.type === 'c' || d.type === 'b' || d.type === 'u') {
      for (const k of ['major', 'minor']) {
        if (d[k] === undefined) c.error([...at, k], `is required for a device of type ${d.type}`);
      }
      if (isNum(d.major) && isNum(d.minor)) {
        const key = `${d.type === 'u' ? 'c' : d.type}:${d.major}:${d.minor}`;
        const first = numbers.get(key);
        if (first !== undefined) c.warn(at, `has the same type, major and minor as ${jsonPath(['linux', 'devices', first])}`);
        else numbers.set(key, i);
      }
    } else if (d.type === 'p') {
      for (const k of ['major', 'minor']) {
        // config-linux.md#devices: major and minor are optional for p; runc ignores them
        if (isNum(d[k]) && d[k] !== 0) c.warn([...at, k], 'is ignored for a fifo (type p)');
      }
    }
  });
}

/** Linux dev_valid_name(): 1 to 15 bytes, not "." or "..", no "/", ":" or white space. */
function validIfName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** config-linux.md#network-devices; runc validator netdevices: a NET namespace, valid interface names. */
export function checkNetDevices(linux: Obj, ns: NsTable, c: Collector): void {
  if (!isObj(linux.netDevices)) return;
  const entries = Object.entries(linux.netDevices);
  if (entries.length === 0) return;
  if (!ns.has('network')) c.error(['linux', 'netDevices'], 'needs a network namespace (add {"type": "network"} to linux.namespaces)');
  for (const [name, dev] of entries) {
    if (!validIfName(name)) c.error(['linux', 'netDevices', name], `${quote(name)} is not a valid network interface name`);
    if (isObj(dev) && isStr(dev.name) && dev.name !== '' && !validIfName(dev.name)) {
      c.error(['linux', 'netDevices', name, 'name'], `${quote(dev.name)} is not a valid network interface name`);
    }
  }
}
