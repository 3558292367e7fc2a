// The systemd driver for a rootless caller, without a systemd: which bus and identity it picks, where the unit's
// cgroup goes (below the user manager's own), that cgroup v1 is refused as runc refuses it, and the D-Bus
// handshake with no identity (root in a user namespace) against a fake bus. test/systemd/rootless-systemd.test.ts
// runs the real thing beside runc.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busChoice, userBusAddress, type BusHost } from '../../src/cgroups/systemd/bus-choice';
import { DbusConnection } from '../../src/cgroups/systemd/dbus';
import { cgroupManager, cgroupManagerFromPaths } from '../../src/cgroups/manager';
import { parseRootlessFlag, resolveRootless } from '../../src/runtime/rootless';
import * as dbusCodec from 'dbus-native/lib/message';
import { fakeHybridHost, fakeV2Host } from './cgroups-fakehost';

const codec = dbusCodec as { marshall(m: object): Buffer; unmarshall(b: Buffer): { serial: number; member?: string } };
const host = (env: NodeJS.ProcessEnv, euid = 1000, files: string[] = []): BusHost => ({ env, euid, exists: (p) => files.includes(p) });

describe('the bus of the systemd driver', () => {
  it('root: the system bus, or DBUS_SYSTEM_BUS_ADDRESS', () => {
    expect(busChoice(false, host({}, 0))).toEqual({ kind: 'system', address: 'unix:path=/run/dbus/system_bus_socket', authId: '0' });
    expect(busChoice(false, host({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/x' }, 0)).address).toBe('unix:path=/x');
  });
  it('rootless: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus, as the caller (no identity for root in a user namespace)', () => {
    expect(busChoice(true, host({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/s', XDG_RUNTIME_DIR: '/run/user/1000' }))).toEqual({
      kind: 'user',
      address: 'unix:path=/s',
      authId: '1000',
    });
    expect(busChoice(true, host({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, ['/run/user/1000/bus'])).address).toBe('unix:path=/run/user/1000/bus');
    expect(busChoice(true, host({ XDG_RUNTIME_DIR: '/run/user/1000' }, 0, ['/run/user/1000/bus'])).authId).toBe('');
  });
  it('says what it looked for when there is no user bus', () => {
    expect(() => userBusAddress(host({ XDG_RUNTIME_DIR: '/run/user/1000' }))).toThrow(
      /needs the user's D-Bus: DBUS_SESSION_BUS_ADDRESS is not set and \/run\/user\/1000\/bus does not exist/,
    );
    expect(() => userBusAddress(host({}))).toThrow(/XDG_RUNTIME_DIR is not set/);
  });
});

describe('rootless systemd cgroups', () => {
  const USER_CG = '/user.slice/user-1000.slice/user@1000.service';
  it('puts the unit below the user manager, in user.slice by default, and keeps the user bus in the record', () => {
    const cg = cgroupManager({ id: 'c1', fs: fakeV2Host(), systemd: true, rootless: true, userManagerCgroup: USER_CG, bpf: failingBpf() });
    expect(cg.systemdUnit).toEqual({ unit: 'tsrun-c1.scope', slice: 'user.slice', user: true });
    expect(cg.paths.unified).toBe(`/sys/fs/cgroup${USER_CG}/user.slice/tsrun-c1.scope`);
    const named = cgroupManager({ id: 'c1', fs: fakeV2Host(), systemd: true, rootless: true, userManagerCgroup: USER_CG, cgroupsPath: 'app.slice:podman:x' });
    expect(named.paths.unified).toBe(`/sys/fs/cgroup${USER_CG}/app.slice/podman-x.scope`);
  });
  it('applies limits in the delegated cgroup but no device rules (only root may load the device program), reopened too', () => {
    const fs = fakeV2Host();
    const cg = cgroupManager({ id: 'c1', fs, systemd: true, rootless: true, userManagerCgroup: USER_CG, bpf: failingBpf() });
    const dir = cg.paths.unified;
    fs.addFiles(dir, { 'cgroup.controllers': 'memory pids', 'cgroup.procs': '', 'pids.max': 'max' });
    cg.apply({ pids: { limit: 20 }, devices: [{ allow: false, access: 'rwm' }] });
    expect(fs.readFile(`${dir}/pids.max`).trim()).toBe('20');
    const again = cgroupManagerFromPaths(cg.paths, { fs, systemd: cg.systemdUnit, bpf: failingBpf() });
    again.apply({ pids: { limit: 30 }, devices: [{ allow: false, access: 'rwm' }] });
    expect(fs.readFile(`${dir}/pids.max`).trim()).toBe('30');
  });
  it('refuses cgroup v1 as runc does, before any D-Bus', () => {
    expect(() => cgroupManager({ id: 'c1', fs: fakeHybridHost(), systemd: true, rootless: true, userManagerCgroup: USER_CG })).toThrow(
      /^--systemd-cgroup for a rootless container needs cgroup v2 \(this host has cgroup v1, hybrid/,
    );
  });
});

describe('--rootless', () => {
  it('takes true, false and auto, and nothing else', () => {
    expect(parseRootlessFlag(undefined)).toBe('auto');
    expect(parseRootlessFlag('')).toBe('auto');
    expect(() => parseRootlessFlag('yes')).toThrow('--rootless "yes": must be true, false or auto');
    expect(resolveRootless('true', false)).toBe(true);
    expect(resolveRootless('false', true)).toBe(false);
  });
  it('auto, as root outside a user namespace, is not rootless; the bus owner is not asked', () => {
    if (process.geteuid?.() !== 0) return expect(resolveRootless('auto', true)).toBe(true);
    const asked: string[] = [];
    expect(resolveRootless('auto', true, () => (asked.push('x'), 1000))).toBe(false);
    expect(asked).toEqual([]);
  });
});

/** A fake bus: says OK (for `identity`, or after a DATA challenge for none), answers every call, records what came. */
async function fakeBus(sock: string, seen: string[], opts: { okOnlyAfterHello?: boolean } = {}): Promise<net.Server> {
  const server = net.createServer((c) => {
    let text = '';
    let begun = false;
    let okSent = false;
    const ok = () => {
      if (!okSent) c.write('OK 0123456789abcdef0123456789abcdef\r\n');
      okSent = true;
    };
    const call = (d: Buffer) => {
      const m = codec.unmarshall(d);
      seen.push(`call ${m.member}`);
      if (opts.okOnlyAfterHello) ok();
      c.write(codec.marshall({ type: 2, serial: 1, replySerial: m.serial, destination: ':1.9', signature: 's', body: [':1.9'] }));
    };
    c.on('data', (d: Buffer) => {
      if (begun) return call(d);
      text += d.toString('latin1');
      for (let i = text.indexOf('\r\n'); i >= 0 && !begun; i = text.indexOf('\r\n')) {
        const line = text.slice(0, i);
        text = text.slice(i + 2);
        seen.push(line);
        if (line === '\0AUTH EXTERNAL') c.write('DATA\r\n');
        else if (line.startsWith('\0AUTH EXTERNAL ') && !opts.okOnlyAfterHello) ok();
        else if (line === 'DATA') ok();
        else if (line === 'BEGIN') begun = true;
      }
      if (begun && text.length) call(Buffer.from(text, 'latin1')); // the Hello can come with BEGIN
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return server;
}

describe('the D-Bus handshake', () => {
  const withBus = async (opts: { okOnlyAfterHello?: boolean }, authId: string): Promise<string[]> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-dbus-'));
    const seen: string[] = [];
    const server = await fakeBus(path.join(dir, 'bus'), seen, opts);
    try {
      const conn = await DbusConnection.open(`unix:path=${path.join(dir, 'bus')}`, authId, 5000);
      conn.close();
      return seen;
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  it('with no identity (root in a user namespace), answers the DATA challenge with an empty one, then says Hello', async () => {
    expect(await withBus({}, '')).toEqual(['\0AUTH EXTERNAL', 'DATA', 'BEGIN', 'call Hello']);
  });
  it('with a uid, sends BEGIN and Hello without waiting for OK: one round trip (this bus says OK only after Hello)', async () => {
    expect(await withBus({ okOnlyAfterHello: true }, '1000')).toEqual([`\0AUTH EXTERNAL ${Buffer.from('1000').toString('hex')}`, 'BEGIN', 'call Hello']);
  });
});

/** A bpf() that fails the test if the rootless path ever loads a device program. */
function failingBpf(): never {
  return new Proxy({}, { get: () => () => { throw new Error('bpf() called for a rootless container'); } }) as never;
}
