import { describe, expect, it } from 'vitest';
import { parseSignal } from '../../src/runtime/kill';

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
