import { describe, expect, it } from 'vitest';
import { emptyMapsContent } from './maps-content.js';
import type { Lb4Key, Lb4Service } from './map-types.js';
import { BE_FLAG_LOCAL, SVC_FLAG_AFFINITY, SVC_FLAG_CLUSTER_IP } from './map-types.js';
import { renderMaps, renderStateMaps } from './maps-report.js';

function put(c: ReturnType<typeof emptyMapsContent>, key: Lb4Key, value: Partial<Lb4Service>): void {
  c.services.put(key, { backendId: 0, count: 0, flags: 0, revNatIndex: 0, affinityTimeout: 0, ...value });
}

describe('renderMaps', () => {
  it('decodes frontends with flags and the backends their slots resolve to, and says what is broken', () => {
    const c = emptyMapsContent();
    const web = { address: '10.96.0.10', port: 80, proto: 'TCP', scope: 0 } as const;
    put(c, { ...web, slot: 0 }, { count: 2, flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_AFFINITY, revNatIndex: 1, affinityTimeout: 300 });
    put(c, { ...web, slot: 1 }, { backendId: 1 });
    put(c, { ...web, slot: 2 }, { backendId: 9 });
    c.backends.set(1, { address: '10.244.1.5', port: 8080, proto: 'TCP', flags: BE_FLAG_LOCAL });
    c.revNat.set(1, { address: '10.96.0.10', port: 80 });
    put(c, { address: '10.96.0.11', port: 53, proto: 'UDP', scope: 0, slot: 0 }, { count: 0, flags: SVC_FLAG_CLUSTER_IP, revNatIndex: 2 });
    expect(renderMaps(c).split('\n')).toEqual([
      'TCP 10.96.0.10:80 #1 cluster-ip,affinity affinity 300s -> 10.244.1.5:8080 [local], slot 2: missing',
      'UDP 10.96.0.11:53 #2 cluster-ip no reverse NAT -> (no endpoints: rejected)',
      '2 frontends, 1 backends, 1 reverse-NAT entries, 0 Maglev tables',
      '',
    ]);
  });

  it('shows IPv6 frontends and backends with bracketed addresses, the internal scope marked', () => {
    const c = emptyMapsContent();
    const np = { address: 'fd00::5', port: 30080, proto: 'TCP', scope: 1 } as const;
    put(c, { ...np, slot: 0 }, { count: 1, flags: SVC_FLAG_CLUSTER_IP, revNatIndex: 3 });
    put(c, { ...np, slot: 1 }, { backendId: 4 });
    c.backends.set(4, { address: 'fd00:244::7', port: 8080, proto: 'TCP', flags: 0 });
    c.revNat.set(3, { address: 'fd00::5', port: 30080 });
    expect(renderMaps(c).split('\n')[0]).toBe('TCP [fd00::5]:30080 (internal) #3 cluster-ip -> [fd00:244::7]:8080');
  });

  it('summarises the state maps on one line, undecodable entries called out', () => {
    expect(renderStateMaps([{ name: 'svcp_ct4', entries: 2, undecodable: 0 }, { name: 'svcp_lb4_aff', entries: 0, undecodable: 1 }])).toBe(
      'state: svcp_ct4 2, svcp_lb4_aff 0 (+1 undecodable)\n',
    );
  });
});
