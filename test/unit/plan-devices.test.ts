import { describe, expect, it } from 'vitest';
import { planDevices, S_IFBLK, S_IFCHR, S_IFIFO } from '../../src/plan/devices';
import type { Spec } from '../../src/spec/types';
import { ctxFor, fakeHost } from './plan-helpers';

const DEFAULT_PATHS = ['/dev/null', '/dev/random', '/dev/full', '/dev/tty', '/dev/zero', '/dev/urandom'];

function spec(devices?: NonNullable<Spec['linux']>['devices']): Spec {
  return { ociVersion: '1.2.0', linux: { devices } };
}

describe('planDevices', () => {
  it('creates runc\'s default nodes, 0666 root:root, and the /dev symlinks', () => {
    const { devices, symlinks } = planDevices({ spec: spec(), bind: false, devBindMounted: false }, ctxFor());
    expect(devices.map((d) => d.path)).toEqual(DEFAULT_PATHS);
    expect(devices[0]).toEqual({ path: '/dev/null', type: S_IFCHR, major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 });
    expect(devices.find((d) => d.path === '/dev/tty')).toMatchObject({ major: 5, minor: 0 });
    expect(symlinks).toEqual([
      { target: 'pts/ptmx', path: '/dev/ptmx' },
      { target: '/proc/self/fd', path: '/dev/fd' },
      { target: '/proc/self/fd/0', path: '/dev/stdin' },
      { target: '/proc/self/fd/1', path: '/dev/stdout' },
      { target: '/proc/self/fd/2', path: '/dev/stderr' },
    ]);
  });

  it('links /dev/core only when the host has /proc/kcore', () => {
    const { symlinks } = planDevices({ spec: spec(), bind: false, devBindMounted: false }, ctxFor(fakeHost({ procKcore: true })));
    expect(symlinks.at(-1)).toEqual({ target: '/proc/kcore', path: '/dev/core' });
  });

  it('adds config devices after the defaults, with runc\'s defaults for absent fields', () => {
    const { devices } = planDevices(
      {
        spec: spec([
          { type: 'c', path: '/dev/fuse', major: 10, minor: 229 },
          { type: 'b', path: '/dev/sda', major: 8, minor: 0, fileMode: 0o060660, uid: 1, gid: 6 },
          { type: 'p', path: '/dev/fifo' },
          { type: 'u', path: '/dev/u', major: 1, minor: 2 },
        ]),
        bind: false,
        devBindMounted: false,
      },
      ctxFor(),
    );
    expect(devices.slice(6)).toEqual([
      { path: '/dev/fuse', type: S_IFCHR, major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/sda', type: S_IFBLK, major: 8, minor: 0, mode: 0o660, uid: 1, gid: 6 },
      { path: '/dev/fifo', type: S_IFIFO, major: 0, minor: 0, mode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/u', type: S_IFCHR, major: 1, minor: 2, mode: 0o666, uid: 0, gid: 0 },
    ]);
  });

  it('does not duplicate a default the config lists, and never makes a /dev/ptmx node', () => {
    const { devices } = planDevices(
      {
        spec: spec([
          { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o600 },
          { type: 'c', path: '/dev/ptmx', major: 5, minor: 2 },
        ]),
        bind: false,
        devBindMounted: false,
      },
      ctxFor(),
    );
    expect(devices.filter((d) => d.path === '/dev/null')).toEqual([
      { path: '/dev/null', type: S_IFCHR, major: 1, minor: 3, mode: 0o600, uid: 0, gid: 0 },
    ]);
    expect(devices.map((d) => d.path)).not.toContain('/dev/ptmx');
    expect(devices.at(-1)?.path).toBe('/dev/null');
  });

  it('binds host nodes in a user namespace; a missing default is skipped with a warning, a missing config node is an error', () => {
    const host = fakeHost({ paths: { '/dev/tty': undefined as never, '/dev/fuse': 'char' } });
    const ctx = ctxFor(host);
    const { devices } = planDevices(
      { spec: spec([{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }]), bind: true, devBindMounted: false },
      ctx,
    );
    expect(devices.every((d) => d.bind === true)).toBe(true);
    expect(devices.map((d) => d.path)).toEqual(['/dev/null', '/dev/random', '/dev/full', '/dev/zero', '/dev/urandom', '/dev/fuse']);
    expect(ctx.warnings).toEqual(['/dev/tty: not bound into the container, the host has no such device node']);
    expect(() =>
      planDevices({ spec: spec([{ type: 'c', path: '/dev/kvm', major: 10, minor: 232 }]), bind: true, devBindMounted: false }, ctxFor()),
    ).toThrow('linux.devices[0].path: "/dev/kvm" does not exist on the host');
  });

  it('sets up nothing when /dev is bind-mounted, but still checks the config', () => {
    expect(planDevices({ spec: spec(), bind: false, devBindMounted: true }, ctxFor())).toEqual({ devices: [], symlinks: [] });
    expect(() => planDevices({ spec: spec([{ type: 'x', path: '/dev/x' }]), bind: false, devBindMounted: true }, ctxFor())).toThrow(
      'linux.devices[0].type: unknown device type "x"',
    );
  });

  it('names the field in errors', () => {
    const run = (d: NonNullable<NonNullable<Spec['linux']>['devices']>[number]) =>
      planDevices({ spec: spec([d]), bind: false, devBindMounted: false }, ctxFor());
    expect(() => run({ type: 'c', path: '/dev/x', minor: 1 })).toThrow('linux.devices[0].major: is required');
    expect(() => run({ type: 'c', path: 'dev/x', major: 1, minor: 1 })).toThrow('linux.devices[0].path: must be an absolute path');
    expect(() => run({ type: 'c', path: '/dev/x', major: -1, minor: 1 })).toThrow('linux.devices[0].major: must be an integer');
  });
});
