import { describe, expect, it } from 'vitest';
import { cgroupManager } from '../../src/cgroups/manager';
import { withDefaultDeviceRules } from '../../src/cgroups/device-rules';
import { cgroupMountLines, recordingFs, templateCgroupLog, type CgroupOp } from '../../src/recipe/cgroup-log';
import { fill, type Template } from '../../src/recipe/template';
import { fakeHybridHost } from './cgroups-fakehost';
import { FakeFs } from '../helpers/fake-cgroup-fs';

const ID = 'web-000001';

/** A create's cgroup work on the fake hybrid host, through the recorder. */
function recordCreate(id: string, fs: FakeFs, resources = { devices: withDefaultDeviceRules(undefined, undefined), pids: { limit: 64 } }) {
  const log: CgroupOp[] = [];
  const cg = cgroupManager({ id, fs: recordingFs(fs, log) });
  cg.create({ pid: 1, resources });
  cg.apply(resources);
  return { log, dirs: [...new Set(Object.values(cg.paths))] };
}

const paths = (ops: { path: Template }[], id: string) => ops.map((o) => fill(o.path, { id }));

describe('the cgroup work of a create, as a replay would do it', () => {
  it('records what the driver did, and replayed for another id it is what the driver does for that id', () => {
    const a = recordCreate(ID, fakeHybridHost());
    const t = templateCgroupLog(a.log, ID, a.dirs);
    expect('ops' in t).toBe(true);
    if (!('ops' in t)) return;
    const b = recordCreate('db-42', fakeHybridHost());
    expect(paths(t.ops, 'db-42')).toEqual(b.log.map((o) => o.path));
    // the writes: the cpuset copied down, the device rules, the pids limit
    const writes = t.ops.flatMap((o) => (o.op === 'write' ? [o] : []));
    expect(writes.map((w) => w.data)).toContain('64');
    expect(writes.map((w) => w.data)).toContain('a');
    // the reads are checks: the parent's cpuset the copy came from
    expect(t.ops.some((o) => o.op === 'read' && fill(o.path, { id: 'x' }).endsWith('/cpuset/cpuset.cpus'))).toBe(true);
  });

  it('the directories it made are listed, for the replay to make and to undo', () => {
    const a = recordCreate(ID, fakeHybridHost());
    const t = templateCgroupLog(a.log, ID, a.dirs);
    if (!('ops' in t)) throw new Error(t.reason);
    const made = t.ops.flatMap((o) => (o.op === 'mkdirp' ? o.created!.map((c) => fill(c, { id: 'db-42' })) : []));
    expect(made).toContain('/sys/fs/cgroup/pids/db-42');
    expect(made.every((d) => d.endsWith('/db-42'))).toBe(true);
  });

  it('refuses a log where the id is outside the container\'s cgroups, in a value, or a process joined', () => {
    const a = recordCreate(ID, fakeHybridHost());
    const outside: CgroupOp[] = [...a.log, { op: 'exists', path: `/sys/fs/cgroup/pids/${ID}-other`, result: false }];
    expect(templateCgroupLog(outside, ID, a.dirs)).toEqual({ reason: `the id is in /sys/fs/cgroup/pids/${ID}-other, outside the container's cgroups` });
    const inValue: CgroupOp[] = [...a.log, { op: 'write', path: '/sys/fs/cgroup/pids/x/notes', data: ID }];
    expect(templateCgroupLog(inValue, ID, a.dirs)).toEqual({ reason: 'the id is in what write /sys/fs/cgroup/pids/x/notes saw' });
    const joined: CgroupOp[] = [...a.log, { op: 'write', path: `/sys/fs/cgroup/pids/${ID}/cgroup.procs`, data: '77' }];
    expect(templateCgroupLog(joined, ID, a.dirs)).toEqual({ reason: `a process joined through /sys/fs/cgroup/pids/${ID}/cgroup.procs` });
    const removed: CgroupOp[] = [...a.log, { op: 'rmdir', path: '/sys/fs/cgroup/pids/x' }];
    expect(templateCgroupLog(removed, ID, a.dirs)).toEqual({ reason: 'the driver removed /sys/fs/cgroup/pids/x' });
  });

  it('an id that is also the name of a file below its directory is refused', () => {
    const dir = '/sys/fs/cgroup/cpuset/cpus';
    const log: CgroupOp[] = [{ op: 'write', path: `${dir}/cpuset.cpus`, data: '0-1' }];
    expect(templateCgroupLog(log, 'cpus', [dir])).toEqual({ reason: `the id is in ${dir}/cpuset.cpus, outside the container's cgroups` });
  });

  it('of mountinfo only the cgroup mounts are kept, which the replay compares', () => {
    const fs = fakeHybridHost();
    const a = recordCreate(ID, fs);
    expect(a.log.some((o) => o.op === 'read' && o.path === '/proc/self/mountinfo')).toBe(true);
    const t = templateCgroupLog(a.log, ID, a.dirs);
    if (!('ops' in t)) throw new Error(t.reason);
    const mi = t.ops.flatMap((o) => (o.op === 'read' && fill(o.path, { id: 'x' }) === '/proc/self/mountinfo' ? [o] : []))[0];
    expect(mi.value.split('\n').every((l) => / cgroup2? /.test(l))).toBe(true);
    expect(mi.value).toContain('/ /sys/fs/cgroup/memory cgroup rw,memory');
  });

  it('a mount elsewhere on the host does not change what is compared', () => {
    const line = (id: number, mp: string, type: string, opts: string) => `${id} 1 0:${id} / ${mp} rw,relatime shared:1 - ${type} ${type} ${opts}`;
    const before = [line(30, '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'), line(31, '/', 'ext4', 'rw')].join('\n');
    const after = [line(30, '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'), line(31, '/', 'ext4', 'rw'), line(99, '/run/c/rootfs', 'overlay', 'rw,lowerdir=/x')].join('\n');
    expect(cgroupMountLines(after)).toBe(cgroupMountLines(before));
    expect(cgroupMountLines(before)).toBe('/ /sys/fs/cgroup/pids cgroup rw,pids');
  });
});
