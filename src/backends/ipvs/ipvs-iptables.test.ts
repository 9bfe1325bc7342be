// IPVS mode's companion rules: a fixed rule set matching ipsets. Checked as text (it does not
// grow with the services) and by tracing packets through the rules, the planned sets and the
// virtual servers, as `svcplane trace --mode ipvs` does.
import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState } from '../../state/types.js';
import type { Protocol } from '../../model/types.js';
import { parseRuleset } from '../iptables/tracer-parse.js';
import { tracePacket } from '../iptables/tracer.js';
import { queryPacket, type TraceFrom, type TraceOutcome } from '../common/trace.js';
import { IPVS_IPTABLES_JUMPS, renderIpvsIptables } from './ipvs-iptables.js';
import { ipvsIpsetContents } from './ipvs-ipsets.js';
import { traceVirtualServers } from './tracer.js';
import { desiredVirtualServers } from './virtual-servers.js';

const ep = (ip: string): EndpointInfo => ({ ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'n1', zone: undefined });

function sp(name: string, clusterIP: string, eps: EndpointInfo[], over: Partial<ServicePortState> = {}): ServicePortState {
  return {
    key: `default/${name}:http`, namespace: 'default', serviceName: name, portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80, clusterIP,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 0, healthCheckNodePort: 0, affinityTimeoutSeconds: 0,
    externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: eps, localEndpoints: eps, hasEndpoints: eps.length > 0, ...over,
  };
}

const ctx = defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'], clusterCIDRs: ['10.244.0.0/16'] });

function stateOf(ports: readonly ServicePortState[]): DesiredState {
  return { IPv4: new Map(ports.map((p) => [p.key, p])) as FamilyState, IPv6: new Map() };
}

const ports = [
  sp('web', '10.96.0.10', [ep('10.244.1.2')], { nodePort: 30080, externalIPs: ['192.168.77.150'] }),
  sp('local', '10.96.0.11', [ep('10.244.1.3')], { nodePort: 30081, externalPolicyLocal: true, externalIPs: ['192.168.77.151'] }),
  sp('empty', '10.96.0.12', [], { nodePort: 30082 }),
  // A cluster port that is also some NodePort's number: still the cluster IP's rules only.
  sp('high', '10.96.0.13', [ep('10.244.1.4')], { port: 30080 }),
  sp('lb', '10.96.0.14', [ep('10.244.1.5')], { nodePort: 30084, loadBalancerIPs: ['192.168.77.200'], loadBalancerSourceRanges: ['192.168.77.3/32', '10.0.0.0/8'] }),
  sp('lblocal', '10.96.0.15', [ep('10.244.1.6')], { nodePort: 30085, loadBalancerIPs: ['192.168.77.201'], externalPolicyLocal: true, healthCheckNodePort: 31085 }),
];
const state = stateOf(ports);

function trace(from: TraceFrom, src: string, dst: string, dport: number, protocol: Protocol = 'TCP'): TraceOutcome[] {
  const desired = desiredVirtualServers(state, ctx);
  const ruleset = parseRuleset({ restore: renderIpvsIptables('IPv4', ctx), jumps: IPVS_IPTABLES_JUMPS });
  const ipsets = new Map(ipvsIpsetContents('IPv4', desired.virtualServers.values(), state, ctx).map(({ set, entries }) => [set.name, entries] as const));
  const env = { localAddresses: ['192.168.77.1', '127.0.0.0/8', ...desired.boundAddresses], ipsets };
  const before = tracePacket(ruleset, queryPacket({ from, src, dst, dport, protocol }), env).outcomes;
  return before.flatMap((o) => traceVirtualServers(desired.virtualServers.values(), o, protocol, dst, dport, 1 << ctx.masqueradeBit));
}

const verdicts = (outcomes: TraceOutcome[]): string[] => outcomes.map((o) => `${o.verdict}${o.destination ? ` ${o.destination}` : ''}${o.masqueraded ? ' masqueraded' : ''}`);

describe('renderIpvsIptables', () => {
  const text = renderIpvsIptables('IPv4', ctx);

  it('is a fixed rule set: no address or port of a service in it', () => {
    expect(text).not.toMatch(/10\.96\.|192\.168\.77\.|--dport/);
    expect(text).toContain('-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ\n');
    expect(text).toContain('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
    expect(text).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000');
    expect(text.trimEnd().endsWith('COMMIT')).toBe(true);
    // --masquerade-all: every source to a cluster IP.
    const all = renderIpvsIptables('IPv4', { ...ctx, masqueradeAll: true });
    expect(all).toContain('-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n');
  });

  it('masquerades hairpin traffic through KUBE-LOOP-BACK, first in KUBE-POSTROUTING', () => {
    const postrouting = text.split('\n').filter((l) => l.startsWith('-A KUBE-POSTROUTING'));
    expect(postrouting[0]).toBe('-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE');
    expect(renderIpvsIptables('IPv6', ctx)).toContain('--match-set KUBE-6-LOOP-BACK dst,dst,src -j MASQUERADE');
  });
});

describe('IPVS mode traced through the fixed rules and the planned sets', () => {
  it('masquerades off-cluster traffic to a cluster IP, not a pod\'s', () => {
    expect(verdicts(trace('outside', '203.0.113.9', '10.96.0.10', 80))).toEqual(['DNAT 10.244.1.2:8080 masqueraded']);
    expect(verdicts(trace('pod', '10.244.9.9', '10.96.0.10', 80))).toEqual(['DNAT 10.244.1.2:8080']);
    // Port 30080 on a cluster IP is not the NodePort 30080.
    expect(verdicts(trace('pod', '10.244.9.9', '10.96.0.13', 30080))).toEqual(['DNAT 10.244.1.4:8080']);
  });

  it('masquerades NodePorts and external IPs with Cluster policy, keeps the client with Local policy', () => {
    expect(verdicts(trace('outside', '203.0.113.9', '192.168.77.1', 30080))).toEqual(['DNAT 10.244.1.2:8080 masqueraded']);
    expect(verdicts(trace('outside', '203.0.113.9', '192.168.77.1', 30081))).toEqual(['DNAT 10.244.1.3:8080']);
    expect(verdicts(trace('outside', '203.0.113.9', '192.168.77.150', 80))).toEqual(['DNAT 10.244.1.2:8080 masqueraded']);
    expect(verdicts(trace('outside', '203.0.113.9', '192.168.77.151', 80))).toEqual(['DNAT 10.244.1.3:8080']);
    expect(verdicts(trace('outside', '203.0.113.9', '192.168.77.201', 80))).toEqual(['DNAT 10.244.1.6:8080']);
    expect(verdicts(trace('outside', '203.0.113.9', '192.168.77.1', 30085))).toEqual(['DNAT 10.244.1.6:8080']);
  });

  it('rejects every frontend of a port without endpoints', () => {
    expect(verdicts(trace('pod', '10.244.9.9', '10.96.0.12', 80))).toEqual(['REJECT']);
    expect(verdicts(trace('outside', '203.0.113.9', '192.168.77.1', 30082))).toEqual(['REJECT']);
  });

  it('drops new connections to a load-balancer IP from outside loadBalancerSourceRanges, and only there', () => {
    expect(verdicts(trace('outside', '192.168.77.3', '192.168.77.200', 80))).toEqual(['DNAT 10.244.1.5:8080 masqueraded']);
    expect(verdicts(trace('outside', '10.1.2.3', '192.168.77.200', 80))).toEqual(['DNAT 10.244.1.5:8080 masqueraded']);
    expect(verdicts(trace('outside', '192.168.77.9', '192.168.77.200', 80))).toEqual(['DROP']);
    // The cluster IP and the NodePort of the same port stay open.
    expect(verdicts(trace('outside', '192.168.77.9', '10.96.0.14', 80))).toEqual(['DNAT 10.244.1.5:8080 masqueraded']);
    expect(verdicts(trace('outside', '192.168.77.9', '192.168.77.1', 30084))).toEqual(['DNAT 10.244.1.5:8080 masqueraded']);
  });
});
