// The host's devices as the systemd driver needs them: /proc/devices (read once per process) to name a major
// ("char-pts") as systemd does, and whether one device exists, for DeviceAllow.
import { existsSync, readFileSync } from 'node:fs';
import { parseProcDevices, type PropertyHost } from './properties';

let cached: PropertyHost['devices'] | undefined;

export function readProcDevicesOnce(): PropertyHost['devices'] {
  cached ??= parseProcDevices(readFileSync('/proc/devices', 'utf8'));
  return cached;
}

/** Whether the host has a device (udev's /dev/char|block link, or the kernel's own /sys/dev entry without udev). */
export function deviceExists(kind: 'char' | 'block', major: number, minor: number): boolean {
  const node = `${kind}/${major}:${minor}`;
  return existsSync(`/dev/${node}`) || existsSync(`/sys/dev/${node}`);
}
