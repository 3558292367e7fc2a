import { describe, expect, it } from 'vitest';
import { decodeTemplate, encodeRecipe, readFields, readSections, type Recipe } from '../../src/recipe/file';

const recipe = (): Recipe => ({
  mode: 'create',
  root: '/run/tsrun',
  bundle: '/srv/b',
  config: Buffer.from('{"ociVersion":"1.0.2"}\n'),
  id: 'web-000001',
  binaries: [{ path: '/usr/lib/tsrun/tsrun-init', identity: '2049 1234 107000 1700000000000000000' }],
  guards: [
    { kind: 'file', path: '/proc/self/uid_map', text: '         0          0 4294967295\n' },
    { kind: 'file', path: '/sys/module/apparmor/parameters/enabled', text: null },
    { kind: 'rootfs-file', path: '/etc/passwd', text: 'root:x:0:0::/root:/bin/sh\n12:34\n' },
    { kind: 'stat', path: '/srv/data', is: null },
  ],
  cgroup: [
    { op: 'mkdirp', path: ['/sys/fs/cgroup/pids/', { hole: 'id' }], created: [['/sys/fs/cgroup/pids/', { hole: 'id' }]] },
    { op: 'write', path: ['/sys/fs/cgroup/pids/', { hole: 'id' }, '/pids.max'], data: '64' },
    { op: 'subdirs', path: ['/sys/fs/cgroup/pids'], names: ['a', 'b:c'] },
  ],
  // bytes that look like the format itself: newlines, colons, section headers
  plan: Buffer.from([0, 1, 2, 0x0a, 0x3a, ...Buffer.from('plan 3\n'), 255]),
  configCopy: Buffer.from('{}'),
  templates: { created: ['{"id":"', { hole: 'id' }, '","pid":', { hole: 'pid' }, '}'] },
});

describe('the recipe file', () => {
  it('reads back section by section, field by field, whatever bytes the values hold', () => {
    const b = encodeRecipe(recipe());
    expect(b.subarray(0, 15).toString()).toBe('tsrun-recipe 1\n');
    const s = readSections(b);
    expect(s.map((x) => x.name)).toEqual([
      'key', 'config', 'id', 'binary', 'guard', 'guard', 'guard', 'guard', 'cgroup', 'cgroup', 'cgroup', 'plan', 'config-copy', 'template',
    ]);
    expect(readFields(s[0].body).map(String)).toEqual(['create', '/run/tsrun', '/srv/b']);
    expect(s[1].body.equals(recipe().config)).toBe(true);
    expect(s.find((x) => x.name === 'plan')!.body.equals(recipe().plan)).toBe(true);
    expect(readFields(s[5].body).map(String)).toEqual(['file', '/sys/module/apparmor/parameters/enabled', '0', '']);
    expect(readFields(s[6].body).map(String)).toEqual(['rootfs-file', '/etc/passwd', '1', 'root:x:0:0::/root:/bin/sh\n12:34\n']);
    expect(readFields(s[7].body).map(String)).toEqual(['stat', '/srv/data', '-']);
    const mk = readFields(s[8].body);
    expect(String(mk[0])).toBe('mkdirp');
    expect(decodeTemplate(mk[1])).toEqual(['/sys/fs/cgroup/pids/', { hole: 'id' }]);
    expect(decodeTemplate(mk[2])).toEqual(['/sys/fs/cgroup/pids/', { hole: 'id' }]);
    expect(readFields(s[10].body).slice(2).map(String)).toEqual(['a', 'b:c']);
    const [name, tpl] = readFields(s[13].body);
    expect(String(name)).toBe('created');
    expect(decodeTemplate(tpl)).toEqual(recipe().templates.created);
  });

  it('a truncated or altered file is refused, not misread', () => {
    const b = encodeRecipe(recipe());
    expect(() => readSections(b.subarray(0, b.length - 3))).toThrow(/bad section/);
    expect(() => readSections(Buffer.concat([Buffer.from('tsrun-recipe 2\n'), b.subarray(15)]))).toThrow(/not a recipe/);
    expect(() => readFields(Buffer.from('5:abc'))).toThrow(/bad field/);
  });
});
