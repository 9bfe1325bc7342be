// internalTrafficPolicy Local keeps kube-proxy's cluster-IP masquerade (issue 14, item 1): the
// rule heads the internal traffic chain, which for iTP Local is the local one. Traced packet by
// packet through both plans (iptables' and nftables'), from the golden cases.
import { describe, expect, it } from 'vitest';
import { GOLDEN_CASES } from '../../../test/lib/iptables-golden-cases.js';
import { planFull as planIptables } from '../iptables/planner.js';
import { parseRuleset } from '../iptables/tracer-parse.js';
import { tracePacket as traceIptables } from '../iptables/tracer.js';
import type { TracePacket, TraceResult } from '../common/trace.js';
import { memoObjects, planFull } from './planner.js';
import { tracePacket as traceNftables } from './tracer.js';

const env = { localAddresses: ['192.168.1.10', '127.0.0.0/8'] };

function tracers(name: string): ((p: TracePacket) => TraceResult)[] {
  const c = GOLDEN_CASES.find((g) => g.name === name);
  if (c === undefined) throw new Error(`no golden case ${name}`);
  const plan = planIptables(c.state, { family: c.family, ctx: c.ctx });
  const ruleset = parseRuleset({ restore: plan.restore, jumps: plan.jumps });
  const objects = memoObjects(planFull(c.state, { family: c.family, ctx: c.ctx }));
  return [(p) => traceIptables(ruleset, p, env), (p) => traceNftables(objects, p, env)];
}

const toClusterIP = (src: string, from: TracePacket['from']): TracePacket => ({ src, dst: '10.96.0.10', protocol: 'TCP', dport: 80, from });

describe('internalTrafficPolicy Local and the cluster-IP masquerade', () => {
  it('masquerades sources outside the cluster CIDR (from outside and from the node), not pods, and reaches only the local endpoint', () => {
    for (const trace of tracers('itp-local-masquerade')) {
      for (const p of [toClusterIP('203.0.113.99', 'outside'), toClusterIP('192.168.1.10', 'local-process')]) {
        expect(trace(p).outcomes.map((o) => [o.verdict, o.destination, o.masqueraded])).toEqual([['DNAT', '10.244.1.5:8080', true]]);
      }
      expect(trace(toClusterIP('10.244.9.9', 'pod')).outcomes.map((o) => [o.verdict, o.destination, o.masqueraded])).toEqual([['DNAT', '10.244.1.5:8080', false]]);
    }
  });

  it('with --masquerade-all, masquerades pods too', () => {
    for (const trace of tracers('itp-local-masquerade-all')) {
      expect(trace(toClusterIP('10.244.9.9', 'pod')).outcomes.map((o) => [o.verdict, o.destination, o.masqueraded])).toEqual([['DNAT', '10.244.1.5:8080', true]]);
    }
  });
});
