// The pure parts of `update` and `events`: runc's size and duration syntax,
// flags to linux.resources, merging into the saved config, validation paths,
// and the JSON lines as runc 1.1.5 prints them.
import { describe, expect, it } from 'vitest';
import { mergeResources, parseSize, resourcesFromFlags, resourcesProblems } from '../../src/runtime/update';
import { oomLine, parseDuration, statsLine } from '../../src/runtime/events';
import { emptyStats, statsJson } from '../../src/cgroups/stats';
import type { CgroupManager } from '../../src/cgroups/manager';
import type { Resources } from '../../src/spec/types';

describe('parseSize (docker units, as runc update)', () => {
  it('takes bytes and binary units in any case', () => {
    expect(parseSize('10', 'memory')).toBe(10);
    expect(parseSize('512k', 'memory')).toBe(512 * 1024);
    expect(parseSize('64m', 'memory')).toBe(64 << 20);
    expect(parseSize('64M', 'memory')).toBe(64 << 20);
    expect(parseSize('1g', 'memory')).toBe(1 << 30);
    expect(parseSize('1GiB', 'memory')).toBe(1 << 30);
    expect(parseSize('100kb', 'memory')).toBe(102400);
    expect(parseSize('1.5g', 'memory')).toBe(1.5 * (1 << 30));
    expect(parseSize('2 m', 'memory')).toBe(2 << 20);
    expect(parseSize('-1', 'memory')).toBe(-1);
  });
  it("refuses the rest with runc's words", () => {
    expect(() => parseSize('1x', 'memory')).toThrow("invalid value for memory: invalid size: '1x'");
    expect(() => parseSize('-2', 'memory-swap')).toThrow("invalid value for memory-swap: invalid size: '-2'");
    expect(() => parseSize('', 'memory')).toThrow(/invalid size/);
    expect(() => parseSize('m', 'memory')).toThrow(/invalid size/);
  });
});

describe('resourcesFromFlags', () => {
  it('sets only what was given', () => {
    expect(resourcesFromFlags({})).toEqual({});
    expect(resourcesFromFlags({ memory: '16m', 'memory-swap': '-1', 'pids-limit': 0, 'cpu-quota': -1, 'cpu-period': 100000 })).toEqual({
      memory: { limit: 16 << 20, swap: -1 },
      pids: { limit: 0 },
      cpu: { quota: -1, period: 100000 },
    });
    expect(resourcesFromFlags({ 'cpu-share': 512, 'cpuset-cpus': '0-1', 'cpuset-mems': '0', 'cpu-rt-runtime': 950, 'cpu-rt-period': 1000, 'cpu-idle': 1 })).toEqual({
      cpu: { shares: 512, cpus: '0-1', mems: '0', realtimeRuntime: 950, realtimePeriod: 1000, idle: 1 },
    });
    expect(resourcesFromFlags({ 'memory-reservation': '8m', 'kernel-memory': '1m', 'kernel-memory-tcp': '1m' })).toEqual({
      memory: { reservation: 8 << 20, kernel: 1 << 20, kernelTCP: 1 << 20 },
    });
    expect(resourcesFromFlags({ 'blkio-weight': 300 })).toEqual({ blockIO: { weight: 300 } });
    expect(resourcesFromFlags({ 'blkio-weight': 0 })).toEqual({}); // runc: 0 is "not given"
  });
  it('refuses values of the wrong sign or kind', () => {
    expect(() => resourcesFromFlags({ 'cpu-period': -1 })).toThrow('invalid value for cpu-period: must be a non-negative integer (got -1)');
    expect(() => resourcesFromFlags({ 'pids-limit': Number.NaN })).toThrow(/invalid value for pids-limit/);
  });
});

describe('mergeResources', () => {
  it('merges objects key by key; arrays and scalars replace', () => {
    const base: Resources = { memory: { limit: 1, swap: 2 }, devices: [{ allow: false, access: 'rwm' }], pids: { limit: 5 } };
    expect(mergeResources(base, { memory: { limit: 3 }, devices: [{ allow: true, access: 'r' }] })).toEqual({
      memory: { limit: 3, swap: 2 },
      devices: [{ allow: true, access: 'r' }],
      pids: { limit: 5 },
    });
    expect(base.memory).toEqual({ limit: 1, swap: 2 }); // not changed in place
  });
});

describe('resourcesProblems', () => {
  it('names fields as resources.<path>', () => {
    expect(resourcesProblems({})).toEqual([]);
    expect(resourcesProblems({ memory: { limit: 1 << 20 }, pids: { limit: -1 }, cpu: { quota: -1 } })).toEqual([]);
    const p = resourcesProblems({ memory: { limit: 'x', swappiness: 200 }, pids: { limit: 1.5 }, devices: [{ allow: true, access: 'rwx' }] });
    const paths = p.map((x) => x.path);
    expect(paths).toContain('resources.memory.limit');
    expect(paths).toContain('resources.pids.limit');
    expect(paths).toContain('resources.devices[0].access');
    expect(p.find((x) => x.path === 'resources.memory.limit')!.message).toMatch(/must be an integer/);
    expect(resourcesProblems([])).toEqual([{ path: 'resources', message: expect.stringMatching(/must be an object/) }]);
  });
  it('runs the cross-field checks too', () => {
    expect(resourcesProblems({ memory: { limit: 100, swap: 50 } })).toEqual([
      { path: 'resources.memory.swap', message: expect.stringMatching(/at least memory.limit/) },
    ]);
  });
});

describe('parseDuration (Go syntax, as runc events --interval)', () => {
  it('reads units and sums', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250us')).toBe(0.25);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('0')).toBe(0);
  });
  it('refuses what Go refuses', () => {
    for (const bad of ['5', 's', '5x', '1m30', '', '-']) expect(() => parseDuration(bad), bad).toThrow(/invalid duration/);
  });
});

describe('event lines', () => {
  it('are runc 1.1.5 shapes', () => {
    expect(oomLine('c1')).toBe('{"type":"oom","id":"c1"}\n');
    const s = emptyStats();
    s.pids.current = 3;
    const cg = { stats: () => s } as unknown as CgroupManager;
    const line = statsLine('c1', cg);
    expect(line.endsWith('}\n')).toBe(true);
    const e = JSON.parse(line);
    expect(Object.keys(e)).toEqual(['type', 'id', 'data']);
    expect(e.type).toBe('stats');
    // omitempty as runc: an idle container's throttling and blkio are {}
    expect(e.data.cpu.throttling).toEqual({});
    expect(e.data.blkio).toEqual({});
    expect(e.data.pids).toEqual({ current: 3 });
    expect(e.data.network_interfaces).toBeNull();
  });
  it("print maps' keys sorted, as Go does", () => {
    const s = emptyStats();
    s.memory.raw = { rss: 2, cache: 1, active_anon: 3 };
    expect(statsJson(s)).toContain('"raw":{"active_anon":3,"cache":1,"rss":2}');
  });
});
