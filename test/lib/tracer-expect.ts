// Test helpers over the packet tracers' results (the trace core's outcomes).
import { expect } from 'vitest';
import { formatHostPort } from '../../src/backends/common/address.js';
import type { Ruleset } from '../../src/backends/iptables/tracer-model.js';
import type { TraceOutcome, TraceResult } from '../../src/backends/common/trace.js';

/** DNAT destination -> probability (summed over masqueraded and not), for comparisons with `expect.closeTo`. */
export function expectEndpoints(result: TraceResult): Record<string, number> {
  const endpoints: Record<string, number> = {};
  for (const o of result.outcomes) {
    if (o.verdict !== 'DNAT' || o.destination === undefined) continue;
    endpoints[o.destination] = (endpoints[o.destination] ?? 0) + o.probability;
  }
  return endpoints;
}

/** Each destination with an equal share, for comparing with expectEndpoints(). */
export function even(...destinations: string[]): Record<string, unknown> {
  return Object.fromEntries(destinations.map((d) => [d, expect.closeTo(1 / destinations.length, 8)]));
}

/** The distinct masquerade flags of a trace's outcomes. */
export function masqueraded(result: TraceResult): boolean[] {
  return [...new Set(result.outcomes.map((o) => o.masqueraded))];
}

/** Sum of outcome probabilities: must be 1 for every trace. */
export function totalProbability(result: TraceResult): number {
  return result.outcomes.reduce((sum, o) => sum + o.probability, 0);
}

/** The single outcome of a deterministic trace (throws when the trace branched). */
export function onlyOutcome(result: TraceResult): TraceOutcome {
  const [first, ...rest] = result.outcomes;
  if (!first || rest.length > 0) throw new Error(`expected one outcome, got ${JSON.stringify(result.outcomes)}`);
  return first;
}

/** The `recent` set name that the DNAT rule to `ip:port` records (the endpoint's KUBE-SEP chain for affinity). */
export function affinitySetFor(ruleset: Ruleset, ip: string, port: number): string {
  const destination = formatHostPort(ip, port);
  for (const chain of ruleset.tables.nat.values()) {
    for (const rule of chain.rules) {
      if (rule.target.kind !== 'DNAT' || formatHostPort(rule.target.ip, rule.target.port) !== destination) continue;
      for (const match of rule.matches) {
        if (match.kind === 'recent' && match.mode === 'set') return match.name;
      }
    }
  }
  throw new Error(`no DNAT rule with a recent --set for ${destination}`);
}
