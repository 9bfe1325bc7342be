import { describe, expect, it } from 'vitest';
import { expectedMapCounts, mapDrift } from './drift-check.js';
import { LB_MAP_NAMES } from './ebpf-maps.js';
import { emptyMapsContent } from './maps-content.js';
import type { Lb4Backend, Lb4ReverseNat, Lb4SourceRange } from './map-types.js';

describe('eBPF drift check', () => {
  const content = emptyMapsContent();
  const slot = (address: string, slot: number) => ({ address, port: 80, slot, proto: 'TCP' as const, scope: 0 as const });
  content.services.put(slot('10.96.0.1', 0), { backendId: 0, count: 0, flags: 0, revNatIndex: 0, affinityTimeout: 0 });
  content.services.put(slot('10.96.0.1', 1), { backendId: 0, count: 0, flags: 0, revNatIndex: 0, affinityTimeout: 0 });
  content.services.put(slot('fd00::1', 0), { backendId: 0, count: 0, flags: 0, revNatIndex: 0, affinityTimeout: 0 });
  content.backends.set(1, { address: '10.244.1.1' } as Lb4Backend);
  content.backends.set(2, { address: 'fd00:244::1' } as Lb4Backend);
  content.revNat.set(1, { address: '10.96.0.1' } as Lb4ReverseNat);
  content.sourceRanges.set('x', { cidr: '192.0.2.0/24' } as unknown as Lb4SourceRange);
  content.maglev.set(1, new Uint32Array(1));

  it('puts each record into its family\'s kernel map', () => {
    expect(expectedMapCounts(content)).toEqual({ services: 2, services6: 1, backends: 1, backends6: 1, revNat: 1, revNat6: 0, sourceRanges: 1, sourceRanges6: 0, maglev: 1 });
  });

  it('names the maps whose key count differs, and nothing when all match', () => {
    const expected = expectedMapCounts(content);
    expect(mapDrift(expected, { ...expected }, LB_MAP_NAMES)).toEqual([]);
    expect(mapDrift(expected, { ...expected, services: 1, backends6: 3 }, LB_MAP_NAMES)).toEqual([
      `${LB_MAP_NAMES.services}: 1 entries, 2 committed`, `${LB_MAP_NAMES.backends6}: 3 entries, 1 committed`,
    ]);
  });
});
