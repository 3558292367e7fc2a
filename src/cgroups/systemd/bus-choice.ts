// Which D-Bus the systemd driver talks to, and as whom. Root's containers go to the system manager on the system
// bus. A rootless caller's go to the user's own manager (systemd --user) on the user bus, found as runc finds it:
// $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus. The EXTERNAL handshake names our uid; root inside a user
// namespace (podman's rootless runtime) sends no identity, so that the bus takes the uid it sees on the socket.
// Pure but for the existence check and the ids, which callers may pass.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../../errors';

export interface BusChoice {
  /** "system" or "user": what an error names. */
  kind: 'system' | 'user';
  address: string;
  /** The identity EXTERNAL authentication sends: a decimal uid, or '' for none (the peer's credentials). */
  authId: string;
}

export interface BusHost {
  env: NodeJS.ProcessEnv;
  euid: number;
  exists: (p: string) => boolean;
}

/** The system bus, unless DBUS_SYSTEM_BUS_ADDRESS names another (as sd-bus and runc's go-dbus honour it). */
export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/run/dbus/system_bus_socket';
}

const realHost = (): BusHost => ({ env: process.env, euid: process.geteuid?.() ?? 0, exists: existsSync });

/** The user bus of a rootless caller; the error says what was looked for. */
export function userBusAddress(host: BusHost): string {
  if (host.env.DBUS_SESSION_BUS_ADDRESS) return host.env.DBUS_SESSION_BUS_ADDRESS;
  const xdg = host.env.XDG_RUNTIME_DIR;
  if (xdg) {
    const sock = path.join(xdg, 'bus');
    if (host.exists(sock)) return `unix:path=${sock}`;
  }
  throw new TsrunError(
    `--systemd-cgroup as a rootless user needs the user's D-Bus: DBUS_SESSION_BUS_ADDRESS is not set and ${
      xdg ? `${path.join(xdg, 'bus')} does not exist` : 'XDG_RUNTIME_DIR is not set'
    } (is the user's systemd running, with dbus-user-session installed? \`systemctl --user start dbus\`)`,
  );
}

export function busChoice(user: boolean, host: BusHost = realHost()): BusChoice {
  if (!user) return { kind: 'system', address: systemBusAddress(host.env), authId: String(host.euid) };
  return { kind: 'user', address: userBusAddress(host), authId: host.euid === 0 ? '' : String(host.euid) };
}
