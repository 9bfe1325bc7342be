import { describe, expect, it } from 'vitest';
import { SnapshotMap } from './snapshot-map.js';

describe('SnapshotMap', () => {
  it('derives new snapshots without changing earlier ones', () => {
    const e0 = SnapshotMap.empty<number>().edit();
    for (let i = 0; i < 1000; i++) e0.set(`k${i}`, i);
    const s1 = e0.done();
    expect(s1.size).toBe(1000);
    expect(s1.get('k7')).toBe(7);

    const e1 = s1.edit();
    e1.set('k7', 70);
    e1.set('new', -1);
    e1.delete('k8');
    e1.delete('missing');
    const s2 = e1.done();
    expect(s2.size).toBe(1000);
    expect([s2.get('k7'), s2.get('new'), s2.has('k8')]).toEqual([70, -1, false]);
    expect([s1.get('k7'), s1.has('new'), s1.get('k8')]).toEqual([7, false, 8]);

    // Editing on after done() must not leak into the sealed snapshot.
    e1.set('later', 1);
    const s3 = e1.done();
    expect(s2.has('later')).toBe(false);
    expect(s3.get('later')).toBe(1);
    expect(s3.size).toBe(1001);
  });

  it('iterates every entry exactly once through all ReadonlyMap views', () => {
    const e = SnapshotMap.empty<string>().edit();
    for (let i = 0; i < 300; i++) e.set(`k${i}`, `v${i}`);
    e.delete('k0');
    const s = e.done();
    const keys = [...s.keys()];
    expect(new Set(keys).size).toBe(299);
    expect(keys).not.toContain('k0');
    expect([...s.values()].sort()).toEqual(keys.map((k) => `v${k.slice(1)}`).sort());
    expect([...s].map(([k]) => k)).toEqual(keys);
    const seen: string[] = [];
    s.forEach((v, k, m) => {
      expect(m.get(k)).toBe(v);
      seen.push(k);
    });
    expect(seen).toEqual(keys);
    expect(new Map(s).size).toBe(299);
  });

  it('reports whether an editor wrote anything', () => {
    const s = SnapshotMap.empty<number>();
    const e = s.edit();
    e.delete('absent');
    expect(e.changed).toBe(false);
    e.set('a', 1);
    expect(e.changed).toBe(true);
  });
});
