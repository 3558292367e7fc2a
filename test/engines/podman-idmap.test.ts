// podman's idmapped volumes (`-v SRC:DST:idmap`) with tsrun, in a container with its own user namespace
// (--uidmap/--gidmap): the volume's files show through the container's mapping, and what the container writes
// lands on the host with the ids mapped back. podman's own binds (/etc/hosts, /dev/shm...) come from its 0700
// state directories, which the container's root cannot search: stage 0 opens them (native/bindsrc.c).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { commandOf, engineAvailable } from './engines';
import { Podman } from './podman-engine';

const enabled = engineAvailable('podman', ['podman', 'conmon']);
const USERNS = ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536'];

describe.skipIf(!enabled)('podman idmapped volumes with tsrun', () => {
  let p: Podman;
  let vol: string;
  beforeAll(() => {
    p = new Podman();
    // the rootfs is a plain directory (--rootfs): podman chowns nothing, so it belongs to the container's root,
    // which makes the mount points (/vol, /etc/hosts...), and the path to it must be searchable
    fs.chmodSync(p.dir, 0o755);
    const r = spawnSync('chown', ['-R', '100000:100000', p.rootfs]);
    if (r.status !== 0) throw new Error(`chown the rootfs: ${r.stderr}`);
    vol = path.join(p.dir, 'vol');
    fs.mkdirSync(vol, { mode: 0o755 });
    fs.writeFileSync(path.join(vol, 'owned'), 'x');
    fs.chownSync(path.join(vol, 'owned'), 1000, 1000);
  });
  afterAll(() => {
    if (!p) return;
    const problems = p.cleanup();
    const left = p.leftovers();
    if (problems.length || left.length) {
      throw new Error(`podman idmap test left things behind (kept ${p.dir}):\n${[...problems, ...left].join('\n')}`);
    }
    p.removeDir();
  });

  it('a volume with idmap shows its owners through the container mapping; without, unmapped', () => {
    const script = 'stat -c "%u:%g" /vol/owned; cat /proc/self/uid_map';
    const r = p.run(['--rm', ...USERNS, '-v', `${vol}:/vol:idmap`], ['/bin/sh', '-c', `${script}; touch /vol/made`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/ +/g, ' ')).toBe('1000:1000\n 0 100000 65536\n');
    // the container's root wrote through the mapping: root on the host
    const st = fs.statSync(path.join(vol, 'made'));
    expect([st.uid, st.gid]).toEqual([0, 0]);
    const plain = p.run(['--rm', ...USERNS, '-v', `${vol}:/vol`], ['/bin/sh', '-c', script]);
    expect(plain.stdout.replace(/ +/g, ' ')).toBe('65534:65534\n 0 100000 65536\n');
    expect(p.calls().filter((c) => commandOf(c.argv).command === 'create')).toHaveLength(2);
  });
});
