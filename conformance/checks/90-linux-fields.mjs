// The fields of runtime-spec 1.1 to 1.3 that reach into the host: idmapped mounts (uidMappings/gidMappings on a
// mount, idmap and ridmap), linux.memoryPolicy, linux.netDevices, linux.intelRdt.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { check, sleepMs } from '../lib.mjs';

const USERNS = [{ containerID: 0, hostID: 200000, size: 65536 }];
// on the source, uid 1000 is seen as host uid 200005: uid 5 inside the container
const MOUNT_MAP = [{ containerID: 1000, hostID: 200005, size: 1 }];

/** A directory of the check with a file owned by uid:gid 1000:1000. */
function ownedDir(t, name) {
  const dir = t.tmp(name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'owned'), 'x');
  fs.chownSync(path.join(dir, 'owned'), 1000, 1000);
  return dir;
}

/** A user-namespaced config with a mount at /idm; the mount point exists (its root may not make one). */
function idmapConfig(mount) {
  return (c, b) => {
    c.ociVersion = '1.3.0';
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = USERNS;
    c.linux.gidMappings = USERNS;
    c.mounts.push({ destination: '/idm', ...mount });
    fs.mkdirSync(path.join(b.rootfs, 'idm'));
  };
}

check('config.md#mounts', 'uidMappings/gidMappings of a mount map the source\'s ids, seen from a user-namespaced container', (t) => {
  const src = ownedDir(t, 'idm-src');
  const { out } = t.sh('stat -c %u:%g /idm/owned', idmapConfig({ source: src, options: ['bind', 'idmap'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP }));
  t.eq(out.trim(), '5:5', 'owner of a file owned by 1000:1000 on the host, through the mapping 1000 -> 200005');
});

check('config.md#linux-mount-options', 'ridmap maps the submounts of an rbind too', (t) => {
  const src = ownedDir(t, 'ridm-src');
  const sub = path.join(src, 'sub');
  t.hostTmpfs(sub);
  fs.writeFileSync(path.join(sub, 'deep'), 'd');
  fs.chownSync(path.join(sub, 'deep'), 1000, 1000);
  const { out } = t.sh('stat -c %u /idm/owned /idm/sub/deep', idmapConfig({ source: src, options: ['rbind', 'ridmap'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP }));
  t.eq(out.trim().split('\n'), ['5', '5'], 'owners through the top mount and its submount');
});

check('config.md#linux-mount-options', 'idmap without mappings in a container without a user namespace is an error', (t) => {
  const src = ownedDir(t, 'idm-none');
  const c = t.create(t.bundle((cfg) => {
    cfg.ociVersion = '1.3.0';
    cfg.mounts.push({ destination: '/idm', source: src, options: ['bind', 'idmap'] });
  }));
  t.ok(c.code !== 0, 'create succeeded', t.res(c));
  t.ok(t.state(c.id).r.code !== 0, 'a container remains after the failed create');
});

/** The online NUMA nodes, or null on a kernel without NUMA. */
function numaNodes() {
  try {
    return fs.readFileSync('/sys/devices/system/node/online', 'utf8').trim();
  } catch {
    return null;
  }
}

check('config-linux.md#memory-policy', 'memoryPolicy is the NUMA policy of the container process', (t) => {
  if (numaNodes() === null) t.skip('this kernel has no NUMA');
  const { out } = t.sh('grep -m1 busybox /proc/self/numa_maps', (c) => {
    c.ociVersion = '1.3.0';
    c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' };
  });
  t.ok(/^\S+ bind:0 /.test(out), 'numa_maps shows no bind:0 policy', { out });
});

check('config-linux.md#memory-policy', 'a memoryPolicy on a node the host lacks is an error, no container', (t) => {
  if (numaNodes() === null) t.skip('this kernel has no NUMA');
  const c = t.create(t.bundle((cfg) => {
    cfg.ociVersion = '1.3.0';
    cfg.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1000' };
  }));
  t.ok(c.code !== 0, 'create succeeded', t.res(c));
  t.ok(t.state(c.id).r.code !== 0, 'a container remains after the failed create');
});

/** A veth pair for the check (the host end is up); removed at cleanup if still there. */
function vethPair(t) {
  const k = `${process.pid % 1000}${t.index}`;
  const inner = `cfvi${k}`;
  const outer = `cfvo${k}`;
  t.host('ip', ['link', 'add', inner, 'type', 'veth', 'peer', 'name', outer]);
  t.defer(() => { spawnSync('ip', ['link', 'del', inner]); spawnSync('ip', ['link', 'del', outer]); });
  return { inner, outer };
}
const onHost = (dev) => spawnSync('ip', ['link', 'show', 'dev', dev]).status === 0;

check('config-linux.md#network-devices', 'a netDevices entry is moved in, renamed, up, with its permanent global address', (t) => {
  const v = vethPair(t);
  t.host('ip', ['addr', 'add', '10.251.7.2/24', 'dev', v.inner]);
  const { out } = t.sh('ip -o addr show dev ctr0; ip -o link show dev ctr0', (c) => {
    c.ociVersion = '1.3.0';
    c.linux.netDevices = { [v.inner]: { name: 'ctr0' } };
  });
  t.ok(out.includes('inet 10.251.7.2/24'), 'the address did not come along', { out });
  t.ok(/ctr0@\S+: <[^>]*\bUP\b/.test(out), 'the device is not up', { out });
  t.ok(!onHost(v.inner), 'the device is still on the host');
});

check('config-linux.md#network-devices', 'a netDevices name that exists in the container\'s namespace is an error, nothing moved', (t) => {
  const v = vethPair(t);
  const holder = t.spawnHelper('unshare', ['--net', 'sleep', '1000']);
  let ns = null;
  for (let i = 0; i < 100 && !ns; i++) {
    try {
      const link = fs.readlinkSync(`/proc/${holder.pid}/ns/net`);
      if (link !== fs.readlinkSync('/proc/self/ns/net')) ns = `/proc/${holder.pid}/ns/net`;
    } catch { /* not yet */ }
    if (!ns) sleepMs(20);
  }
  t.ok(ns, 'the namespace holder did not start');
  const c = t.create(t.bundle((cfg) => {
    cfg.ociVersion = '1.3.0';
    cfg.linux.namespaces = cfg.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: ns } : n));
    cfg.linux.netDevices = { [v.inner]: { name: 'lo' } };
  }));
  t.ok(c.code !== 0, 'create succeeded', t.res(c));
  t.ok(t.state(c.id).r.code !== 0, 'a container remains after the failed create');
  t.ok(onHost(v.inner), 'the device left the host');
});

check('config-linux.md#intelrdt', 'intelRdt without a mounted resctrl filesystem is an error, no container', (t) => {
  if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' - resctrl ')) t.skip('this host has resctrl');
  const c = t.create(t.bundle((cfg) => {
    cfg.ociVersion = '1.3.0';
    cfg.linux.intelRdt = { closID: 'conformance' };
  }));
  t.ok(c.code !== 0, 'create succeeded', t.res(c));
  t.ok(t.state(c.id).r.code !== 0, 'a container remains after the failed create');
});
