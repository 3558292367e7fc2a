// config-linux.md#namespaces and #user-namespace-mappings, plus sysctl.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { check, parseMountinfo, sleepMs } from '../lib.mjs';

const hostNs = (type) => fs.readlinkSync(`/proc/self/ns/${type}`);

/** The container's namespace links, printed by the program. */
function nsLinks(t, edit) {
  const { out } = t.sh('for n in pid net ipc uts mnt cgroup user time; do echo "$n $(readlink /proc/self/ns/$n)"; done', edit);
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')));
}

/** A host process in new namespaces (`unshare` flags), to be joined by path. */
function holder(t, flags) {
  const p = t.spawnHelper('unshare', [...flags, 'sleep', '600']);
  for (let i = 0; i < 100; i++) {
    try {
      if (fs.readlinkSync(`/proc/${p.pid}/exe`).endsWith('/sleep')) return p.pid;
    } catch { /* not yet */ }
    sleepMs(20);
  }
  t.fail('the namespace holder did not start');
}

const NS_FILES = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup' };

for (const [type, file] of Object.entries(NS_FILES)) {
  check('config-linux.md#namespaces', `a ${type} namespace without path is a new namespace`, (t) => {
    const ns = nsLinks(t, (c) => { if (!c.linux.namespaces.some((n) => n.type === type)) c.linux.namespaces.push({ type }); });
    t.ok(ns[file] && ns[file] !== hostNs(file), `the container shares the runtime's ${type} namespace`, { container: ns[file], host: hostNs(file) });
  });
}

check('config-linux.md#namespaces', 'a namespace type not listed is inherited from the runtime (network)', (t) => {
  const ns = nsLinks(t, (c) => { c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network'); });
  t.eq(ns.net, hostNs('net'), 'network namespace of the container');
});

check('config-linux.md#namespaces', 'without a mount namespace in the list, the runtime\'s mount namespace is inherited', (t) => {
  // runc 1.1.5 then mounts in the host's namespace and leaves the mounts there: undo them
  const b = t.shBundle('readlink /proc/self/ns/mnt', (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount');
    c.mounts = c.mounts.filter((m) => m.destination === '/proc');
  });
  t.defer(() => { spawnSync('umount', ['-R', '-l', b.rootfs]); });
  const { out } = t.run(b);
  t.eq(out.trim(), hostNs('mnt'), 'mount namespace of the container');
});

check('runtime.md#delete', 'without a mount namespace, delete removes the mounts create made in the runtime\'s namespace', (t) => {
  const id = t.id('hostns');
  const source = `${id}-tmpfs`; // names the container's mount in the host's mountinfo
  const b = t.bundle((c) => {
    c.process.args = ['sleep', '60'];
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount');
    c.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/tmp', type: 'tmpfs', source }];
  });
  // runc 1.1.5 leaves its mounts under the rootfs: undo them
  t.defer(() => { spawnSync('umount', ['-R', '-l', b.rootfs]); });
  const ours = () => parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.source === source);
  t.mustCreate(b, id);
  t.ok(ours().length === 1, 'the container\'s tmpfs is not in the runtime\'s mount namespace after create', { found: ours().length });
  const d = t.delete(id, true);
  t.ok(d.code === 0, 'delete --force failed', t.res(d));
  t.eq(ours().map((m) => m.mountPoint), [], 'mounts of the container left in the runtime\'s namespace after delete');
});

check('config-linux.md#namespaces', 'the new pid namespace makes the program pid 1', (t) => {
  const { out } = t.sh('echo $$');
  t.eq(out.trim(), '1', 'pid of the program');
});

check('config-linux.md#namespaces', 'a new network namespace has only the loopback interface', (t) => {
  const { out } = t.sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
  t.eq(out.trim().split('\n'), ['lo'], 'interfaces');
});

check('config-linux.md#namespaces', 'a new mount namespace keeps the container\'s mounts off the host', (t) => {
  const b = t.shBundle('echo ran', (c) => { c.mounts.push({ destination: '/conf-private', type: 'tmpfs', source: 'conf-private-src' }); });
  t.run(b);
  const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  t.ok(!hostMounts.includes('conf-private-src'), 'the container\'s tmpfs is visible on the host');
});

check('config-linux.md#namespaces', 'a cgroup namespace makes the container\'s cgroup its root', (t) => {
  const { out } = t.sh('cat /proc/self/cgroup', (c) => { c.linux.namespaces.push({ type: 'cgroup' }); });
  const bad = out.trim().split('\n').filter((l) => !l.endsWith(':/'));
  t.ok(bad.length === 0, 'cgroup paths inside the cgroup namespace are not "/"', { cgroup: out });
});

check('config-linux.md#namespaces', 'a network namespace path is joined', (t) => {
  const pid = holder(t, ['--net']);
  const want = fs.readlinkSync(`/proc/${pid}/ns/net`);
  const ns = nsLinks(t, (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : n));
  });
  t.eq(ns.net, want, 'network namespace of the container');
});

check('config-linux.md#namespaces', 'a uts namespace path is joined (and its hostname seen)', (t) => {
  const pid = holder(t, ['--uts']);
  const want = fs.readlinkSync(`/proc/${pid}/ns/uts`);
  const ns = nsLinks(t, (c) => {
    delete c.hostname;
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'uts' ? { type: 'uts', path: `/proc/${pid}/ns/uts` } : n));
  });
  t.eq(ns.uts, want, 'uts namespace of the container');
});

check('config-linux.md#namespaces', 'an ipc namespace path is joined', (t) => {
  const pid = holder(t, ['--ipc']);
  const want = fs.readlinkSync(`/proc/${pid}/ns/ipc`);
  const ns = nsLinks(t, (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'ipc' ? { type: 'ipc', path: `/proc/${pid}/ns/ipc` } : n));
  });
  t.eq(ns.ipc, want, 'ipc namespace of the container');
});

check('config-linux.md#namespaces', 'a pid namespace path is joined', (t) => {
  // unshare --pid --fork: the sleep is pid 1 of a new pid namespace
  const p = t.spawnHelper('unshare', ['--pid', '--fork', 'sleep', '600']);
  let nsPath = null;
  for (let i = 0; i < 100 && !nsPath; i++) {
    sleepMs(20);
    try {
      const kids = fs.readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (kids.length && fs.readlinkSync(`/proc/${kids[0]}/exe`).endsWith('/sleep')) nsPath = `/proc/${kids[0]}/ns/pid`;
    } catch { /* not yet */ }
  }
  t.ok(nsPath, 'the pid namespace holder did not start');
  const want = fs.readlinkSync(nsPath);
  const ns = nsLinks(t, (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'pid' ? { type: 'pid', path: nsPath } : n));
  });
  t.eq(ns.pid, want, 'pid namespace of the container');
});

const USERNS = (c) => {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
};

check('config-linux.md#user-namespace-mappings', 'uidMappings and gidMappings are the maps of the user namespace', (t) => {
  const { out } = t.sh('cat /proc/self/uid_map /proc/self/gid_map', USERNS);
  t.eq(out.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['0 200000 65536', '0 300000 65536'], 'uid_map and gid_map');
});

check('config-linux.md#user-namespace-mappings', 'in a user namespace the process is uid 0 there and unmapped files are nobody', (t) => {
  const { out } = t.sh('id -u; stat -c %u /bin/busybox', USERNS);
  t.eq(out.trim().split('\n'), ['0', '65534'], 'uid inside, owner of the rootfs busybox (host uid 0, unmapped)');
});

check('config-linux.md#user-namespace-mappings', 'the runtime does not chown the rootfs to realize the mapping', (t) => {
  const b = t.shBundle('echo ran', USERNS);
  t.run(b);
  const st = fs.statSync(`${b.rootfs}/bin/busybox`);
  t.eq(`${st.uid}:${st.gid}`, '0:0', 'owner of rootfs/bin/busybox on the host after the run');
}, { level: 'SHOULD' });

check('config-linux.md#offset-for-time-namespace', 'a time namespace gets the timeOffsets', (t) => {
  if (!fs.existsSync('/proc/self/ns/time')) t.skip('this kernel has no time namespaces');
  const { out } = t.sh('cut -d. -f1 /proc/uptime', (c) => {
    c.linux.namespaces.push({ type: 'time' });
    c.linux.timeOffsets = { boottime: { secs: 864000000, nanosecs: 0 }, monotonic: { secs: 864000000, nanosecs: 0 } };
  });
  const up = Number(out.trim());
  t.ok(up >= 864000000, 'uptime does not include the boottime offset', { uptime: out.trim() });
}, { level: 'SHOULD' });

check('config-linux.md#sysctl', 'sysctl values are set in the container (net.ipv4.ip_forward)', (t) => {
  const { out } = t.sh('cat /proc/sys/net/ipv4/ip_forward', (c) => { c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }; });
  t.eq(out.trim(), '1', 'net.ipv4.ip_forward');
});

check('config-linux.md#sysctl', 'sysctl values of the ipc namespace are set (kernel.msgmax)', (t) => {
  const { out } = t.sh('cat /proc/sys/kernel/msgmax', (c) => { c.linux.sysctl = { 'kernel.msgmax': '4321' }; });
  t.eq(out.trim(), '4321', 'kernel.msgmax');
});
