import { describe, expect, it } from 'vitest';
import { parseProcStat } from '../../src/state/proc';
import { deriveStatus, stateDocument } from '../../src/state/status';
import type { ContainerRecord } from '../../src/state/store';
import { checkId } from '../../src/state/store';

const rec: ContainerRecord = {
  ociVersion: '1.3.0',
  id: 'c',
  status: 'created',
  pid: 42,
  pidStartTime: '1000',
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-01-01T00:00:00.000Z',
  owner: '',
  cgroupPaths: {},
  pidNamespace: true,
};

const stat = (state: string, start = '1000') => parseProcStat(`42 (sleep ) x) ${state} 1 ${Array(17).fill('0').join(' ')} ${start} 0 0`);

describe('proc stat parsing', () => {
  it('finds state and start time after a comm holding spaces and parentheses', () => {
    expect(stat('S')).toMatchObject({ state: 'S', startTime: '1000', ppid: 1 });
  });
});

describe('derived status', () => {
  it('is created while the same init lives and the fifo exists', () => {
    expect(deriveStatus(rec, { stat: stat('S'), fifoExists: true, frozen: false })).toBe('created');
  });
  it('is running once the fifo is gone', () => {
    expect(deriveStatus(rec, { stat: stat('S'), fifoExists: false, frozen: false })).toBe('running');
  });
  it('is paused when frozen', () => {
    expect(deriveStatus(rec, { stat: stat('S'), fifoExists: false, frozen: true })).toBe('paused');
  });
  it('is stopped when the process is gone, a zombie, or a reused pid', () => {
    expect(deriveStatus(rec, { stat: undefined, fifoExists: true, frozen: false })).toBe('stopped');
    expect(deriveStatus(rec, { stat: stat('Z'), fifoExists: true, frozen: false })).toBe('stopped');
    expect(deriveStatus(rec, { stat: stat('S', '2000'), fifoExists: true, frozen: false })).toBe('stopped');
  });
  it('is creating while the creating tsrun lives, stopped once it died', () => {
    const creating = { ...rec, pid: 0, status: 'creating' as const };
    expect(deriveStatus(creating, { stat: undefined, fifoExists: false, frozen: false, creatorAlive: true })).toBe('creating');
    expect(deriveStatus({ ...creating, pid: 42 }, { stat: stat('S'), fifoExists: true, frozen: false, creatorAlive: true })).toBe('creating');
    expect(deriveStatus(creating, { stat: undefined, fifoExists: false, frozen: false, creatorAlive: false })).toBe('stopped');
    expect(deriveStatus({ ...creating, pid: 42 }, { stat: stat('S'), fifoExists: true, frozen: false, creatorAlive: false })).toBe('stopped');
  });
  it('prints pid 0 for a stopped container', () => {
    expect(stateDocument(rec, 'stopped').pid).toBe(0);
    expect(stateDocument(rec, 'running')).toMatchObject({ id: 'c', pid: 42, status: 'running', rootfs: '/b/rootfs' });
  });
});

describe('container ids', () => {
  it('accepts runc-style ids and refuses paths', () => {
    expect(checkId('abc-1.2_x+y')).toBe('abc-1.2_x+y');
    for (const bad of ['', '..', '.', 'a/b', 'a b', '../x']) expect(() => checkId(bad)).toThrow();
  });
});
