// Behaviour of the nftables planner's objects, traced packet by packet: where
// first packets go for every service type and policy.
import { describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { CLIENT, CLUSTER_IP, ctx, ENV, EXTERNAL_IP, LB_IP, local3, NODE_IP, NODE_PORT, POD, remote1, remote2 } from '../../../test/lib/trace-scenario.js';
import { even, expectEndpoints as endpoints, masqueraded as masq, onlyOutcome as only, totalProbability } from '../../../test/lib/tracer-expect.js';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { ServicePortState } from '../../state/types.js';
import type { NftObjects } from './objects.js';
import { memoObjects, planFull, planPartial } from './planner.js';
import type { TracePacket, TraceResult } from '../common/trace.js';
import { tracePacket } from './tracer.js';

function load(ports: readonly ServicePortState[], context: NodeContext = ctx(), family: IPFamily = 'IPv4'): NftObjects {
  return memoObjects(planFull(familyState(...ports), { family, ctx: context }));
}

function trace(objects: NftObjects, packet: Partial<TracePacket> & Pick<TracePacket, 'dst'>, env = ENV): TraceResult {
  const result = tracePacket(objects, { src: CLIENT, protocol: 'TCP', dport: 80, from: 'outside', ...packet }, env);
  expect(totalProbability(result)).toBeCloseTo(1, 9);
  return result;
}

describe('ClusterIP', () => {
  const objects = load([servicePort({ clusterEndpoints: [remote1, remote2, local3] })]);

  it('splits evenly over the endpoints from a pod, without masquerading', () => {
    const r = trace(objects, { src: POD, dst: CLUSTER_IP, from: 'pod' });
    expect(endpoints(r)).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080', '10.244.2.2:8080'));
    expect(masq(r)).toEqual([false]);
  });

  it('masquerades a local process (outside the cluster CIDR)', () => {
    const r = trace(objects, { src: NODE_IP, dst: CLUSTER_IP, from: 'local-process' });
    expect(endpoints(r)).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080', '10.244.2.2:8080'));
    expect(masq(r)).toEqual([true]);
  });

  it('rejects other ports and protocols of the cluster IP after DNAT (kube-proxy\'s cluster-ips-check)', () => {
    for (const packet of [{ src: POD, dst: CLUSTER_IP, dport: 81, from: 'pod' as const }, { src: POD, dst: CLUSTER_IP, protocol: 'UDP' as const }, { src: NODE_IP, dst: CLUSTER_IP, dport: 81, from: 'local-process' as const }]) {
      const r = only(trace(objects, packet));
      expect(r).toMatchObject({ verdict: 'REJECT', probability: 1 });
      expect(r.chains).toContain('cluster-ips-check');
    }
  });

  it('drops unallocated addresses of the service CIDRs, and only those', () => {
    const withRange = load([servicePort({ clusterEndpoints: [remote1] })], ctx({ serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/108'] }));
    for (const from of ['pod', 'local-process'] as const) {
      expect(only(trace(withRange, { src: from === 'pod' ? POD : NODE_IP, dst: '10.96.200.1', from }))).toMatchObject({ verdict: 'DROP', probability: 1 });
    }
    expect(only(trace(withRange, { src: POD, dst: CLUSTER_IP }))).toMatchObject({ verdict: 'DNAT', destination: '10.244.1.1:8080' });
    // Outside the ranges: untouched, as before. Without ranges given, no drop at all.
    expect(only(trace(withRange, { src: POD, dst: '10.112.0.1' })).verdict).toBe('ACCEPT');
    expect(only(trace(objects, { src: POD, dst: '10.96.200.1' })).verdict).toBe('ACCEPT');
  });
});

describe('NodePort', () => {
  const objects = load([servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1, remote2] })]);

  it('from outside, masqueraded; from the node on its IP', () => {
    for (const packet of [{ dst: NODE_IP }, { src: NODE_IP, dst: NODE_IP, from: 'local-process' as const }]) {
      const r = trace(objects, { ...packet, dport: NODE_PORT });
      expect(endpoints(r)).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
      expect(masq(r)).toEqual([true]);
    }
  });

  it('is not served on 127.0.0.1 (kube-proxy\'s nftables mode): the node\'s own port, refused when nothing listens', () => {
    expect(only(trace(objects, { src: '127.0.0.1', dst: '127.0.0.1', dport: NODE_PORT, from: 'local-process' }))).toMatchObject({ verdict: 'ACCEPT', masqueraded: false });
    const v6 = load([servicePort({ clusterIP: 'fd00:96::10', nodePort: NODE_PORT, clusterEndpoints: [endpoint('fd00:244::1', 8080)] })], ctx(), 'IPv6');
    expect(only(trace(v6, { src: '::1', dst: '::1', dport: NODE_PORT, from: 'local-process' }, { localAddresses: ['fd00:1::10', '::1'] })).verdict).toBe('ACCEPT');
  });

  it('is not served on addresses that are not the node', () => {
    expect(only(trace(objects, { dst: '192.168.1.99', dport: NODE_PORT })).verdict).toBe('ACCEPT');
  });

  it('nodePortAddresses restricts NodePorts to local addresses in those CIDRs', () => {
    const restricted = load([servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1] })], ctx({ nodePortAddresses: ['192.168.1.0/24'] }));
    expect(only(trace(restricted, { dst: NODE_IP, dport: NODE_PORT })).destination).toBe('10.244.1.1:8080');
    expect(only(trace(restricted, { src: '127.0.0.1', dst: '127.0.0.1', dport: NODE_PORT, from: 'local-process' })).verdict).toBe('ACCEPT');
  });
});

describe('external IPs and load balancers', () => {
  it('external IP: to the endpoints, masqueraded', () => {
    const r = trace(load([servicePort({ externalIPs: [EXTERNAL_IP], clusterEndpoints: [remote1, remote2] })]), { dst: EXTERNAL_IP });
    expect(endpoints(r)).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
    expect(masq(r)).toEqual([true]);
  });

  it('load-balancer source ranges: allowed sources reach the endpoints, others are dropped before DNAT', () => {
    const objects = load([servicePort({ loadBalancerIPs: [LB_IP], loadBalancerSourceRanges: ['203.0.113.0/24'], clusterEndpoints: [remote1, remote2] })]);
    expect(endpoints(trace(objects, { src: '203.0.113.200', dst: LB_IP }))).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
    const dropped = only(trace(objects, { src: '192.0.2.1', dst: LB_IP }));
    expect(dropped).toMatchObject({ verdict: 'DROP', probability: 1 });
    expect(dropped.chains).toContain('firewall-check');
  });

  it('source ranges that include the node let the node reach its own LB IP', () => {
    const objects = load([servicePort({ loadBalancerIPs: [LB_IP], loadBalancerSourceRanges: ['192.168.1.0/24'], clusterEndpoints: [remote1] })]);
    expect(only(trace(objects, { src: LB_IP, dst: LB_IP, from: 'local-process' })).destination).toBe('10.244.1.1:8080');
  });
});

describe('externalTrafficPolicy: Local', () => {
  const base = { nodePort: NODE_PORT, externalIPs: [EXTERNAL_IP], loadBalancerIPs: [LB_IP], externalPolicyLocal: true };

  it('external traffic goes only to local endpoints and keeps the client source', () => {
    const objects = load([servicePort({ ...base, clusterEndpoints: [remote1, local3, remote2] })]);
    for (const dst of [NODE_IP, EXTERNAL_IP, LB_IP]) {
      expect(only(trace(objects, { dst, dport: dst === NODE_IP ? NODE_PORT : 80 }))).toMatchObject({ verdict: 'DNAT', destination: '10.244.0.3:8080', masqueraded: false });
    }
  });

  it('pods and the node itself get Cluster policy on external addresses', () => {
    const objects = load([servicePort({ ...base, clusterEndpoints: [remote1, local3] })]);
    expect(endpoints(trace(objects, { src: POD, dst: LB_IP, from: 'pod' }))).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080'));
    const fromNode = trace(objects, { src: NODE_IP, dst: NODE_IP, dport: NODE_PORT, from: 'local-process' });
    expect(endpoints(fromNode)).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080'));
    expect(masq(fromNode)).toEqual([true]);
  });

  it('without local endpoints external traffic is dropped while the cluster IP still works', () => {
    const objects = load([servicePort({ ...base, clusterEndpoints: [remote1, remote2] })]);
    for (const dst of [NODE_IP, EXTERNAL_IP, LB_IP]) expect(only(trace(objects, { dst, dport: dst === NODE_IP ? NODE_PORT : 80 }))).toMatchObject({ verdict: 'DROP', probability: 1 });
    expect(endpoints(trace(objects, { src: POD, dst: CLUSTER_IP }))).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
  });
});

describe('internalTrafficPolicy: Local', () => {
  it('the cluster IP goes only to local endpoints', () => {
    const objects = load([servicePort({ internalPolicyLocal: true, clusterEndpoints: [remote1, local3, remote2] })]);
    expect(only(trace(objects, { src: POD, dst: CLUSTER_IP }))).toMatchObject({ verdict: 'DNAT', destination: '10.244.0.3:8080' });
  });

  it('without local endpoints the cluster IP drops, while NodePorts keep Cluster policy', () => {
    const objects = load([servicePort({ internalPolicyLocal: true, nodePort: NODE_PORT, clusterEndpoints: [remote1, remote2] })]);
    expect(only(trace(objects, { src: POD, dst: CLUSTER_IP }))).toMatchObject({ verdict: 'DROP', probability: 1 });
    expect(only(trace(objects, { src: NODE_IP, dst: CLUSTER_IP, from: 'local-process' })).verdict).toBe('DROP');
    expect(endpoints(trace(objects, { dst: NODE_IP, dport: NODE_PORT }))).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
  });
});

describe('no endpoints', () => {
  const objects = load([servicePort({ nodePort: NODE_PORT, externalIPs: [EXTERNAL_IP], loadBalancerIPs: [LB_IP] })]);

  it.each([
    ['cluster IP from a pod', { src: POD, dst: CLUSTER_IP, from: 'pod' as const }],
    ['cluster IP from the node', { src: NODE_IP, dst: CLUSTER_IP, from: 'local-process' as const }],
    ['NodePort from outside', { dst: NODE_IP, dport: NODE_PORT }],
    ['NodePort from the node', { src: NODE_IP, dst: NODE_IP, dport: NODE_PORT, from: 'local-process' as const }],
    ['external IP', { dst: EXTERNAL_IP }],
    ['load-balancer IP', { dst: LB_IP }],
  ])('rejects %s', (_name, packet) => {
    expect(only(trace(objects, packet))).toMatchObject({ verdict: 'REJECT', probability: 1 });
  });
});

describe('session affinity', () => {
  const objects = load([servicePort({ affinityTimeoutSeconds: 10800, clusterEndpoints: [remote1, remote2, local3] })]);
  const setOf = (ip: string): string => {
    const r = trace(objects, { src: POD, dst: CLUSTER_IP });
    const o = r.outcomes.find((x) => x.destination === `${ip}:8080`);
    const set = o?.affinityUpdates[0];
    if (set === undefined) throw new Error(`no affinity update for ${ip}`);
    return set;
  };

  it('records the client in the chosen endpoint\'s set, with the service\'s timeout', () => {
    const set = setOf('10.244.2.2');
    expect(set).toMatch(/^affinity-[A-Z2-7]{8}-default\/web\/tcp\/http__10\.244\.2\.2\/8080$/);
    expect(objects.sets.get(set)).toMatchObject({ flags: ['dynamic', 'timeout'], timeout: 10800 });
  });

  it('a client in an endpoint\'s set goes to that endpoint; a new client is balanced', () => {
    expect(only(trace(objects, { src: POD, dst: CLUSTER_IP, affinity: [setOf('10.244.2.2')] }))).toMatchObject({ destination: '10.244.2.2:8080', probability: 1 });
    expect(endpoints(trace(objects, { src: POD, dst: CLUSTER_IP }))).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080', '10.244.2.2:8080'));
  });
});

describe('masquerade decisions', () => {
  const port = servicePort({ clusterEndpoints: [remote1, remote2] });

  it('masqueradeAll masquerades pods too; without clusterCIDRs nothing is', () => {
    expect(masq(trace(load([port], ctx({ masqueradeAll: true })), { src: POD, dst: CLUSTER_IP }))).toEqual([true]);
    expect(masq(trace(load([port], ctx({ clusterCIDRs: [] })), { src: CLIENT, dst: CLUSTER_IP }))).toEqual([false]);
  });

  it('hairpin: an endpoint reaching its own service is masqueraded', () => {
    const r = trace(load([port]), { src: '10.244.1.1', dst: CLUSTER_IP, from: 'pod' });
    expect(Object.fromEntries(r.outcomes.map((o) => [o.destination, o.masqueraded]))).toEqual({ '10.244.1.1:8080': true, '10.244.2.2:8080': false });
  });

  it('uses the configured masquerade bit', () => {
    const objects = load([port], ctx({ masqueradeBit: 3 }));
    expect(objects.chains.get('mark-for-masquerade')?.rules[0]?.action).toEqual({ kind: 'mark', op: 'or', value: 8 });
  });
});

describe('IPv6', () => {
  const ep1 = endpoint('fd00:244::1', 8080);
  const ep2 = endpoint('fd00:244::2', 8080, { isLocal: true });
  const objects = load([servicePort({ clusterIP: 'fd00:96::10', nodePort: NODE_PORT, clusterEndpoints: [ep1, ep2] })], ctx(), 'IPv6');
  const env = { localAddresses: ['fd00:1::10', '::1'] };

  it('balances the cluster IP; serves the NodePort on the node\'s IPv6 address, masqueraded', () => {
    expect(endpoints(trace(objects, { src: 'fd00:244::99', dst: 'fd00:96::10' }, env))).toEqual(even('[fd00:244::1]:8080', '[fd00:244::2]:8080'));
    const np = trace(objects, { src: '2001:db8::7', dst: 'fd00:1::10', dport: NODE_PORT }, env);
    expect(endpoints(np)).toEqual(even('[fd00:244::1]:8080', '[fd00:244::2]:8080'));
    expect(masq(np)).toEqual([true]);
  });
});

describe('partial syncs', () => {
  it('a partial plan leaves the same objects as a fresh full plan', () => {
    const context = ctx();
    const before = [servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1, remote2] }), servicePort({ serviceName: 'db', clusterIP: '10.96.0.20', clusterEndpoints: [remote1] })];
    const after = [servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote2, local3], affinityTimeoutSeconds: 60 })];
    const full = planFull(familyState(...before), { family: 'IPv4', ctx: context });
    const partial = planPartial(familyState(...after), new Set(['default/web:http', 'default/db:http']), full, { family: 'IPv4', ctx: context });
    expect(partial?.kind).toBe('partial');
    expect(memoObjects(partial?.memo ?? full)).toEqual(load(after, context));
    expect(only(trace(memoObjects(partial?.memo ?? full), { src: POD, dst: '10.96.0.20' })).verdict).toBe('ACCEPT');
  });

  it('a change of node-wide options asks for a full sync', () => {
    const full = planFull(familyState(servicePort()), { family: 'IPv4', ctx: ctx() });
    expect(planPartial(familyState(servicePort()), new Set(['default/web:http']), full, { family: 'IPv4', ctx: ctx({ masqueradeAll: true }) })).toBeUndefined();
  });
});
