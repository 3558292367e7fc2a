// linux.memoryPolicy, linux.netDevices and linux.intelRdt from inside real containers, and their errors: a clear
// message with the JSON path, exit 1, nothing left behind (no device moved, no mount, cgroup or state).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Harness, leftovers, rootAvailable, type Config } from '../helpers/harness';

const enabled = rootAvailable();

function ip(...args: string[]): { code: number; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { code: r.status ?? 1, out: r.stdout + r.stderr };
}
const linkExists = (name: string) => ip('link', 'show', 'dev', name).code === 0;

/** The kernel tears a network namespace down in the background: a device of it goes a moment after. */
function goneSoon(name: string): boolean {
  for (let i = 0; i < 100; i++) {
    if (!linkExists(name)) return true;
    spawnSync('sleep', ['0.05']);
  }
  return false;
}

describe.skipIf(!enabled)('linux.memoryPolicy', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('mempol');
  });
  afterAll(() => h?.cleanup());

  /** The policy of the process's busybox mapping, as numa_maps(5) shows it ("interleave:0", "bind=balancing:0"). */
  const policyOf = (out: string) => /^\S+ (\S+(?: \S+)?) file=\/bin\/busybox/m.exec(out)?.[1];

  it('gives the container process the policy, and every exec too', () => {
    const interleave = h.run(['grep', '-m1', 'busybox', '/proc/self/numa_maps'], (c: Config) => {
      c.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0' };
    });
    expect(interleave.stderr).toBe('');
    expect(policyOf(interleave.stdout)).toBe('interleave:0');
    const bind = h.run(['grep', '-m1', 'busybox', '/proc/self/numa_maps'], (c: Config) => {
      c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] };
    });
    expect(policyOf(bind.stdout)).toBe('bind=balancing:0');
    const plain = h.run(['grep', '-m1', 'busybox', '/proc/self/numa_maps']);
    expect(policyOf(plain.stdout)).toBe('default');

    const id = h.id('exec');
    const b = h.bundle((c: Config) => {
      c.process.args = ['sleep', '1000'];
      c.linux.memoryPolicy = { mode: 'MPOL_PREFERRED', nodes: '0' };
    });
    expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
    const e = h.tsrun(['exec', id, 'grep', '-m1', 'busybox', '/proc/self/numa_maps']);
    expect(e.code).toBe(0);
    expect(policyOf(e.stdout)).toBe('prefer:0');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('refuses a node the host lacks, a bad combination the kernel refuses, and a missing mode', () => {
    const cases: [unknown, string][] = [
      [{ mode: 'MPOL_BIND', nodes: '0,1' }, '$.linux.memoryPolicy.nodes: node 1 does not exist on this host (online: 0)'],
      [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }, '$.linux.memoryPolicy: the kernel refuses set_mempolicy MPOL_INTERLEAVE with MPOL_F_NUMA_BALANCING, nodes mask 0x1: invalid argument'],
      [{ mode: 'MPOL_LOCAL', flags: ['MPOL_F_STATIC_NODES'] }, '$.linux.memoryPolicy: the kernel refuses set_mempolicy MPOL_LOCAL with MPOL_F_STATIC_NODES, nodes none: invalid argument'],
      [{ mode: 'MPOL_DEFAULT', nodes: '0' }, '$.linux.memoryPolicy.nodes: must be empty for MPOL_DEFAULT'],
      [{ nodes: '0' }, '$.linux.memoryPolicy.mode'],
    ];
    for (const [memoryPolicy, message] of cases) {
      for (const cmd of ['create', 'run']) {
        const id = h.id('bad');
        const b = h.bundle((c: Config) => (c.linux.memoryPolicy = memoryPolicy));
        const r = h.tsrun([cmd, '--bundle', b, id]);
        expect(r.stderr).toContain(message);
        expect(r.code).toBe(1);
        expect(leftovers(h.root, id)).toEqual([]);
      }
    }
  });
});

describe.skipIf(!enabled)('linux.netDevices', () => {
  let h: Harness;
  const made: string[] = [];
  let n = 0;
  /** A veth pair the test owns; the host end has an address and is up, the other one is for the container. */
  function vethPair(): { inner: string; outer: string; net: string } {
    const k = `${process.pid % 10000}${++n}`;
    const inner = `tsvi${k}`;
    const outer = `tsvo${k}`;
    const net = `10.${200 + (n % 50)}.${process.pid % 250}`;
    expect(ip('link', 'add', inner, 'type', 'veth', 'peer', 'name', outer).out).toBe('');
    made.push(inner, outer);
    expect(ip('addr', 'add', `${net}.2/24`, 'dev', inner).code).toBe(0);
    expect(ip('addr', 'add', `${net}.1/24`, 'dev', outer).code).toBe(0);
    expect(ip('link', 'set', outer, 'up').code).toBe(0);
    return { inner, outer, net };
  }
  beforeAll(() => {
    h = new Harness('netdev');
  });
  afterAll(() => {
    for (const dev of made) if (linkExists(dev)) ip('link', 'del', dev);
    h?.cleanup();
  });

  it('moves a host device in, renamed, up, with its address: the container reaches the host through it', () => {
    const v = vethPair();
    const id = h.id('veth');
    const b = h.bundle((c: Config) => {
      // -w: until one reply comes, for at most 10 s (the link may still be coming up)
      c.process.args = ['sh', '-c', 'ip -o addr show dev eth1; ip -o link show dev eth1; ping -c 1 -w 10 ' + `${v.net}.1`];
      c.linux.netDevices = { [v.inner]: { name: 'eth1' } };
    });
    const r = h.tsrun(['run', '--bundle', b, id]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`eth1    inet ${v.net}.2/24 scope global eth1`);
    expect(r.stdout).toMatch(/eth1@\S+: <[^>]*\bUP\b/);
    expect(r.stdout).toContain('1 packets received');
    expect(linkExists(v.inner)).toBe(false);
    // the spec: the runtime does not move it back; the namespace went with the container, and a virtual device
    // goes with it (the veth pair is destroyed: its host end too)
    expect(goneSoon(v.outer)).toBe(true);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('lets the kernel pick a "%d" name, and works from a user-namespaced container', () => {
    const v = vethPair();
    const r = h.run(['sh', '-c', 'id -u; ip -o link show dev net0 && cat /proc/self/uid_map'], (c: Config) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.netDevices = { [v.inner]: { name: 'net%d' } };
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^0\n\d+: net0@/);
    expect(r.stdout).toContain('100000');
    expect(leftovers(h.root, r.id)).toEqual([]);
  });

  it('moves the devices back when create fails after the move (a failing hook, a missing executable, a joined namespace)', () => {
    const v = vethPair();
    // the hook sees the device in the container's namespace, then fails create
    const seen = `${h.dir}/hook-saw-${v.inner}`;
    const hook = `${h.dir}/netdev-hook.sh`;
    fs.writeFileSync(hook, `#!/bin/sh\npid=$(sed 's/.*"pid":\\([0-9]*\\).*/\\1/')\nnsenter -t "$pid" -n ip -o link > ${seen}\nexit 3\n`, { mode: 0o755 });
    const cases: [(c: Config) => void, string][] = [
      [(c) => (c.hooks = { createRuntime: [{ path: hook }] }), 'createRuntime hook #0'],
      [(c) => (c.process.args = ['/nonexistent']), 'no such file or directory'],
    ];
    for (const [edit, message] of cases) {
      const id = h.id('back');
      const b = h.bundle((c: Config) => {
        c.linux.netDevices = { [v.inner]: { name: 'eth1' } };
        edit(c);
      });
      const r = h.tsrun(['run', '--bundle', b, id]);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(1);
      expect(leftovers(h.root, id)).toEqual([]);
      // back under its own name, with its address, and the pair whole (a destroyed veth takes its peer)
      expect(ip('-o', 'addr', 'show', 'dev', v.inner).out).toContain(`inet ${v.net}.2/24`);
      expect(linkExists(v.outer)).toBe(true);
    }
    expect(fs.readFileSync(seen, 'utf8')).toMatch(/: eth1@/);

    // from a joined network namespace, which outlives the failed container
    const owner = h.id('netowner');
    expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c: Config) => (c.process.args = ['sleep', '1000'])), owner]).code).toBe(0);
    const pid = JSON.parse(h.tsrun(['state', owner]).stdout).pid;
    const r = h.run(['/nonexistent'], (c: Config) => {
      c.linux.namespaces = c.linux.namespaces.map((x: { type: string }) => (x.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : x));
      c.linux.netDevices = { [v.inner]: { name: 'eth1' } };
    });
    expect(r.code).toBe(1);
    expect(leftovers(h.root, r.id)).toEqual([]);
    expect(ip('-o', 'addr', 'show', 'dev', v.inner).out).toContain(`inet ${v.net}.2/24`);
    const inside = h.tsrun(['exec', owner, 'ip', '-o', 'link']);
    expect(inside.stdout).not.toContain('eth1');
    expect(h.tsrun(['delete', '--force', owner]).code).toBe(0);
  });

  it('refuses a device the host lacks, a config without a network namespace, and a name taken in a joined namespace', () => {
    const v = vethPair();
    const cases: [(c: Config) => void, string][] = [
      [(c) => (c.linux.netDevices = { tsnope0: {} }), '$.linux.netDevices.tsnope0: no network device "tsnope0" on the host'],
      [(c) => {
        c.linux.netDevices = { [v.inner]: {} };
        c.linux.namespaces = c.linux.namespaces.filter((x: { type: string }) => x.type !== 'network');
      }, '$.linux.netDevices: needs a network namespace'],
      [(c) => (c.linux.netDevices = { [v.inner]: { name: 'a/b' } }), `$.linux.netDevices.${v.inner}.name: "a/b" is not a valid network interface name`],
    ];
    for (const [edit, message] of cases) {
      const r = h.run(['true'], edit);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(1);
      expect(leftovers(h.root, r.id)).toEqual([]);
    }
    // a container whose network namespace another one joins; "lo" is taken there: checked before any move
    const owner = h.id('owner');
    expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c: Config) => (c.process.args = ['sleep', '1000'])), owner]).code).toBe(0);
    const pid = JSON.parse(h.tsrun(['state', owner]).stdout).pid;
    const r = h.run(['true'], (c: Config) => {
      c.linux.namespaces = c.linux.namespaces.map((x: { type: string }) => (x.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : x));
      c.linux.netDevices = { [v.inner]: { name: 'lo' } };
    });
    expect(r.stderr).toContain(`$.linux.netDevices.${v.inner}: a network device named "lo" is already in the container's network namespace`);
    expect(r.code).toBe(1);
    expect(leftovers(h.root, r.id)).toEqual([]);
    expect(linkExists(v.inner)).toBe(true); // still on the host, with its address
    expect(ip('-o', 'addr', 'show', 'dev', v.inner).out).toContain(`${v.net}.2/24`);
    expect(h.tsrun(['delete', '--force', owner]).code).toBe(0);
  });
});

describe.skipIf(!enabled)('linux.intelRdt', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('rdt');
  });
  afterAll(() => h?.cleanup());
  const resctrl = fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' - resctrl ');

  it.skipIf(resctrl)('is refused where no resctrl filesystem is mounted, naming it, and leaves nothing', () => {
    for (const intelRdt of [{}, { closID: '/' }, { closID: 'gold', schemata: ['L3:0=f'] }, { enableMonitoring: true }]) {
      for (const cmd of ['create', 'run']) {
        const id = h.id('rdt');
        const r = h.tsrun([cmd, '--bundle', h.bundle((c: Config) => (c.linux.intelRdt = intelRdt)), id]);
        expect(r.stderr).toContain('$.linux.intelRdt: no resctrl filesystem is mounted (/sys/fs/resctrl is absent)');
        expect(r.code).toBe(1);
        expect(leftovers(h.root, id)).toEqual([]);
      }
    }
  });

  it.skipIf(!resctrl)('puts the container in a group named after it, removed at delete', () => {
    const id = h.id('rdt');
    const b = h.bundle((c: Config) => {
      c.process.args = ['sleep', '1000'];
      c.linux.intelRdt = {};
    });
    expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
    const pid = JSON.parse(h.tsrun(['state', id]).stdout).pid;
    const mount = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes(' - resctrl '))!.split(' ')[4];
    expect(fs.readFileSync(`${mount}/${id}/tasks`, 'utf8').split('\n')).toContain(String(pid));
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(fs.existsSync(`${mount}/${id}`)).toBe(false);
  });
});
