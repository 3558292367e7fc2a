import { describe, expect, it } from 'vitest';
import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  idMapText,
  namespaceMap,
  planExecNamespaces,
  planIdMapsAndTime,
  planNamespaces,
  timeOffsetsText,
} from '../../src/plan/namespaces';
import type { Spec } from '../../src/spec/types';
import { ctxFor } from './plan-helpers';

function spec(linux: Spec['linux']): Spec {
  return { ociVersion: '1.2.0', linux };
}

describe('namespace flags', () => {
  it('maps every OCI type to its CLONE_NEW* flag', () => {
    const types = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];
    const ns = namespaceMap(spec({ namespaces: types.map((type) => ({ type })) }));
    const p = planNamespaces(ns);
    expect(p.cloneFlags).toBe(
      (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME) >>> 0,
    );
    expect(p.nsJoin).toEqual([]);
    expect(CLONE_NEWTIME).toBe(0x80);
    expect(CLONE_NEWNS).toBe(0x20000);
    expect(CLONE_NEWCGROUP).toBe(0x02000000);
    expect(CLONE_NEWNET).toBe(0x40000000);
  });

  it('joins namespaces with a path, user first, mount after the others', () => {
    const ns = namespaceMap(
      spec({
        namespaces: [
          { type: 'mount', path: '/proc/9/ns/mnt' },
          { type: 'network', path: '/var/run/netns/a' },
          { type: 'pid' },
          { type: 'user', path: '/proc/9/ns/user' },
          { type: 'cgroup', path: '/proc/9/ns/cgroup' },
        ],
      }),
    );
    const p = planNamespaces(ns);
    expect(p.cloneFlags).toBe(CLONE_NEWPID);
    expect(p.nsJoin).toEqual([
      { type: CLONE_NEWUSER, path: '/proc/9/ns/user' },
      { type: CLONE_NEWNET, path: '/var/run/netns/a' },
      { type: CLONE_NEWNS, path: '/proc/9/ns/mnt' },
      { type: CLONE_NEWCGROUP, path: '/proc/9/ns/cgroup' },
    ]);
  });

  it('exec joins every namespace of the container through /proc/PID/ns', () => {
    const ns = namespaceMap(spec({ namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'user' }, { type: 'time' }] }));
    expect(planExecNamespaces(ns, 42)).toEqual({
      cloneFlags: 0,
      nsJoin: [
        { type: CLONE_NEWUSER, path: '/proc/42/ns/user' },
        { type: CLONE_NEWNET, path: '/proc/42/ns/net' },
        { type: CLONE_NEWNS, path: '/proc/42/ns/mnt' },
        { type: CLONE_NEWTIME, path: '/proc/42/ns/time' },
      ],
    });
  });

  it('refuses unknown and repeated types, and relative paths', () => {
    expect(() => namespaceMap(spec({ namespaces: [{ type: 'foo' }] }))).toThrow('linux.namespaces[0].type: unknown namespace type "foo"');
    expect(() => namespaceMap(spec({ namespaces: [{ type: 'pid' }, { type: 'pid' }] }))).toThrow(
      'linux.namespaces[1].type: namespace "pid" is listed twice',
    );
    expect(() => namespaceMap(spec({ namespaces: [{ type: 'net', path: 'x' }] }))).toThrow('linux.namespaces[0].type');
    expect(() => namespaceMap(spec({ namespaces: [{ type: 'network', path: 'x' }] }))).toThrow(
      'linux.namespaces[0].path: must be an absolute path',
    );
  });
});

describe('id maps', () => {
  it('writes one "inside outside count" line per mapping', () => {
    expect(
      idMapText('linux.uidMappings', [
        { containerID: 0, hostID: 100000, size: 65536 },
        { containerID: 65536, hostID: 1000, size: 1 },
      ]),
    ).toBe('0 100000 65536\n65536 1000 1\n');
  });

  it('needs both maps for a new user namespace', () => {
    const s = spec({
      namespaces: [{ type: 'user' }],
      uidMappings: [{ containerID: 0, hostID: 1000, size: 10 }],
      gidMappings: [{ containerID: 0, hostID: 2000, size: 10 }],
    });
    expect(planIdMapsAndTime(s, namespaceMap(s), ctxFor())).toEqual({ uidMap: '0 1000 10\n', gidMap: '0 2000 10\n' });
    const noGid = spec({ namespaces: [{ type: 'user' }], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] });
    expect(() => planIdMapsAndTime(noGid, namespaceMap(noGid), ctxFor())).toThrow('linux.gidMappings: a new user namespace needs gid mappings');
  });

  it('refuses maps without a user namespace and warns when the namespace is joined', () => {
    const s = spec({ namespaces: [], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] });
    expect(() => planIdMapsAndTime(s, namespaceMap(s), ctxFor())).toThrow('linux.uidMappings: user namespace mappings are set');
    const joined = spec({ namespaces: [{ type: 'user', path: '/proc/1/ns/user' }], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] });
    const ctx = ctxFor();
    expect(planIdMapsAndTime(joined, namespaceMap(joined), ctx)).toEqual({});
    expect(ctx.warnings[0]).toMatch(/joined by path/);
  });

  it('checks mapping numbers', () => {
    expect(() => idMapText('m', [{ containerID: -1, hostID: 0, size: 1 }])).toThrow('m[0].containerID');
    expect(() => idMapText('m', [{ containerID: 0, hostID: 0, size: 0 }])).toThrow('m[0].size: must not be 0');
  });
});

describe('time offsets', () => {
  it('writes monotonic then boottime', () => {
    expect(timeOffsetsText({ boottime: { secs: 3, nanosecs: 4 }, monotonic: { secs: -1, nanosecs: 2 } })).toBe(
      'monotonic -1 2\nboottime 3 4\n',
    );
    expect(timeOffsetsText({ boottime: { secs: 10 } })).toBe('boottime 10 0\n');
  });

  it('refuses unknown clocks and out-of-range nanoseconds', () => {
    expect(() => timeOffsetsText({ realtime: { secs: 1 } })).toThrow('linux.timeOffsets.realtime: unknown clock');
    expect(() => timeOffsetsText({ monotonic: { nanosecs: 1e9 } })).toThrow('linux.timeOffsets.monotonic.nanosecs');
  });

  it('needs a new time namespace', () => {
    const none = spec({ timeOffsets: { monotonic: { secs: 1 } } });
    expect(() => planIdMapsAndTime(none, namespaceMap(none), ctxFor())).toThrow('no time namespace');
    const joined = spec({ namespaces: [{ type: 'time', path: '/proc/1/ns/time' }], timeOffsets: { monotonic: { secs: 1 } } });
    expect(() => planIdMapsAndTime(joined, namespaceMap(joined), ctxFor())).toThrow('joined by path');
    const ok = spec({ namespaces: [{ type: 'time' }], timeOffsets: { monotonic: { secs: 1 } } });
    expect(planIdMapsAndTime(ok, namespaceMap(ok), ctxFor())).toEqual({ timensOffsets: 'monotonic 1 0\n' });
  });
});
