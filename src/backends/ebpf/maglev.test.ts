import { describe, expect, it } from 'vitest';
import { fnv1a32, maglevPermutation, maglevTable, murmur3_32, type MaglevBackend } from './maglev.js';
import { LB_MAGLEV_LUT_SIZE } from './map-types.js';
import { EbpfPlanError } from './plan-errors.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const backends = (n: number, from = 0): MaglevBackend[] =>
  Array.from({ length: n }, (_, i) => ({ id: 100 + from + i, identity: `10.1.${(from + i) >> 8}.${(from + i) & 255}:8080/TCP` }));

function counts(table: Uint32Array): Map<number, number> {
  const out = new Map<number, number>();
  for (const id of table) out.set(id, (out.get(id) ?? 0) + 1);
  return out;
}

describe('hashes', () => {
  it('match the published test vectors', () => {
    expect(fnv1a32(bytes(''))).toBe(0x811c9dc5);
    expect(fnv1a32(bytes('a'))).toBe(0xe40c292c);
    expect(fnv1a32(bytes('foobar'))).toBe(0xbf9cf968);
    expect(murmur3_32(bytes(''), 0)).toBe(0);
    expect(murmur3_32(bytes('hello'), 0)).toBe(0x248bfa47);
    expect(murmur3_32(bytes('The quick brown fox jumps over the lazy dog'), 0)).toBe(0x2e4ff723);
  });

  it('gives a skip in 1..M-1 and an offset in 0..M-1', () => {
    for (const b of backends(200)) {
      const p = maglevPermutation(b.identity, 13);
      expect(p.offset).toBeGreaterThanOrEqual(0);
      expect(p.offset).toBeLessThan(13);
      expect(p.skip).toBeGreaterThanOrEqual(1);
      expect(p.skip).toBeLessThan(13);
    }
  });
});

describe('maglevTable', () => {
  it('fills every entry with one of the backends, deterministically and whatever the input order', () => {
    const bs = backends(7);
    const t = maglevTable(bs);
    expect(t.length).toBe(LB_MAGLEV_LUT_SIZE);
    const ids = new Set(bs.map((b) => b.id));
    expect(t.every((id) => ids.has(id))).toBe(true);
    expect(maglevTable([...bs].reverse())).toEqual(t);
    expect(maglevTable(bs)).toEqual(t);
  });

  it('spreads entries evenly: each backend within 1% of M/N', () => {
    for (const n of [2, 3, 10, 37, 100]) {
      const c = counts(maglevTable(backends(n)));
      expect(c.size).toBe(n);
      for (const v of c.values()) expect(Math.abs(v - LB_MAGLEV_LUT_SIZE / n) / (LB_MAGLEV_LUT_SIZE / n)).toBeLessThan(0.01);
    }
  });

  it('moves about 1/N of the entries when one of N backends goes, and only the removed one\'s entries go elsewhere mostly', () => {
    for (const n of [5, 10, 20, 50]) {
      const bs = backends(n);
      const before = maglevTable(bs);
      for (const gone of [0, Math.floor(n / 2), n - 1]) {
        const removedId = (bs[gone] as MaglevBackend).id;
        const after = maglevTable(bs.filter((_, i) => i !== gone));
        let changed = 0;
        for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) changed++;
        // The removed backend's 1/N must move; the paper's bound on the rest is small.
        const owned = counts(before).get(removedId) ?? 0;
        expect(changed).toBeGreaterThanOrEqual(owned);
        expect(changed / before.length).toBeLessThan(1 / n + 0.03);
      }
    }
  });

  it('adding a backend takes about 1/(N+1) of the table', () => {
    const bs = backends(10);
    const before = maglevTable(bs);
    const after = maglevTable([...bs, ...backends(1, 10)]);
    let changed = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) changed++;
    expect(changed / before.length).toBeLessThan(1 / 11 + 0.03);
  });

  it('is all zeros without backends and refuses sizes that are not prime or too small', () => {
    expect(maglevTable([]).every((v) => v === 0)).toBe(true);
    expect(() => maglevTable(backends(2), 16384)).toThrow(EbpfPlanError);
    expect(() => maglevTable(backends(20), 13)).toThrow(EbpfPlanError);
    const small = maglevTable(backends(3), 13);
    expect(small.length).toBe(13);
  });

  it('measures building tables of 16381 entries for 10 backends', () => {
    const bs = backends(10);
    for (let i = 0; i < 50; i++) maglevTable(bs);
    const rounds = 300;
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) maglevTable(bs);
    const per = (performance.now() - t0) / rounds;
    console.log(`maglev: ${LB_MAGLEV_LUT_SIZE} entries, 10 backends: ${per.toFixed(3)} ms per table`);
    expect(per).toBeGreaterThan(0);
  });
});
