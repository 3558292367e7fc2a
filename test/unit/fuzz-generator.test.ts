import { describe, expect, it } from 'vitest';
import { mutate, prng } from '../fuzz/generator';

const base = { ociVersion: '1.3.0', process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } }, root: { path: 'rootfs' } };

describe('fuzz generator', () => {
  it('is reproducible from its seed', () => {
    const a = Array.from({ length: 50 }, (_, i) => mutate(base, prng(1000 + i)));
    const b = Array.from({ length: 50 }, (_, i) => mutate(base, prng(1000 + i)));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('changes the config and never the base', () => {
    const copy = JSON.stringify(base);
    const r = prng(7);
    let changed = 0;
    for (let i = 0; i < 200; i++) {
      const m = mutate(base, r);
      expect(m.what.length).toBeGreaterThan(0);
      if (JSON.stringify(m.config) !== copy) changed++;
    }
    expect(JSON.stringify(base)).toBe(copy);
    expect(changed).toBeGreaterThan(180);
  });
});
