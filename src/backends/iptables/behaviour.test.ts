// Behaviour of the iptables planner's real output, traced packet by packet:
// where first packets of connections go for every service type and policy.
import { describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { CLIENT, CLUSTER_IP, ctx, ENV, EXTERNAL_IP, LB_IP, local3, NODE_IP, NODE_PORT, POD, remote1, remote2 } from '../../../test/lib/trace-scenario.js';
import { affinitySetFor, even, expectEndpoints, masqueraded, onlyOutcome, totalProbability } from '../../../test/lib/tracer-expect.js';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { ServicePortState } from '../../state/types.js';
import { planFull, planPartial } from './planner.js';
import type { Ruleset } from './tracer-model.js';
import { applyRestore, parseRuleset } from './tracer-parse.js';
import type { TracePacket, TraceResult } from '../common/trace.js';
import { tracePacket } from './tracer.js';

function load(ports: readonly ServicePortState[], context: NodeContext = ctx(), family: IPFamily = 'IPv4'): Ruleset {
  const plan = planFull(familyState(...ports), { family, ctx: context });
  return parseRuleset({ restore: plan.restore, jumps: plan.jumps });
}

/** Traces and checks the invariant every trace must hold. */
function trace(ruleset: Ruleset, packet: Partial<TracePacket> & Pick<TracePacket, 'dst'>, env = ENV): TraceResult {
  const result = tracePacket(ruleset, { src: CLIENT, protocol: 'TCP', dport: 80, from: 'outside', ...packet }, env);
  expect(totalProbability(result)).toBeCloseTo(1, 9);
  return result;
}

describe('ClusterIP', () => {
  const rs = load([servicePort({ clusterEndpoints: [remote1, remote2, local3] })]);

  it('splits evenly over the endpoints from a pod, without masquerading', () => {
    const result = trace(rs, { src: POD, dst: CLUSTER_IP });
    expect(expectEndpoints(result)).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080', '10.244.2.2:8080'));
    expect(masqueraded(result)).toEqual([false]);
  });

  it('splits evenly from the node, masquerading (the node is outside the cluster CIDR)', () => {
    const result = trace(rs, { src: NODE_IP, dst: CLUSTER_IP, from: 'local-process' });
    expect(expectEndpoints(result)).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080', '10.244.2.2:8080'));
    expect(masqueraded(result)).toEqual([true]);
  });

  it('does not catch other ports or protocols of the cluster IP (kube-proxy\'s iptables mode has no cluster-IP check)', () => {
    expect(onlyOutcome(trace(rs, { src: POD, dst: CLUSTER_IP, dport: 81 })).verdict).toBe('ACCEPT');
    expect(onlyOutcome(trace(rs, { src: POD, dst: CLUSTER_IP, protocol: 'UDP' })).verdict).toBe('ACCEPT');
  });

  it('balances a UDP service port too', () => {
    const udp = load([servicePort({ protocol: 'UDP', port: 53, clusterEndpoints: [endpoint('10.244.1.1', 5353), endpoint('10.244.2.2', 5353)] })]);
    expect(expectEndpoints(trace(udp, { src: POD, dst: CLUSTER_IP, protocol: 'UDP', dport: 53 }))).toEqual(even('10.244.1.1:5353', '10.244.2.2:5353'));
  });
});

describe('NodePort', () => {
  const rs = load([servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1, remote2] })]);

  it('from outside: to every endpoint, masqueraded (Cluster policy)', () => {
    const result = trace(rs, { dst: NODE_IP, dport: NODE_PORT });
    expect(expectEndpoints(result)).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
    expect(masqueraded(result)).toEqual([true]);
  });

  it('from the node, on its IP and on localhost', () => {
    for (const dst of [NODE_IP, '127.0.0.1']) {
      const result = trace(rs, { src: dst, dst, dport: NODE_PORT, from: 'local-process' });
      expect(expectEndpoints(result)).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
      expect(masqueraded(result)).toEqual([true]);
    }
  });

  it('is not served on addresses that are not the node', () => {
    expect(onlyOutcome(trace(rs, { dst: '192.168.1.99', dport: NODE_PORT })).verdict).toBe('ACCEPT');
  });

  it('localhost NodePorts: KUBE-FIREWALL drops what reaches 127.0.0.0/8 from elsewhere without DNAT', () => {
    const dropped = onlyOutcome(trace(rs, { src: CLIENT, dst: '127.0.0.1', dport: 22 }));
    expect(dropped).toMatchObject({ verdict: 'DROP', probability: 1 });
    expect(dropped.chains).toContain('filter:KUBE-FIREWALL');
    // The node's own loopback traffic, and a NodePort reached on 127.0.0.1 from outside (DNATed), pass.
    expect(onlyOutcome(trace(rs, { src: '127.0.0.1', dst: '127.0.0.1', dport: 22, from: 'local-process' })).verdict).toBe('ACCEPT');
    expect(expectEndpoints(trace(rs, { dst: '127.0.0.1', dport: NODE_PORT }))).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
  });

  it('--iptables-localhost-nodeports=false: 127.0.0.1 is left to the node (refused), without the KUBE-FIREWALL drop', () => {
    const off = load([servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1, remote2] })], ctx({ localhostNodePorts: false }));
    expect(onlyOutcome(trace(off, { src: '127.0.0.1', dst: '127.0.0.1', dport: NODE_PORT, from: 'local-process' }))).toMatchObject({ verdict: 'ACCEPT', masqueraded: false });
    expect(expectEndpoints(trace(off, { src: NODE_IP, dst: NODE_IP, dport: NODE_PORT, from: 'local-process' }))).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
    expect(onlyOutcome(trace(off, { src: CLIENT, dst: '127.0.0.1', dport: 22 })).verdict).toBe('ACCEPT');
  });

  it('nodePortAddresses restricts NodePorts to local addresses in those CIDRs', () => {
    const restricted = load([servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1] })], ctx({ nodePortAddresses: ['192.168.1.0/24'] }));
    expect(onlyOutcome(trace(restricted, { dst: NODE_IP, dport: NODE_PORT })).destination).toBe('10.244.1.1:8080');
    const onLoopback = onlyOutcome(trace(restricted, { src: '127.0.0.1', dst: '127.0.0.1', dport: NODE_PORT, from: 'local-process' }));
    expect(onLoopback.verdict).toBe('ACCEPT');
    // A second local address outside the CIDRs.
    const env = { localAddresses: [...ENV.localAddresses, '172.16.0.10'] };
    expect(onlyOutcome(trace(restricted, { dst: '172.16.0.10', dport: NODE_PORT }, env)).verdict).toBe('ACCEPT');
  });
});

describe('external IPs and load balancers', () => {
  it('external IP: to the endpoints, masqueraded', () => {
    const rs = load([servicePort({ externalIPs: [EXTERNAL_IP], clusterEndpoints: [remote1, remote2] })]);
    const result = trace(rs, { dst: EXTERNAL_IP });
    expect(expectEndpoints(result)).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
    expect(masqueraded(result)).toEqual([true]);
  });

  it('load-balancer IP without source ranges accepts any client', () => {
    const rs = load([servicePort({ loadBalancerIPs: [LB_IP], clusterEndpoints: [remote1] })]);
    expect(onlyOutcome(trace(rs, { dst: LB_IP }))).toMatchObject({ verdict: 'DNAT', destination: '10.244.1.1:8080', masqueraded: true });
  });

  it('load-balancer source ranges: allowed sources reach the endpoints, others are dropped', () => {
    const rs = load([servicePort({ loadBalancerIPs: [LB_IP], loadBalancerSourceRanges: ['203.0.113.0/24'], clusterEndpoints: [remote1, remote2] })]);
    const allowed = trace(rs, { src: '203.0.113.200', dst: LB_IP });
    expect(expectEndpoints(allowed)).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
    expect(onlyOutcome(trace(rs, { src: '192.0.2.1', dst: LB_IP }))).toMatchObject({ verdict: 'DROP', probability: 1 });
  });

  it('load-balancer source ranges that include the node let the node reach its own LB IP', () => {
    const rs = load([servicePort({ loadBalancerIPs: [LB_IP], loadBalancerSourceRanges: ['192.168.1.0/24'], clusterEndpoints: [remote1] })]);
    expect(onlyOutcome(trace(rs, { src: LB_IP, dst: LB_IP, from: 'local-process' })).destination).toBe('10.244.1.1:8080');
  });
});

describe('externalTrafficPolicy: Local', () => {
  const base = {
    nodePort: NODE_PORT, externalIPs: [EXTERNAL_IP], loadBalancerIPs: [LB_IP], externalPolicyLocal: true, healthCheckNodePort: 32000,
  };

  it('external traffic goes only to local endpoints and keeps the client source', () => {
    const rs = load([servicePort({ ...base, clusterEndpoints: [remote1, local3, remote2] })]);
    for (const dst of [NODE_IP, EXTERNAL_IP, LB_IP]) {
      const dport = dst === NODE_IP ? NODE_PORT : 80;
      expect(onlyOutcome(trace(rs, { dst, dport }))).toMatchObject({ verdict: 'DNAT', destination: '10.244.0.3:8080', masqueraded: false });
    }
    // The cluster IP keeps Cluster policy.
    expect(expectEndpoints(trace(rs, { src: POD, dst: CLUSTER_IP }))).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080', '10.244.2.2:8080'));
  });

  it('pods and the node itself get Cluster policy on external addresses (masqueraded from the node)', () => {
    const rs = load([servicePort({ ...base, clusterEndpoints: [remote1, local3] })]);
    expect(masqueraded(trace(rs, { src: POD, dst: LB_IP }))).toEqual([false]);
    expect(expectEndpoints(trace(rs, { src: POD, dst: LB_IP }))).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080'));
    const fromNode = trace(rs, { src: NODE_IP, dst: NODE_IP, dport: NODE_PORT, from: 'local-process' });
    expect(expectEndpoints(fromNode)).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080'));
    expect(masqueraded(fromNode)).toEqual([true]);
  });

  it('without local endpoints external traffic is dropped while the cluster IP still works', () => {
    const rs = load([servicePort({ ...base, clusterEndpoints: [remote1, remote2] })]);
    expect(onlyOutcome(trace(rs, { dst: NODE_IP, dport: NODE_PORT }))).toMatchObject({ verdict: 'DROP', probability: 1 });
    expect(onlyOutcome(trace(rs, { dst: EXTERNAL_IP })).verdict).toBe('DROP');
    expect(onlyOutcome(trace(rs, { dst: LB_IP })).verdict).toBe('DROP');
    expect(expectEndpoints(trace(rs, { src: POD, dst: CLUSTER_IP }))).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
  });

  it('opens the health check node port', () => {
    const rs = load([servicePort({ ...base, clusterEndpoints: [local3] })]);
    const check = onlyOutcome(trace(rs, { dst: NODE_IP, dport: 32000 }));
    expect(check.verdict).toBe('ACCEPT');
    expect(check.chains).toContain('filter:KUBE-NODEPORTS');
  });
});

describe('internalTrafficPolicy: Local', () => {
  it('the cluster IP goes only to local endpoints', () => {
    const rs = load([servicePort({ internalPolicyLocal: true, clusterEndpoints: [remote1, local3, remote2] })]);
    expect(onlyOutcome(trace(rs, { src: POD, dst: CLUSTER_IP }))).toMatchObject({ verdict: 'DNAT', destination: '10.244.0.3:8080' });
    expect(onlyOutcome(trace(rs, { src: NODE_IP, dst: CLUSTER_IP, from: 'local-process' })).destination).toBe('10.244.0.3:8080');
  });

  it('without local endpoints the cluster IP drops, while NodePorts keep Cluster policy', () => {
    const rs = load([servicePort({ internalPolicyLocal: true, nodePort: NODE_PORT, clusterEndpoints: [remote1, remote2] })]);
    expect(onlyOutcome(trace(rs, { src: POD, dst: CLUSTER_IP }))).toMatchObject({ verdict: 'DROP', probability: 1 });
    expect(expectEndpoints(trace(rs, { dst: NODE_IP, dport: NODE_PORT }))).toEqual(even('10.244.1.1:8080', '10.244.2.2:8080'));
  });
});

describe('no endpoints', () => {
  const rs = load([servicePort({ nodePort: NODE_PORT, externalIPs: [EXTERNAL_IP], loadBalancerIPs: [LB_IP] })]);

  it.each([
    ['cluster IP from a pod', { src: POD, dst: CLUSTER_IP }],
    ['cluster IP from the node', { src: NODE_IP, dst: CLUSTER_IP, from: 'local-process' as const }],
    ['NodePort from outside', { dst: NODE_IP, dport: NODE_PORT }],
    ['NodePort from the node', { src: '127.0.0.1', dst: '127.0.0.1', dport: NODE_PORT, from: 'local-process' as const }],
    ['external IP', { dst: EXTERNAL_IP }],
    ['load-balancer IP', { dst: LB_IP }],
  ])('rejects %s', (_name, packet) => {
    expect(onlyOutcome(trace(rs, packet))).toMatchObject({ verdict: 'REJECT', probability: 1 });
  });
});

describe('session affinity', () => {
  const rs = load([servicePort({ affinityTimeoutSeconds: 10800, clusterEndpoints: [remote1, remote2, local3] })]);

  it('a client in an endpoint\'s recent set goes to that endpoint', () => {
    const set = affinitySetFor(rs, '10.244.2.2', 8080);
    expect(set).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
    expect(onlyOutcome(trace(rs, { src: POD, dst: CLUSTER_IP, affinity: [set] }))).toMatchObject({ destination: '10.244.2.2:8080', probability: 1 });
  });

  it('a new client is balanced evenly', () => {
    expect(expectEndpoints(trace(rs, { src: POD, dst: CLUSTER_IP }))).toEqual(even('10.244.0.3:8080', '10.244.1.1:8080', '10.244.2.2:8080'));
  });
});

describe('masquerade decisions', () => {
  const port = servicePort({ clusterEndpoints: [remote1, remote2] });

  it('clusterCIDRs: sources outside the pod network are masqueraded, pods are not', () => {
    const rs = load([port]);
    expect(masqueraded(trace(rs, { src: CLIENT, dst: CLUSTER_IP }))).toEqual([true]);
    expect(masqueraded(trace(rs, { src: POD, dst: CLUSTER_IP }))).toEqual([false]);
  });

  it('masqueradeAll masquerades pods too', () => {
    const rs = load([port], ctx({ masqueradeAll: true }));
    expect(masqueraded(trace(rs, { src: POD, dst: CLUSTER_IP }))).toEqual([true]);
  });

  it('without clusterCIDRs nor masqueradeAll, cluster IP traffic keeps its source', () => {
    const rs = load([port], ctx({ clusterCIDRs: [] }));
    expect(masqueraded(trace(rs, { src: CLIENT, dst: CLUSTER_IP }))).toEqual([false]);
  });

  it('hairpin: an endpoint reaching its own service through the cluster IP is masqueraded', () => {
    const result = trace(load([port]), { src: '10.244.1.1', dst: CLUSTER_IP });
    const byDestination = Object.fromEntries(result.outcomes.map((o) => [o.destination, o.masqueraded]));
    expect(byDestination).toEqual({ '10.244.1.1:8080': true, '10.244.2.2:8080': false });
  });
});

describe('IPv6', () => {
  const ep1 = endpoint('fd00:244::1', 8080);
  const ep2 = endpoint('fd00:244::2', 8080, { isLocal: true });
  const rs = load([servicePort({ clusterIP: 'fd00:96::10', nodePort: NODE_PORT, clusterEndpoints: [ep1, ep2] })], ctx(), 'IPv6');
  const env = { localAddresses: ['fd00:1::10', '::1'] };

  it('balances the cluster IP over bracketed destinations', () => {
    const result = trace(rs, { src: 'fd00:244::99', dst: 'fd00:96::10' }, env);
    expect(expectEndpoints(result)).toEqual(even('[fd00:244::1]:8080', '[fd00:244::2]:8080'));
    expect(masqueraded(result)).toEqual([false]);
  });

  it('serves the NodePort on the node\'s IPv6 address, masqueraded', () => {
    const result = trace(rs, { src: '2001:db8::7', dst: 'fd00:1::10', dport: NODE_PORT }, env);
    expect(expectEndpoints(result)).toEqual(even('[fd00:244::1]:8080', '[fd00:244::2]:8080'));
    expect(masqueraded(result)).toEqual([true]);
  });

  it('never serves NodePorts on ::1 (kube-proxy: localhost NodePorts are IPv4 only)', () => {
    expect(onlyOutcome(trace(rs, { src: '::1', dst: '::1', dport: NODE_PORT, from: 'local-process' }, env))).toMatchObject({ verdict: 'ACCEPT', masqueraded: false });
  });

  it('rejects when the service has no endpoints', () => {
    const empty = load([servicePort({ clusterIP: 'fd00:96::10' })], ctx(), 'IPv6');
    expect(onlyOutcome(trace(empty, { src: 'fd00:244::99', dst: 'fd00:96::10' }, env)).verdict).toBe('REJECT');
  });
});

describe('partial syncs', () => {
  it('a partial plan applied over the full one behaves like a fresh full plan', () => {
    const context = ctx();
    const before = [servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote1, remote2] }), servicePort({ serviceName: 'db', clusterIP: '10.96.0.20', clusterEndpoints: [remote1] })];
    const after = [servicePort({ nodePort: NODE_PORT, clusterEndpoints: [remote2, local3] })];
    const full = planFull(familyState(...before), { family: 'IPv4', ctx: context });
    const partial = planPartial(familyState(...after), new Set(['default/web:http', 'default/db:http']), full.memo, { family: 'IPv4', ctx: context });
    expect(partial.kind).toBe('partial');
    const updated = applyRestore(parseRuleset({ restore: full.restore, jumps: full.jumps }), partial.restore);
    const fresh = load(after, context);
    for (const packet of [{ src: POD, dst: CLUSTER_IP }, { dst: NODE_IP, dport: NODE_PORT }, { src: POD, dst: '10.96.0.20' }]) {
      expect(trace(updated, packet).outcomes).toEqual(trace(fresh, packet).outcomes);
    }
    expect(onlyOutcome(trace(updated, { src: POD, dst: '10.96.0.20' })).verdict).toBe('ACCEPT');
  });
});
