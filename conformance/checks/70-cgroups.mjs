// config-linux.md#control-groups: cgroupsPath and basic resources, seen from
// inside the container (a cgroup mount in a cgroup namespace) and from the host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check, parseMountinfo } from '../lib.mjs';

/** A unique absolute cgroupsPath; every cgroup directory of it is removed at cleanup. */
function cgroupsPath(t) {
  const p = `/conformance-${process.pid}-${t.index}`;
  t.defer(() => {
    for (const m of parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))) {
      if (m.fstype !== 'cgroup' && m.fstype !== 'cgroup2') continue;
      try { fs.rmdirSync(path.join(m.mountPoint, p)); } catch { /* absent or busy */ }
    }
  });
  return p;
}

const CGROUP_MOUNT = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };

/** Runs `script` in a container with the cgroup mount, a cgroup namespace and these resources. */
function inCgroup(t, script, resources, edit = () => undefined) {
  const cg = cgroupsPath(t);
  return t.sh(script, (c) => {
    c.linux.cgroupsPath = cg;
    c.linux.resources = resources;
    c.linux.namespaces.push({ type: 'cgroup' });
    c.mounts.push(CGROUP_MOUNT);
    edit(c);
  });
}

/** Reads the first of these files that exists (v1 path, v2 path). */
const firstOf = (files) => `for f in ${files.join(' ')}; do [ -r $f ] && { cat $f; break; }; done`;

check('config-linux.md#memory', 'memory.limit is the limit of the container\'s cgroup, seen from inside', (t) => {
  t.cgroupMount('memory');
  const { out } = inCgroup(t, firstOf(['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory.max']),
    { memory: { limit: 67108864 } });
  t.eq(out.trim(), '67108864', 'memory limit read in the container');
});

check('config-linux.md#pids', 'pids.limit is the limit of the container\'s cgroup, seen from inside', (t) => {
  t.cgroupMount('pids');
  const { out } = inCgroup(t, firstOf(['/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/pids.max']), { pids: { limit: 42 } });
  t.eq(out.trim(), '42', 'pids.max read in the container');
});

check('config-linux.md#cpu', 'cpu quota and period are applied, seen from inside', (t) => {
  t.cgroupMount('cpu');
  const { out } = inCgroup(t, `${firstOf(['/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu.max'])}; `
    + `[ -r /sys/fs/cgroup/cpu/cpu.cfs_period_us ] && cat /sys/fs/cgroup/cpu/cpu.cfs_period_us`, { cpu: { quota: 50000, period: 100000 } });
  const v = out.trim().split(/\s+/).join(' ');
  t.eq(v, '50000 100000', 'quota and period read in the container');
});

check('config-linux.md#cgroups-path', 'an absolute cgroupsPath is the container\'s place in the hierarchy', (t) => {
  const mnt = t.cgroupMount('memory');
  const cg = cgroupsPath(t);
  const b = t.bundle((c) => { c.linux.cgroupsPath = cg; c.linux.resources = { memory: { limit: 67108864 } }; });
  const c = t.mustCreate(b);
  const pid = t.state(c.id).state?.pid;
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const memLine = lines.find((l) => (mnt.version === 1 ? l.split(':')[1].split(',').includes('memory') : l.startsWith('0::')));
  t.eq(memLine?.split(':')[2], cg, 'cgroup of the container process (memory)', { cgroup: lines });
  const limitFile = mnt.version === 1 ? path.join(mnt.dir, cg, 'memory.limit_in_bytes') : path.join(mnt.dir, cg, 'memory.max');
  t.eq(fs.readFileSync(limitFile, 'utf8').trim(), '67108864', `limit in ${limitFile}`);
});

check('config-linux.md#allowed-device-list', 'a device denied by the device list cannot be opened', (t) => {
  t.cgroupMount('devices');
  // major 42 has no driver: allowed gives ENXIO, denied by the cgroup gives EPERM
  const { out } = inCgroup(t, '(: < /dev/conf-dev42) 2>&1; echo done', { devices: [{ allow: false, access: 'rwm' }] }, (c) => {
    c.linux.devices = [{ path: '/dev/conf-dev42', type: 'c', major: 42, minor: 0, fileMode: 0o666 }];
  });
  t.ok(/Operation not permitted/.test(out), 'opening a denied device did not fail with EPERM', { out });
});

check('config-linux.md#allowed-device-list', 'a device allowed after a deny-all entry can be opened', (t) => {
  t.cgroupMount('devices');
  const { out } = inCgroup(t, '(: < /dev/conf-dev42) 2>&1; echo done',
    { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 42, minor: 0, access: 'rw' }] }, (c) => {
      c.linux.devices = [{ path: '/dev/conf-dev42', type: 'c', major: 42, minor: 0, fileMode: 0o666 }];
    });
  t.ok(!/Operation not permitted/.test(out) && /No such device/.test(out), 'the allowed device was refused by the cgroup', { out });
});

check('config-linux.md#allowed-device-list', 'device list entries apply in order (a later deny wins)', (t) => {
  t.cgroupMount('devices');
  const { out } = inCgroup(t, '(: < /dev/conf-dev42) 2>&1; echo done',
    { devices: [{ allow: true, type: 'c', major: 42, minor: 0, access: 'rw' }, { allow: false, type: 'c', major: 42, minor: 0, access: 'rw' }] }, (c) => {
      c.linux.devices = [{ path: '/dev/conf-dev42', type: 'c', major: 42, minor: 0, fileMode: 0o666 }];
    });
  t.ok(/Operation not permitted/.test(out), 'a device allowed then denied could be opened', { out });
});
