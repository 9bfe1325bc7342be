// IPv6 service ports in the eBPF planner: the same frontends, scopes, ids and
// ordering as IPv4 (planner.test.ts), planned alongside IPv4 into one content
// with one id space per kind, and partial plans keyed per family.
import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, ServicePortState } from '../../state/types.js';
import { desiredState, endpoint, servicePort } from '../../../test/lib/state-fixtures.js';
import { emptyMapsContent, type EbpfMapsContent } from './maps-content.js';
import { lookupProblems } from './maps-invariants.js';
import {
  BE_FLAG_LOCAL, LB_LOOKUP_SCOPE_INT, SVC_FLAG_CLUSTER_IP, SVC_FLAG_EXTERNAL_IP, SVC_FLAG_LOADBALANCER, SVC_FLAG_MAGLEV,
  SVC_FLAG_NODEPORT, SVC_FLAG_SOURCE_RANGES, SVC_FLAG_TWO_SCOPES,
} from './map-types.js';
import { planEbpf, type EbpfPlan } from './planner.js';
import type { EbpfAlgorithm } from './frontends.js';
import { checkedPlan, lookup } from './test-builders.js';

const CTX = defaultNodeContext({ nodeIPs: ['10.0.0.5', 'fd00::5', 'FD00:0:0:1::5'] });

const state = desiredState;

const plan = (desired: DesiredState, current?: EbpfMapsContent, algorithm?: EbpfAlgorithm): EbpfPlan => checkedPlan(desired, CTX, current, algorithm);

const v6 = (partial: Partial<ServicePortState> = {}): ServicePortState => servicePort({ family: 'IPv6', clusterIP: 'fd00:96::a', ...partial });
const remote = endpoint('fd00:244::1', 8080);
const remote2 = endpoint('fd00:244::2', 8080);
const local = endpoint('fd00:244::7', 8080, { isLocal: true });

describe('planEbpf: IPv6 service ports', () => {
  it('ClusterIP: a lookup of the IPv6 cluster IP with its IPv6 endpoints, a rev-nat entry, stats', () => {
    // An IPv4 endpoint in an IPv6 service port cannot be a backend of it.
    const p = plan(state(v6({ clusterEndpoints: [remote, remote2, local, endpoint('10.244.0.1', 8080)] })));
    const l = lookup(p.content, 'fd00:96::a', 80);
    expect(l).toMatchObject({ count: 3, flags: SVC_FLAG_CLUSTER_IP, backends: ['[fd00:244::1]:8080', '[fd00:244::2]:8080', '[fd00:244::7]:8080'] });
    expect(p.content.revNat.get(l?.revNatIndex as number)).toEqual({ address: 'fd00:96::a', port: 80 });
    expect([...p.content.backends.values()].map((b) => b.flags).sort()).toEqual([0, 0, BE_FLAG_LOCAL]);
    expect(p.stats).toMatchObject({ kind: 'full', servicePorts: 1, ipv6ServicePorts: 1, frontends: 1 });
  });

  it('external IPs, LB IPs and NodePorts on the IPv6 node IPs (canonical form); no IPv4 address; source ranges on LB IPs', () => {
    const p = plan(state(v6({
      nodePort: 30080, externalIPs: ['2001:db8::5', '203.0.113.5'], loadBalancerIPs: ['2001:db8:1::1'], loadBalancerSourceRanges: ['2001:db8::/32'],
      clusterEndpoints: [remote, local], externalPolicyLocal: true,
    })));
    const heads = [...p.content.services.values()].filter((e) => e.key.slot === 0).map((e) => `${e.key.address}:${e.key.port}/${e.key.scope}`).sort();
    expect(heads).toEqual([
      '2001:db8:1::1:80/0', '2001:db8:1::1:80/1', '2001:db8::5:80/0', '2001:db8::5:80/1',
      'fd00:0:0:1::5:30080/0', 'fd00:0:0:1::5:30080/1', 'fd00:96::a:80/0', 'fd00::5:30080/0', 'fd00::5:30080/1',
    ]);
    expect(lookup(p.content, 'fd00::5', 30080)).toMatchObject({ flags: SVC_FLAG_NODEPORT | SVC_FLAG_TWO_SCOPES, backends: ['[fd00:244::7]:8080'] });
    expect(lookup(p.content, 'fd00::5', 30080, LB_LOOKUP_SCOPE_INT)).toMatchObject({ flags: SVC_FLAG_NODEPORT, count: 2 });
    expect(lookup(p.content, '2001:db8::5', 80)?.flags).toBe(SVC_FLAG_EXTERNAL_IP | SVC_FLAG_TWO_SCOPES);
    expect(lookup(p.content, '2001:db8:1::1', 80)?.flags).toBe(SVC_FLAG_LOADBALANCER | SVC_FLAG_TWO_SCOPES | SVC_FLAG_SOURCE_RANGES);
    expect(lookup(p.content, '2001:db8:1::1', 80, LB_LOOKUP_SCOPE_INT)?.flags).toBe(SVC_FLAG_LOADBALANCER | SVC_FLAG_SOURCE_RANGES);
    const rev = lookup(p.content, '2001:db8:1::1', 80)?.revNatIndex;
    expect([...p.content.sourceRanges.values()]).toEqual([{ revNatIndex: rev, cidr: '2001:db8::/32' }]);
  });

  it('IPv6 source ranges: network form, IPv4 ranges ignored, LB IPs admitted when a range covers an IPv6 node IP', () => {
    const ranges = (sp: ServicePortState) => [...plan(state(sp)).content.sourceRanges.values()].map((r) => r.cidr).sort();
    const lb = { loadBalancerIPs: ['2001:db8:1::1', '2001:DB8:1::2'], clusterEndpoints: [remote] };
    expect(ranges(v6({ ...lb, loadBalancerSourceRanges: ['2001:db8:0:0:5::9/64', '203.0.113.0/24'] }))).toEqual(['2001:db8::/64', '2001:db8::/64']);
    // fd00::/16 holds the node IP fd00::5: the node may reach its own LB IPs (canonical /128s), per LB frontend.
    const withNode = ranges(v6({ ...lb, loadBalancerSourceRanges: ['fd00::/16'] }));
    expect(new Set(withNode)).toEqual(new Set(['fd00::/16', '2001:db8:1::1/128', '2001:db8:1::2/128']));
    expect(withNode.length).toBe(6);
    const p = plan(state(v6({ ...lb, loadBalancerSourceRanges: ['fd00::/16'] })));
    expect(p.ops.filter((op) => op.map === 'sourceRanges').length).toBe(6);
    expect(lookupProblems(p.content)).toEqual([]);
  });

  it('partial plans add and remove IPv6 source ranges with the service port', () => {
    const sp = v6({ loadBalancerIPs: ['2001:db8:1::1'], clusterEndpoints: [remote], loadBalancerSourceRanges: ['2001:db8::/32'] });
    const first = plan(state(sp));
    const next = planEbpf(state({ ...sp, loadBalancerSourceRanges: ['2001:db9::/32'] }), CTX, first.content, {
      algorithm: 'random', changed: new Set(), changedIPv6: new Set([sp.key]), memo: first.memo,
    });
    expect(next.stats.kind).toBe('partial');
    expect(next.ops.filter((op) => op.map === 'sourceRanges').map((op) => `${op.op} ${op.key.cidr}`)).toEqual(['update 2001:db9::/32', 'delete 2001:db8::/32']);
    expect([...next.content.sourceRanges.values()].map((r) => r.cidr)).toEqual(['2001:db9::/32']);
  });

  it('nodePortAddresses selects IPv6 node IPs too', () => {
    const sp = v6({ nodePort: 30080, clusterEndpoints: [remote] });
    const p = planEbpf(state(sp), { ...CTX, nodePortAddresses: ['fd00::/64'] }, emptyMapsContent(), { algorithm: 'random' });
    expect(lookup(p.content, 'fd00::5', 30080)).toBeDefined();
    expect(lookup(p.content, 'fd00:0:0:1::5', 30080)).toBeUndefined();
  });

  it('dual-stack: the same service-port key in both families gives both frontends, one id space for backends and rev-nat', () => {
    const both = state(
      servicePort({ nodePort: 30080, clusterEndpoints: [endpoint('10.244.0.1', 8080)] }),
      v6({ nodePort: 30080, clusterEndpoints: [remote] }),
    );
    const p = plan(both, emptyMapsContent(), 'maglev');
    expect(lookup(p.content, '10.96.0.10', 80)?.count).toBe(1);
    expect(lookup(p.content, 'fd00:96::a', 80)).toMatchObject({ count: 1, flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_MAGLEV });
    expect([...p.content.revNat.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    expect([...p.content.backends.keys()].sort()).toEqual([1, 2]);
    expect(p.content.maglev.size).toBe(5);
    expect(p.stats).toMatchObject({ servicePorts: 2, ipv6ServicePorts: 1, frontendConflicts: 0 });
    expect(planEbpf(both, CTX, p.content, { algorithm: 'maglev' }).ops).toEqual([]);
  });

  it('partial plans: an IPv6 change touches IPv6 frontends only, the same key in IPv4 is left alone', () => {
    const before = state(servicePort({ clusterEndpoints: [endpoint('10.244.0.1', 8080)] }), v6({ clusterEndpoints: [remote] }));
    const p = plan(before);
    const after = state(servicePort({ clusterEndpoints: [endpoint('10.244.0.1', 8080)] }), v6({ clusterEndpoints: [remote, remote2] }));
    const key = 'default/web:http';
    const q = planEbpf(after, CTX, p.content, { algorithm: 'random', changed: new Set(), changedIPv6: new Set([key]), memo: p.memo });
    expect(q.stats).toMatchObject({ kind: 'partial', servicePorts: 1, ipv6ServicePorts: 1 });
    expect(q.ops.map((op) => `${op.op} ${op.map}`)).toEqual(['update backends', 'update services', 'update services']);
    expect(lookup(q.content, 'fd00:96::a', 80)?.backends).toEqual(['[fd00:244::1]:8080', '[fd00:244::2]:8080']);
    expect(planEbpf(after, CTX, q.content, { algorithm: 'random' }).ops).toEqual([]);

    // Removing the IPv6 port: its entries, rev-nat (tagged IPv6) and backends go; IPv4 stays.
    const gone = state(servicePort({ clusterEndpoints: [endpoint('10.244.0.1', 8080)] }));
    const r = planEbpf(gone, CTX, q.content, { algorithm: 'random', changed: new Set(), changedIPv6: new Set([key]), memo: q.memo });
    expect(r.ops.filter((op) => op.op === 'delete' && (op.map === 'backends' || op.map === 'revNat')).map((op) => 'family' in op && op.family)).toEqual(['IPv6', 'IPv6', 'IPv6']);
    expect([...r.content.services.keys()].every((k) => !k.includes(':') || k.startsWith('10.96.0.10:'))).toBe(true);
    expect(lookup(r.content, '10.96.0.10', 80)?.count).toBe(1);
    expect(planEbpf(gone, CTX, r.content, { algorithm: 'random' }).ops).toEqual([]);
  });

  it('after a restart, IPv6 backend ids and rev-nat indexes are recovered from the maps', () => {
    const desired = state(v6({ nodePort: 30080, clusterEndpoints: [remote, remote2] }));
    const first = plan(desired);
    const be = (id: number) => id + 40;
    const rn = (id: number) => id + 20;
    const moved = emptyMapsContent();
    for (const e of first.content.services.values()) {
      moved.services.put(e.key, { ...e.value, backendId: e.key.slot === 0 ? 0 : be(e.value.backendId), revNatIndex: rn(e.value.revNatIndex) });
    }
    for (const [id, b] of first.content.backends) moved.backends.set(be(id), b);
    for (const [id, r] of first.content.revNat) moved.revNat.set(rn(id), r);
    expect(plan(desired, moved).ops).toEqual([]);
    // A new IPv4 service takes the lowest free ids of the one id space.
    const grown = plan(state(...desired.IPv6.values(), servicePort({ clusterEndpoints: [endpoint('10.244.0.1', 80)] })), moved);
    expect(lookup(grown.content, '10.96.0.10', 80)?.revNatIndex).toBe(1);
    expect(grown.ops.every((op) => op.op === 'update')).toBe(true);
  });

  it('addresses written in any IPv6 form meet the dump\'s canonical form: no rewrite', () => {
    const p = plan(state(v6({ clusterIP: 'FD00:96:0::A', clusterEndpoints: [endpoint('fd00:244:0:0::1', 8080)] })));
    expect(lookup(p.content, 'fd00:96::a', 80)?.backends).toEqual(['[fd00:244::1]:8080']);
    expect(plan(state(v6({ clusterEndpoints: [remote] })), p.content).ops).toEqual([]);
  });
});
