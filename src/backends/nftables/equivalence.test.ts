// Same semantics as the iptables mode, checked packet by packet: for every golden
// case, a matrix of first packets is traced through the iptables plan (its own
// tracer) and through the nftables objects, and the outcome distributions must agree,
// except where kube-proxy's two modes differ too (localhost NodePorts, the cluster-IP check),
// whose outcomes are checked on each side.
import { describe, expect, it } from 'vitest';
import { NFT_GOLDEN_CASES } from '../../../test/lib/nftables-golden-cases.js';
import { planFull as planIptables } from '../iptables/planner.js';
import { parseRuleset } from '../iptables/tracer-parse.js';
import { tracePacket as traceIptables } from '../iptables/tracer.js';
import type { IPFamily, Protocol } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { FamilyState, ServicePortState } from '../../state/types.js';
import { addressIn } from '../common/address.js';
import { nodeFamilyEnv } from '../../state/service-policy.js';
import { memoObjects, planFull } from './planner.js';
import type { TraceOutcome, TracePacket } from '../common/trace.js';
import { tracePacket } from './tracer.js';

interface Outcome {
  readonly verdict: string;
  readonly destination: string | undefined;
  readonly masqueraded: boolean;
  readonly probability: number;
}

/** Rounded and sorted; the path and the affinity set names are each mode's own. */
function normalise(outcomes: readonly TraceOutcome[]): Outcome[] {
  return outcomes
    .map((o) => ({ verdict: o.verdict, destination: o.destination, masqueraded: o.masqueraded, probability: Math.round(o.probability * 1e9) / 1e9 }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** First packets worth checking for a service port: each of its addresses, from each kind of source. */
function packetsFor(sp: ServicePortState, nodeIP: string, podIP: string, client: string): TracePacket[] {
  const protocol: Protocol = sp.protocol;
  const out: TracePacket[] = [];
  const sources = (dst: string, dport: number): void => {
    out.push({ src: client, dst, protocol, dport, from: 'outside' });
    out.push({ src: podIP, dst, protocol, dport, from: 'pod' });
    out.push({ src: nodeIP, dst, protocol, dport, from: 'local-process' });
    for (const ep of sp.clusterEndpoints) out.push({ src: ep.ip, dst, protocol, dport, from: 'pod' });
  };
  if (sp.clusterIP !== undefined) sources(sp.clusterIP, sp.port);
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) sources(ip, sp.port);
  for (const range of sp.loadBalancerSourceRanges) {
    const [net] = range.split('/');
    if (net !== undefined && net.includes(':') === nodeIP.includes(':')) for (const ip of sp.loadBalancerIPs) out.push({ src: net, dst: ip, protocol, dport: sp.port, from: 'outside' });
  }
  if (sp.nodePort > 0) {
    sources(nodeIP, sp.nodePort);
    const loopback = nodeIP.includes(':') ? '::1' : '127.0.0.1';
    out.push({ src: loopback, dst: loopback, protocol, dport: sp.nodePort, from: 'local-process' });
  }
  if (sp.healthCheckNodePort > 0) out.push({ src: client, dst: nodeIP, protocol: 'TCP', dport: sp.healthCheckNodePort, from: 'outside' });
  return out;
}

/** Packets for kube-proxy's cluster-ips-check: a cluster IP on a port none of its service ports uses, and an unallocated address of a service CIDR. */
function clusterIPCheckPackets(state: FamilyState, ctx: NodeContext, family: IPFamily, nodeIP: string, podIP: string): TracePacket[] {
  const out: TracePacket[] = [];
  const clusterIPs = new Set([...state.values()].flatMap((sp) => (sp.clusterIP === undefined ? [] : [sp.clusterIP])));
  for (const ip of clusterIPs) {
    const used = new Set([...state.values()].filter((sp) => sp.clusterIP === ip && sp.protocol === 'TCP').map((sp) => sp.port));
    let dport = 81;
    while (used.has(dport)) dport++;
    out.push({ src: podIP, dst: ip, protocol: 'TCP', dport, from: 'pod' }, { src: nodeIP, dst: ip, protocol: 'TCP', dport, from: 'local-process' });
  }
  for (const cidr of ctx.serviceCIDRs.filter((c) => c.includes(':') === (family === 'IPv6'))) {
    const unallocated = family === 'IPv6' ? `${cidr.split('::')[0]}::fe` : cidr.replace(/\.0\/\d+$/, '.254');
    if (clusterIPs.has(unallocated)) continue;
    out.push({ src: podIP, dst: unallocated, protocol: 'TCP', dport: 80, from: 'pod' }, { src: nodeIP, dst: unallocated, protocol: 'TCP', dport: 80, from: 'local-process' });
  }
  return out;
}

/**
 * A deliberate difference like kube-proxy's own: a local process reaching a non-local external
 * or LB IP of a service without endpoints is rejected at once in nftables mode, where iptables
 * mode (KUBE-EXTERNAL-SERVICES only in INPUT and FORWARD) lets it leave the node.
 */
function externalFromNode(sp: ServicePortState, p: TracePacket, localAddresses: readonly string[]): boolean {
  const external = [...sp.externalIPs, ...sp.loadBalancerIPs].includes(p.dst) && !localAddresses.includes(p.dst);
  return p.from === 'local-process' && external;
}

const isLoopback = (ip: string): boolean => ip === '::1' || ip.startsWith('127.');

/**
 * kube-proxy's masquerade decision for the cluster IP, which both modes must take (not merely
 * agree on): sources outside the cluster CIDR, and every source under --masquerade-all, reach
 * the endpoints masqueraded, whatever the internal traffic policy.
 */
function expectClusterIPMasquerade(sp: ServicePortState, ctx: NodeContext, p: TracePacket, outcomes: readonly TraceOutcome[]): void {
  if (sp.clusterIP === undefined || p.dst !== sp.clusterIP || p.dport !== sp.port) return;
  const offCluster = !ctx.clusterCIDRs.some((c) => c.includes(':') === p.src.includes(':') && addressIn([c], p.src));
  const fromOwnEndpoint = sp.clusterEndpoints.some((ep) => ep.ip === p.src);
  if (!(ctx.masqueradeAll || (offCluster && ctx.clusterCIDRs.length > 0)) || fromOwnEndpoint) return;
  for (const o of outcomes) if (o.verdict === 'DNAT') expect(o.masqueraded, `${JSON.stringify(p)} -> ${o.destination}`).toBe(true);
}
describe('nftables and iptables modes treat every first packet alike', () => {
  for (const c of NFT_GOLDEN_CASES) {
    it(c.name, () => {
      const v6 = c.family === 'IPv6';
      const nodeIP = v6 ? 'fd00:1::10' : '192.168.1.10';
      const env = { localAddresses: v6 ? [nodeIP, '::1'] : [nodeIP, '127.0.0.0/8'] };
      const podIP = v6 ? 'fd00:10:244:9::9' : '10.244.9.9';
      const client = v6 ? '2001:db8:ff::7' : '203.0.113.99';
      const plan = planIptables(c.state, { family: c.family, ctx: c.ctx });
      const ruleset = parseRuleset({ restore: plan.restore, jumps: plan.jumps });
      const objects = memoObjects(planFull(c.state, { family: c.family, ctx: c.ctx }));
      let compared = 0;
      for (const sp of c.state.values()) {
        for (const p of packetsFor(sp, nodeIP, podIP, client)) {
          if (externalFromNode(sp, p, env.localAddresses)) continue;
          const ipt = traceIptables(ruleset, p, env);
          const nft = tracePacket(objects, p, env);
          expectClusterIPMasquerade(sp, c.ctx, p, ipt.outcomes);
          expectClusterIPMasquerade(sp, c.ctx, p, nft.outcomes);
          if (isLoopback(p.dst) && nodeFamilyEnv(c.family, c.ctx).localhostNodePorts) {
            // Localhost NodePorts: iptables mode serves them (as from the node's IP); nftables mode,
            // as kube-proxy's, leaves 127.0.0.1 to the node (refused when nothing listens).
            const viaNodeIP = traceIptables(ruleset, { ...p, src: nodeIP, dst: nodeIP }, env);
            expect(normalise(ipt.outcomes), `${JSON.stringify(p)}`).toEqual(normalise(viaNodeIP.outcomes));
            expect(normalise(nft.outcomes), `${JSON.stringify(p)}`).toEqual([{ verdict: 'ACCEPT', destination: undefined, masqueraded: false, probability: 1 }]);
            continue;
          }
          expect(normalise(nft.outcomes), `${JSON.stringify(p)}`).toEqual(normalise(ipt.outcomes));
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(0);
    });
  }
});

describe('cluster-IP check (kube-proxy\'s nftables cluster-ips-check, which its iptables mode lacks)', () => {
  for (const c of NFT_GOLDEN_CASES) {
    const v6 = c.family === 'IPv6';
    const nodeIP = v6 ? 'fd00:1::10' : '192.168.1.10';
    const podIP = v6 ? 'fd00:10:244:9::9' : '10.244.9.9';
    const packets = clusterIPCheckPackets(c.state, c.ctx, c.family, nodeIP, podIP);
    if (packets.length === 0) continue;
    it(c.name, () => {
      const env = { localAddresses: v6 ? [nodeIP, '::1'] : [nodeIP, '127.0.0.0/8'] };
      const plan = planIptables(c.state, { family: c.family, ctx: c.ctx });
      const ruleset = parseRuleset({ restore: plan.restore, jumps: plan.jumps });
      const objects = memoObjects(planFull(c.state, { family: c.family, ctx: c.ctx }));
      const clusterIPs = new Set([...c.state.values()].map((sp) => sp.clusterIP));
      for (const p of packets) {
        // nftables: an unused port of a cluster IP is refused, an unallocated address dropped.
        const verdict = clusterIPs.has(p.dst) ? 'REJECT' : 'DROP';
        expect(normalise(tracePacket(objects, p, env).outcomes), JSON.stringify(p)).toEqual([{ verdict, destination: undefined, masqueraded: false, probability: 1 }]);
        // iptables: untouched, the packet goes on toward its original destination (kube-proxy's iptables mode).
        expect(normalise(traceIptables(ruleset, p, env).outcomes), JSON.stringify(p)).toEqual([{ verdict: 'ACCEPT', destination: undefined, masqueraded: false, probability: 1 }]);
      }
    });
  }
});
