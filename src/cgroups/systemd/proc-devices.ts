// /proc/devices, read once per process: the systemd driver names devices by major ("char-pts") as systemd does.
import { readFileSync } from 'node:fs';
import { parseProcDevices, type PropertyHost } from './properties';

let cached: PropertyHost['devices'] | undefined;

export function readProcDevicesOnce(): PropertyHost['devices'] {
  cached ??= parseProcDevices(readFileSync('/proc/devices', 'utf8'));
  return cached;
}
