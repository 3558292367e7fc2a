import { describe, expect, it } from 'vitest';
import * as os from 'node:os';
import { parseSignal } from '../../src/runtime/kill';
import { SIGNAL_NUMBERS } from '../../src/runtime/signal-numbers';

describe('parseSignal (tsrun kill ID SIGNAL)', () => {
  it('defaults to SIGTERM', () => {
    expect(parseSignal(undefined)).toBe(15);
    expect(parseSignal('')).toBe(15);
  });
  it('takes numbers, names with or without SIG, any case', () => {
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('KILL')).toBe(9);
    expect(parseSignal('SIGKILL')).toBe(9);
    expect(parseSignal('sigkill')).toBe(9);
    expect(parseSignal('hup')).toBe(1);
  });
  it('takes 0, which only checks that the init exists (as runc)', () => {
    expect(parseSignal('0')).toBe(0);
  });
  it('takes real-time signals by offset', () => {
    expect(parseSignal('SIGRTMIN')).toBe(34);
    expect(parseSignal('RTMIN+3')).toBe(37);
    expect(parseSignal('SIGRTMAX')).toBe(64);
    expect(parseSignal('SIGRTMAX-2')).toBe(62);
  });
  it('refuses numbers out of range and unknown names, saying which', () => {
    expect(() => parseSignal('65')).toThrow('invalid signal "65": out of range 0-64');
    expect(() => parseSignal('SIGNOPE')).toThrow('invalid signal "SIGNOPE"');
    expect(() => parseSignal('RTMIN+31')).toThrow('invalid signal "RTMIN+31"');
    expect(() => parseSignal('-1')).toThrow('invalid signal "-1"');
  });
});

describe('SIGNAL_NUMBERS (the table kill uses instead of node:os)', () => {
  it('holds the numbers of os.constants.signals, every one of them', () => {
    expect(process.platform).toBe('linux');
    const fromNode = os.constants.signals as Record<string, number>;
    // SIGUNUSED and SIGLOST are aliases some libcs and Node versions add; kill(2) here has no such names
    const names = Object.keys(fromNode).filter((n) => n !== 'SIGUNUSED' && n !== 'SIGLOST');
    expect(names.length).toBeGreaterThan(30);
    for (const n of names) expect([n, SIGNAL_NUMBERS[n]]).toEqual([n, fromNode[n]]);
    for (const n of Object.keys(SIGNAL_NUMBERS)) expect([n, fromNode[n]]).toEqual([n, SIGNAL_NUMBERS[n]]);
  });
  it('takes only signal names, not the properties every object has', () => {
    expect(() => parseSignal('constructor')).toThrow('invalid signal "constructor"');
    expect(() => parseSignal('__proto__')).toThrow('invalid signal "__proto__"');
  });
});
