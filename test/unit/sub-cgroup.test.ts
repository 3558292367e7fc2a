import { describe, expect, it } from 'vitest';
import { subCgroupPaths } from '../../src/cgroups/sub-cgroup';

const v1 = { cpu: '/cg/cpu/c', cpuacct: '/cg/cpu/c', memory: '/cg/memory/c', 'name=systemd': '/cg/systemd/c' };
const v2 = { unified: '/cg/c' };

describe('exec --cgroup', () => {
  it('no flag: the container cgroup itself', () => {
    expect(subCgroupPaths(v1, [])).toBe(v1);
  });
  it('a path for all hierarchies, "/" and "." meaning below the container', () => {
    expect(subCgroupPaths(v2, ['/a/./b/'])).toEqual({ unified: '/cg/c/a/b' });
    expect(subCgroupPaths(v1, ['x'])).toEqual({ cpu: '/cg/cpu/c/x', cpuacct: '/cg/cpu/c/x', memory: '/cg/memory/c/x', 'name=systemd': '/cg/systemd/c/x' });
  });
  it('per controller on v1, the rest from the path for all or the container', () => {
    expect(subCgroupPaths(v1, ['memory:m', 'cpu,cpuacct:c'])).toEqual({ cpu: '/cg/cpu/c/c', cpuacct: '/cg/cpu/c/c', memory: '/cg/memory/c/m', 'name=systemd': '/cg/systemd/c' });
    expect(subCgroupPaths(v1, ['memory:m', 'all'])['name=systemd']).toBe('/cg/systemd/c/all');
    expect(subCgroupPaths(v1, ['name=systemd:s'])['name=systemd']).toBe('/cg/systemd/c/s');
  });
  it('refuses what it cannot honour', () => {
    expect(() => subCgroupPaths(v2, ['memory:x'])).toThrow(/cgroup v2 has a single hierarchy/);
    expect(() => subCgroupPaths(v1, ['pids:x'])).toThrow(/the container has no "pids" cgroup/);
    expect(() => subCgroupPaths(v1, [':x'])).toThrow(/has no "" cgroup/);
    expect(() => subCgroupPaths(v1, ['a/../../b'])).toThrow(/may not leave/);
    expect(() => subCgroupPaths(v1, ['memory:a', 'memory:b'])).toThrow(/"memory" was given twice/);
    expect(() => subCgroupPaths(v1, ['a', 'b'])).toThrow(/given twice/);
    expect(() => subCgroupPaths({}, ['a'])).toThrow(/has no cgroup/);
  });
});
