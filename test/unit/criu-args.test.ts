// The pure parts of driving CRIU: the shared options, mountinfo parsing, the external cgroup views, the pipes
// given back on restore, and the error line made from CRIU's output.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DESCRIPTORS_FILE, bindMounts, criuErrors, externalCgroupMounts, inheritPipes, parseMountinfo, sharedOpts } from '../../src/runtime/criu';

describe('criu arguments', () => {
  it('maps runc flags to CRIU options, soft cgroups by default, a pts master outside allowed', () => {
    const base = { imagesDirFd: 3, logLevel: 4, logFile: 'x.log', manageCgroups: true, notifyScripts: true, orphanPtsMaster: true };
    expect(sharedOpts({ criu: 'criu', imagePath: '/i' }, 'x.log')).toEqual({
      ...base,
      manageCgroupsMode: 3,
      shellJob: false,
      tcpEstablished: false,
      extUnixSk: false,
      fileLocks: false,
      autoDedup: false,
    });
    expect(
      sharedOpts(
        { criu: 'criu', imagePath: '/i', workPath: '/w', manageCgroupsMode: 'ignore', tcpEstablished: true, extUnixSk: true, shellJob: true, fileLocks: true, emptyNs: ['network'] },
        'x.log',
      ),
    ).toEqual({ ...base, manageCgroupsMode: 0, workDirFd: 4, tcpEstablished: true, extUnixSk: true, shellJob: true, fileLocks: true, autoDedup: false, emptyNs: 0x40000000 });
    expect(sharedOpts({ criu: 'criu', imagePath: '/i', manageCgroupsMode: 'strict' }, 'x.log').manageCgroupsMode).toBe(5);
    expect(() => sharedOpts({ criu: 'criu', imagePath: '/i', manageCgroupsMode: 'all' }, 'x.log')).toThrow('--manage-cgroups-mode');
    expect(() => sharedOpts({ criu: 'criu', imagePath: '/i', manageCgroupsMode: 'toString' }, 'x.log')).toThrow('--manage-cgroups-mode');
    expect(() => sharedOpts({ criu: 'criu', imagePath: '/i', emptyNs: ['pid'] }, 'x.log')).toThrow('--empty-ns: "pid"');
  });

  it('finds bind mounts by type or option, sources relative to the bundle', () => {
    const spec = { mounts: [{ destination: '/a/', type: 'bind', source: 'data' }, { destination: '/b', type: 'none', source: '/x', options: ['rbind'] }, { destination: '/proc', type: 'proc', source: 'proc' }] };
    expect(bindMounts(spec as never, '/bundle')).toEqual([{ dest: '/a', source: '/bundle/data' }, { dest: '/b', source: '/x' }]);
  });

  it('takes cgroup views of another root as external, escapes decoded', () => {
    const mi = [
      '104 47 254:0 /tmp/r / ro,relatime - ext4 /dev/vda rw',
      '112 111 0:36 /c1 /sys/fs/cgroup/systemd ro - cgroup cgroup rw,name=systemd',
      '113 111 0:35 / /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids',
      '121 104 254:0 /tmp/out /my\\040dir rw - ext4 /dev/vda rw',
    ].join('\n');
    const m = parseMountinfo(mi);
    expect(m[3]).toEqual({ root: '/tmp/out', mountPoint: '/my dir', fsType: 'ext4' });
    expect(externalCgroupMounts(m)).toEqual(['/sys/fs/cgroup/systemd']);
  });

  it('gives back only the pipes among the saved stdio', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'criu-args-'));
    try {
      fs.writeFileSync(path.join(d, DESCRIPTORS_FILE), JSON.stringify(['/dev/null', 'pipe:[12]', 'pipe:[13]']));
      expect(inheritPipes(d)).toEqual([{ key: 'pipe:[12]', fd: 1 }, { key: 'pipe:[13]', fd: 2 }]);
      expect(() => inheritPipes(path.join(d, 'none'))).toThrow(DESCRIPTORS_FILE);
    } finally {
      fs.rmSync(d, { recursive: true });
    }
  });

  it("says why CRIU failed: the first error, the last ones, and a kernel CRIU cannot run on", () => {
    expect(criuErrors('(00.1) Info\n')).toBe('');
    const old = [
      'Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds',
      'Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable',
      'Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.',
      'Error (criu/crtools.c:260): Could not initialize kernel features detection.',
    ].join('\n');
    const msg = criuErrors(old);
    expect(msg).toContain('Unexpected rt vDSO area bounds');
    expect(msg).toContain('Could not initialize kernel features detection');
    expect(msg).not.toContain('Failed to fill self vdso symtable');
    expect(msg).toContain('CRIU handles from 4.1 on');
    const files = "(00.05) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n(00.10) Error (criu/files-reg.c:1790): Can't lookup mount=23 for fd=0 path=/dev/null\n";
    expect(criuErrors(files)).toBe(": Error (criu/files-reg.c:1790): Can't lookup mount=23 for fd=0 path=/dev/null");
  });
});
