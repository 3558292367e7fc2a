// Idmapped mounts (config.md#mounts uidMappings/gidMappings, #linux-mount-options idmap and ridmap), seen from
// inside real containers: files owned on the host by ids the container cannot map appear with the ids the mount's
// mapping gives them, and what the container writes lands on the host with the ids mapped back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable, type Config } from '../helpers/harness';

const enabled = rootAvailable();

// the container's user namespace: its root is host uid 100000
const USERNS = [{ containerID: 0, hostID: 100000, size: 65536 }];
// on the source filesystem uid 1000 is seen as host uid 100005 (uid 5 inside), uid 0 as 100000 (root inside)
const MOUNT_MAP = [
  { containerID: 1000, hostID: 100005, size: 1 },
  { containerID: 0, hostID: 100000, size: 1 },
];

describe.skipIf(!enabled)('idmapped mounts', () => {
  let h: Harness;
  let data: string;
  let sub: string;
  beforeAll(() => {
    h = new Harness('idmap');
    data = path.join(h.dir, 'data');
    sub = path.join(data, 'sub');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(data, 'owned'), 'x');
    fs.chownSync(path.join(data, 'owned'), 1000, 1000);
    fs.writeFileSync(path.join(data, 'rootfile'), 'r');
    // a submount of the source, for idmap against ridmap on an rbind (tmpfs takes idmaps since Linux 6.3)
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'idmap-sub', sub], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`mount tmpfs: ${m.stderr}`);
    fs.writeFileSync(path.join(sub, 'deep'), 'd');
    fs.chownSync(path.join(sub, 'deep'), 1000, 1000);
    // mount points: the container's root cannot make directories in a rootfs it does not own
    for (const d of ['idm', 'idm2', 'plain']) fs.mkdirSync(path.join(h.rootfs, d));
  });
  afterAll(() => {
    if (sub) spawnSync('umount', ['-l', sub]);
    h?.cleanup();
  });

  const userns = (c: Config) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = USERNS;
    c.linux.gidMappings = USERNS;
  };

  /** Runs script in a container with edit applied; returns stdout, failing on a non-zero exit. */
  function sh(script: string, edit: (c: Config) => void): string {
    const r = h.run(['sh', '-c', script], edit);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(leftovers(h.root, r.id)).toEqual([]);
    return r.stdout;
  }

  it("maps the source's ids through the mount's own mappings, both ways", () => {
    const out = sh('stat -c "%n %u:%g" /idm/owned /idm/rootfile /plain/owned; id -u; touch /idm/made-inside', (c) => {
      userns(c);
      c.mounts.push({ destination: '/idm', source: data, options: ['bind', 'idmap'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP });
      // rbind: in a user namespace a plain bind may not uncover what the submount hides (EINVAL)
      c.mounts.push({ destination: '/plain', source: data, options: ['rbind'] });
    });
    // without the idmap, host uid 1000 is unmapped in the container: the overflow id
    expect(out).toBe('/idm/owned 5:5\n/idm/rootfile 0:0\n/plain/owned 65534:65534\n0\n');
    // the container's root (host uid 100000) wrote through the mount: on disk that is uid 0
    const st = fs.statSync(path.join(data, 'made-inside'));
    expect([st.uid, st.gid]).toEqual([0, 0]);
    fs.rmSync(path.join(data, 'made-inside'));
  });

  it("without mappings on the mount, takes the container's user namespace mapping", () => {
    const out = sh('stat -c "%n %u:%g" /idm2/owned /idm2/rootfile', (c) => {
      userns(c);
      c.mounts.push({ destination: '/idm2', source: data, options: ['bind', 'idmap'] });
    });
    expect(out).toBe('/idm2/owned 1000:1000\n/idm2/rootfile 0:0\n');
  });

  it("takes a joined user namespace's mapping by its path", () => {
    const owner = h.id('userns');
    const b = h.bundle((c: Config) => {
      userns(c);
      c.process.args = ['sleep', '1000'];
    });
    expect(h.tsrun(['run', '-d', '--bundle', b, owner]).code).toBe(0);
    const pid = JSON.parse(h.tsrun(['state', owner]).stdout).pid;
    const out = sh('stat -c "%n %u" /idm2/owned /idm2/rootfile; cat /proc/self/uid_map', (c) => {
      c.linux.namespaces.push({ type: 'user', path: `/proc/${pid}/ns/user` });
      c.mounts.push({ destination: '/idm2', source: data, options: ['bind', 'idmap'] });
    });
    expect(out.replace(/ +/g, ' ')).toBe('/idm2/owned 1000\n/idm2/rootfile 0\n 0 100000 65536\n');
    expect(h.tsrun(['delete', '--force', owner]).code).toBe(0);
    expect(leftovers(h.root, owner)).toEqual([]);
  });

  it('idmap maps only the top of an rbind; ridmap maps its submounts too', () => {
    const edit = (opt: string) => (c: Config) => {
      userns(c);
      c.mounts.push({ destination: '/idm', source: data, options: ['rbind', opt], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP });
    };
    expect(sh('stat -c %u /idm/owned /idm/sub/deep', edit('idmap'))).toBe('5\n65534\n');
    expect(sh('stat -c %u /idm/owned /idm/sub/deep', edit('ridmap'))).toBe('5\n5\n');
  });

  it('needs no user namespace of the container when the mount has its mappings', () => {
    // no user namespace: the ids the mount gives are the host's
    const out = sh('stat -c %u:%g /idm/owned', (c) => {
      c.mounts.push({ destination: '/idm', source: data, options: ['bind', 'ridmap'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP });
    });
    expect(out).toBe('100005:100005\n');
  });

  it('refuses idmap with neither mappings nor a user namespace, and one mapping without the other', () => {
    const cases: [(c: Config) => void, string][] = [
      [(c) => c.mounts.push({ destination: '/idm', source: data, options: ['bind', 'idmap'] }), `$.mounts[7].options: "idmap" needs uidMappings and gidMappings`],
      [(c) => c.mounts.push({ destination: '/idm', source: data, options: ['bind', 'idmap'], uidMappings: MOUNT_MAP }), '$.mounts[7].gidMappings: is required with uidMappings'],
      [(c) => c.mounts.push({ destination: '/idm', type: 'tmpfs', source: 'tmpfs', options: ['ridmap'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP }), '$.mounts[7]: idmapped mounts must be bind mounts'],
    ];
    for (const [edit, message] of cases) {
      const r = h.run(['true'], edit);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(1);
      expect(leftovers(h.root, r.id)).toEqual([]);
    }
  });
});
