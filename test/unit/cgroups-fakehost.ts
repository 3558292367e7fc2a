// Fake cgroup hosts for the unit tests: an in-memory filesystem that looks
// like this machine (cgroup v1 hybrid) or like a pure cgroup v2 host, with
// hooks that play the kernel where the code relies on it.

import { DeviceEmulator } from '../../src/cgroups/device-rules';
import { FakeFs } from '../helpers/fake-cgroup-fs';
import { errnoError } from '../../src/cgroups/fs';

export const HYBRID_MOUNTINFO = `\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

export const HYBRID_PROC_CGROUP = `\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/abc
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

export const V2_MOUNTINFO = `\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
`;

const V1_FILES: Record<string, Record<string, string>> = {
  cpu: {
    'cpu.shares': '1024', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_burst_us': '0',
    'cpu.idle': '0', 'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '0',
    'cpu.stat': 'nr_periods 10\nnr_throttled 3\nthrottled_time 12345\n',
  },
  cpuacct: {
    'cpuacct.usage': '5000', 'cpuacct.usage_percpu': '3000 2000 ', 'cpuacct.usage_all': 'cpu user system\n0 2000 1000\n1 1500 500\n',
    'cpuacct.stat': 'user 7\nsystem 3\n',
  },
  cpuset: { 'cpuset.cpus': '', 'cpuset.mems': '', 'cpuset.cpu_exclusive': '0', 'cpuset.sched_relax_domain_level': '-1' },
  memory: {
    'memory.limit_in_bytes': '9223372036854771712', 'memory.memsw.limit_in_bytes': '9223372036854771712',
    'memory.soft_limit_in_bytes': '9223372036854771712', 'memory.usage_in_bytes': '4096', 'memory.max_usage_in_bytes': '8192',
    'memory.failcnt': '0', 'memory.memsw.usage_in_bytes': '4096', 'memory.memsw.max_usage_in_bytes': '8192', 'memory.memsw.failcnt': '0',
    'memory.kmem.limit_in_bytes': '9223372036854771712', 'memory.kmem.tcp.limit_in_bytes': '9223372036854771712',
    'memory.swappiness': '60', 'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', 'memory.use_hierarchy': '1',
    'memory.stat': 'cache 100\nrss 200\n',
  },
  devices: { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' },
  freezer: { 'freezer.state': 'THAWED', 'freezer.self_freezing': '0' },
  blkio: {
    'blkio.bfq.weight': '100', 'blkio.bfq.weight_device': '',
    'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '',
    'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '',
    'blkio.throttle.io_service_bytes': '8:0 Read 10\n8:0 Write 20\nTotal 30\n', 'blkio.throttle.io_serviced': '8:0 Read 1\n8:0 Write 2\nTotal 3\n',
  },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
  systemd: {},
};

function addKernelHooks(fs: FakeFs): void {
  // Joining: the kernel lists the pid in cgroup.procs.
  fs.onWrite('cgroup.procs', (path, data, f) => {
    const cur = f.files.get(path) ?? '';
    return cur + data.trim() + '\n';
  });
  // v1 devices: keep devices.list as the kernel does.
  const dev = (allow: boolean) => (path: string, data: string, f: FakeFs) => {
    const list = path.replace(/devices\.(allow|deny)$/, 'devices.list');
    const em = DeviceEmulator.fromList(f.files.get(list) ?? '');
    const m = /^([abc])(?: (\*|\d+):(\*|\d+) ([rwm]+))?$/.exec(data.trim());
    if (!m) throw errnoError('EINVAL', 'write', path);
    const n = (s: string | undefined) => (s === undefined || s === '*' ? -1 : Number(s));
    const acc = (m[4] ?? 'rwm').split('').reduce((b, c) => b | (c === 'r' ? 2 : c === 'w' ? 4 : 1), 0);
    em.apply({ allow, type: m[1] as 'a' | 'b' | 'c', major: n(m[2]), minor: n(m[3]), access: acc }, 'kernel');
    const lines = em.defaultAllow ? ['a *:* rwm'] : em.list().map((e) => `${e.type} ${e.major < 0 ? '*' : e.major}:${e.minor < 0 ? '*' : e.minor} ${(e.access & 2 ? 'r' : '') + (e.access & 4 ? 'w' : '') + (e.access & 1 ? 'm' : '')}`);
    f.files.set(list, lines.map((l) => l + '\n').join(''));
  };
  fs.onWrite('devices.allow', dev(true));
  fs.onWrite('devices.deny', dev(false));
  // v1 freezer: freezing is immediate here.
  fs.onWrite('freezer.state', (path, data, f) => {
    f.files.set(path.replace('freezer.state', 'freezer.self_freezing'), data === 'FROZEN' ? '1' : '0');
  });
  // v2: subtree_control takes "+ctrl" for controllers the cgroup has.
  fs.onWrite('cgroup.subtree_control', (path, data, f) => {
    const dir = path.slice(0, path.lastIndexOf('/'));
    const have = (f.files.get(`${dir}/cgroup.controllers`) ?? '').split(/\s+/).filter(Boolean);
    const cur = new Set((f.files.get(path) ?? '').split(/\s+/).filter(Boolean));
    for (const tok of data.split(/\s+/).filter(Boolean)) {
      const name = tok.slice(1);
      if (!have.includes(name)) throw errnoError('ENOENT', 'write', path);
      if (tok[0] === '+') cur.add(name);
      else cur.delete(name);
    }
    // Existing children get the controller (and its files) at once.
    f.files.set(path, [...cur].join(' '));
    for (const child of f.readdir(dir).map((n) => `${dir}/${n}`).filter((p) => f.isDirectory(p))) {
      for (const [name, content] of Object.entries(v2Files(f, child))) if (!f.files.has(`${child}/${name}`)) f.files.set(`${child}/${name}`, content);
      f.files.set(`${child}/cgroup.controllers`, [...cur].join(' '));
    }
    return [...cur].join(' ');
  });
  fs.onWrite('cgroup.freeze', (path, data, f) => {
    f.files.set(path.replace('cgroup.freeze', 'cgroup.events'), `populated 0\nfrozen ${data.trim()}\n`);
  });
}

/** This machine: v1 hierarchies, name=systemd, and a cgroup2 mount with hugetlb only. */
export function fakeHybridHost(): FakeFs {
  const fs = new FakeFs();
  fs.addFile('/proc/self/mountinfo', HYBRID_MOUNTINFO).addFile('/proc/self/cgroup', HYBRID_PROC_CGROUP);
  for (const [h, files] of Object.entries(V1_FILES)) {
    fs.addFiles(`/sys/fs/cgroup/${h}`, { 'cgroup.procs': '', 'cgroup.sane_behavior': '0', ...files });
  }
  fs.addFiles('/sys/fs/cgroup/cpuset', { 'cpuset.cpus': '0-1', 'cpuset.mems': '0' });
  fs.addFiles('/sys/fs/cgroup/memory/process_api/abc', { 'cgroup.procs': '', ...V1_FILES.memory });
  fs.addFiles('/sys/fs/cgroup/unified', { 'cgroup.controllers': 'hugetlb', 'cgroup.subtree_control': '', 'cgroup.procs': '' });
  fs.addDir('/sys/kernel/mm/hugepages/hugepages-2048kB').addDir('/sys/kernel/mm/hugepages/hugepages-1048576kB');
  fs.onMkdir = (dir, f) => {
    const m = /^\/sys\/fs\/cgroup\/([^/]+)\//.exec(dir);
    if (!m) return;
    if (m[1] === 'unified') {
      f.addFiles(dir, v2Files(f, dir));
      return;
    }
    f.addFiles(dir, { 'cgroup.procs': '', ...(V1_FILES[m[1]] ?? {}) });
    if (m[1] === 'devices') {
      // A new devices cgroup copies its parent's list.
      const parent = dir.slice(0, dir.lastIndexOf('/'));
      f.files.set(`${dir}/devices.list`, f.files.get(`${parent}/devices.list`) ?? 'a *:* rwm\n');
    }
  };
  addKernelHooks(fs);
  return fs;
}

function v2Files(f: FakeFs, dir: string): Record<string, string> {
  const parent = dir.slice(0, dir.lastIndexOf('/'));
  const ctrls = (f.files.get(`${parent}/cgroup.subtree_control`) ?? '').split(/\s+/).filter(Boolean);
  const files: Record<string, string> = {
    'cgroup.controllers': ctrls.join(' '), 'cgroup.subtree_control': '', 'cgroup.procs': '', 'cgroup.type': 'domain',
    'cgroup.freeze': '0', 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.kill': '',
  };
  const per: Record<string, Record<string, string>> = {
    cpu: { 'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0', 'cpu.idle': '0', 'cpu.stat': 'usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 5\nnr_throttled 2\nthrottled_usec 7\n' },
    memory: {
      'memory.max': 'max', 'memory.low': '0', 'memory.swap.max': 'max', 'memory.current': '4096', 'memory.peak': '8192',
      'memory.swap.current': '0', 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n', 'memory.stat': 'anon 100\nfile 200\n',
    },
    io: { 'io.max': '', 'io.stat': '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n' },
    pids: { 'pids.max': 'max', 'pids.current': '0' },
    cpuset: { 'cpuset.cpus': '', 'cpuset.mems': '', 'cpuset.cpus.effective': '0-1', 'cpuset.mems.effective': '0' },
    hugetlb: { 'hugetlb.2MB.max': 'max', 'hugetlb.2MB.rsvd.max': 'max', 'hugetlb.1GB.max': 'max', 'hugetlb.1GB.rsvd.max': 'max', 'hugetlb.2MB.current': '0', 'hugetlb.2MB.rsvd.current': '0', 'hugetlb.2MB.events': 'max 0\n' },
    rdma: { 'rdma.max': '' },
  };
  for (const c of ctrls) Object.assign(files, per[c] ?? {});
  return files;
}

/** A pure v2 host; `controllers` at the root, our process in `ownPath`. */
export function fakeV2Host(opts: { controllers?: string; ownPath?: string } = {}): FakeFs {
  const fs = new FakeFs();
  const own = opts.ownPath ?? '/user.slice/session-1.scope';
  fs.addFile('/proc/self/mountinfo', V2_MOUNTINFO).addFile('/proc/self/cgroup', `0::${own}\n`);
  fs.addFiles('/sys/fs/cgroup', {
    'cgroup.controllers': opts.controllers ?? 'cpuset cpu io memory hugetlb pids rdma', 'cgroup.subtree_control': '', 'cgroup.procs': '',
    'cpu.stat': '', 'memory.stat': '',
  });
  fs.addDir('/sys/kernel/mm/hugepages/hugepages-2048kB').addDir('/sys/kernel/mm/hugepages/hugepages-1048576kB');
  fs.onMkdir = (dir, f) => {
    if (dir.startsWith('/sys/fs/cgroup/')) f.addFiles(dir, v2Files(f, dir));
  };
  addKernelHooks(fs);
  return fs;
}
