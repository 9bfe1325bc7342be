// The applier and the dump against fake kernel maps: each record goes to its
// family's map (svcp_lb4_* or svcp_lb6_*), batches never mix maps or reorder ops,
// and a dump of both families' maps is the content that was applied.
import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { applyOps, countStateMaps, dumpMaps, LB_MAP_NAMES, openMaps, STATE_MAP_KEYS, type LbMapKey, type LbMaps } from './ebpf-maps.js';
import { EBPF_MAPS } from './map-table.js';
import { emptyMapsContent } from './maps-content.js';
import { planEbpf } from './planner.js';

class FakeMap {
  readonly data = new Map<string, [Uint8Array, Uint8Array]>();
  constructor(readonly name: string, readonly calls: string[]) {}
  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    yield* this.data.values();
  }
  updateBatch(keys: readonly Uint8Array[], values: readonly Uint8Array[]): void {
    this.calls.push(`update ${this.name} x${keys.length}`);
    keys.forEach((k, i) => this.data.set(Buffer.from(k).toString('hex'), [k, values[i] as Uint8Array]));
  }
  deleteBatch(keys: readonly Uint8Array[]): void {
    this.calls.push(`delete ${this.name} x${keys.length}`);
    for (const k of keys) {
      if (!this.data.delete(Buffer.from(k).toString('hex'))) throw new Error(`${this.name}: ENOENT`);
    }
  }
  // The applier's calls: keys and values back to back, cut by the sizes the kernel map has.
  updatePacked(keys: Uint8Array, values: Uint8Array, count: number): void {
    const { key, value } = this.sizes();
    this.updateBatch(slices(keys, key, count), slices(values, value, count));
  }
  deletePacked(keys: Uint8Array, count: number): void {
    this.deleteBatch(slices(keys, this.sizes().key, count));
  }
  private sizes(): { key: number; value: number } {
    const def = Object.values(EBPF_MAPS).find((d) => d.name === this.name);
    if (def === undefined) throw new Error(`no map ${this.name}`);
    return { key: def.key.size, value: def.value.size };
  }
}

function slices(bytes: Uint8Array, size: number, count: number): Uint8Array[] {
  expect(bytes.length).toBe(size * count);
  return Array.from({ length: count }, (_, i) => bytes.slice(i * size, (i + 1) * size));
}

function fakeMaps(): { maps: LbMaps; fakes: Record<LbMapKey, FakeMap>; calls: string[] } {
  const calls: string[] = [];
  const fakes = Object.fromEntries(Object.entries(LB_MAP_NAMES).map(([k, name]) => [k, new FakeMap(name, calls)])) as Record<LbMapKey, FakeMap>;
  return { maps: fakes as unknown as LbMaps, fakes, calls };
}

const CTX = defaultNodeContext({ nodeIPs: ['10.0.0.5', 'fd00::5'] });
const v4 = servicePort({ nodePort: 30080, clusterEndpoints: [endpoint('10.244.0.1', 8080)] });
const v6 = servicePort({ family: 'IPv6', clusterIP: 'fd00:96::a', nodePort: 30080, clusterEndpoints: [endpoint('fd00:244::1', 8080), endpoint('fd00:244::2', 8080)] });

describe('eBPF maps: apply and dump, both families', () => {
  it('writes IPv4 records to svcp_lb4_* and IPv6 ones to svcp_lb6_*, and dumps back the same content', () => {
    const { maps, fakes, calls } = fakeMaps();
    const p = planEbpf({ IPv4: familyState(v4), IPv6: familyState(v6) }, CTX, emptyMapsContent(), { algorithm: 'maglev' });
    applyOps(maps, p.ops);
    // v4: cluster IP + NodePort on 10.0.0.5, one slot each; v6: cluster IP + NodePort on fd00::5, two slots each.
    expect(fakes.services.data.size).toBe(4);
    expect(fakes.services6.data.size).toBe(6);
    expect(fakes.backends.data.size).toBe(1);
    expect(fakes.backends6.data.size).toBe(2);
    expect(fakes.revNat.data.size).toBe(2);
    expect(fakes.revNat6.data.size).toBe(2);
    expect(fakes.maglev.data.size).toBe(4);
    expect(calls.every((c) => c.startsWith('update'))).toBe(true);

    const { content, undecodable } = dumpMaps(maps);
    expect(undecodable).toBe(0);
    expect(planEbpf({ IPv4: familyState(v4), IPv6: familyState(v6) }, CTX, content, { algorithm: 'maglev' }).ops).toEqual([]);
    expect(content.services.get('fd00::5:30080/TCP/0/0')?.value.count).toBe(2);
  });

  it('deletes IPv6 backends and rev-NAT entries from the IPv6 maps', () => {
    const { maps, fakes, calls } = fakeMaps();
    const both = { IPv4: familyState(v4), IPv6: familyState(v6) };
    const p = planEbpf(both, CTX, emptyMapsContent(), { algorithm: 'random' });
    applyOps(maps, p.ops);
    calls.length = 0;
    const q = planEbpf({ IPv4: familyState(v4), IPv6: new Map() }, CTX, dumpMaps(maps).content, { algorithm: 'random' });
    applyOps(maps, q.ops);
    expect(calls).toEqual(['delete svcp_lb6_svc x6', 'delete svcp_lb6_rnat x2', 'delete svcp_lb6_be x2']);
    expect(fakes.services6.data.size + fakes.backends6.data.size + fakes.revNat6.data.size).toBe(0);
    expect(fakes.services.data.size).toBe(4);
  });

  it('sends source ranges to the map of their family and dumps them back', () => {
    const { maps, fakes, calls } = fakeMaps();
    const ranged = (sp: typeof v4, ip: string, cidr: string) => ({ ...sp, loadBalancerIPs: [ip], loadBalancerSourceRanges: [cidr] });
    const desired = { IPv4: familyState(ranged(v4, '198.51.100.1', '203.0.113.0/24')), IPv6: familyState(ranged(v6, '2001:db8:1::1', '2001:db8::/32')) };
    applyOps(maps, planEbpf(desired, CTX, emptyMapsContent(), { algorithm: 'random' }).ops);
    expect(fakes.sourceRanges.data.size).toBe(1);
    expect(fakes.sourceRanges6.data.size).toBe(1);
    const { content, undecodable } = dumpMaps(maps);
    expect(undecodable).toBe(0);
    expect([...content.sourceRanges.values()].map((r) => r.cidr).sort()).toEqual(['2001:db8::/32', '203.0.113.0/24']);
    expect(planEbpf(desired, CTX, content, { algorithm: 'random' }).ops).toEqual([]);
    calls.length = 0;
    const q = planEbpf({ ...desired, IPv6: familyState(ranged(v6, '2001:db8:1::1', '2001:db9::/32')) }, CTX, content, { algorithm: 'random' });
    applyOps(maps, q.ops);
    expect(calls).toEqual(['update svcp_lb6_srcr x1', 'delete svcp_lb6_srcr x1']);
  });

  it('counts an id found in both families\' maps as undecodable and keeps the IPv4 record', () => {
    const { maps } = fakeMaps();
    applyOps(maps, [
      { map: 'backends', op: 'update', key: 1, value: { address: '10.244.0.1', port: 80, proto: 'TCP', flags: 0 } },
      { map: 'backends', op: 'update', key: 1, value: { address: 'fd00::1', port: 80, proto: 'TCP', flags: 0 } },
    ]);
    const { content, undecodable } = dumpMaps(maps);
    expect(undecodable).toBe(1);
    expect(content.backends.get(1)?.address).toBe('10.244.0.1');
  });

  it('counts the state maps\' entries, decoded through the table, undecodable ones apart', () => {
    const calls: string[] = [];
    const fakes = openMaps(STATE_MAP_KEYS, (name) => new FakeMap(name, calls));
    const ct = EBPF_MAPS.conntrack;
    const key = { saddr: '192.0.2.1', daddr: '198.51.100.1', sport: 40000, dport: 80, proto: 'TCP', dir: 0 } as const;
    fakes.conntrack.updateBatch([ct.key.encode(key), ct.key.encode({ ...key, dir: 1 })], [
      ct.value.encode({ address: '10.244.0.1', port: 8080, backendId: 1, revNatIndex: 1 }),
      ct.value.encode({ address: '198.51.100.1', port: 80, backendId: 1, revNatIndex: 1 }),
    ]);
    fakes.affinity.updateBatch([new Uint8Array(3)], [new Uint8Array(16)]);
    expect(countStateMaps(fakes as unknown as Parameters<typeof countStateMaps>[0])).toEqual([
      { name: 'svcp_ct4', entries: 2, undecodable: 0 },
      { name: 'svcp_ct6', entries: 0, undecodable: 0 },
      { name: 'svcp_lb4_aff', entries: 0, undecodable: 1 },
      { name: 'svcp_sk4_rev', entries: 0, undecodable: 0 },
      { name: 'svcp_sk6_rev', entries: 0, undecodable: 0 },
    ]);
  });
});
