// Same semantics as the iptables mode, checked packet by packet: for every golden
// case, a matrix of first packets is traced through the iptables plan (its own
// tracer) and through the nftables objects, and the outcome distributions must agree.
import { describe, expect, it } from 'vitest';
import { NFT_GOLDEN_CASES } from '../../../test/lib/nftables-golden-cases.js';
import { planFull as planIptables } from '../iptables/planner.js';
import { parseRuleset } from '../iptables/tracer-parse.js';
import { tracePacket as traceIptables } from '../iptables/tracer.js';
import type { Protocol } from '../../model/types.js';
import type { ServicePortState } from '../../state/types.js';
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

/**
 * The one deliberate difference: like kube-proxy's nftables mode, a local process reaching a
 * non-local external or LB IP of a service without endpoints is rejected at once, where
 * iptables mode (KUBE-EXTERNAL-SERVICES only in INPUT and FORWARD) lets it leave the node.
 */
function knownDifference(sp: ServicePortState, p: TracePacket, localAddresses: readonly string[]): boolean {
  const external = [...sp.externalIPs, ...sp.loadBalancerIPs].includes(p.dst) && !localAddresses.includes(p.dst);
  return p.from === 'local-process' && external;
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
          if (knownDifference(sp, p, env.localAddresses)) continue;
          const ipt = traceIptables(ruleset, p, env);
          const nft = tracePacket(objects, p, env);
          expect(normalise(nft.outcomes), `${JSON.stringify(p)}`).toEqual(normalise(ipt.outcomes));
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(0);
    });
  }
});
