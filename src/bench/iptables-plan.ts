// iptables planner benchmark: a synthetic FamilyState of 10,000 services x 10
// endpoints, one full plan, then one partial plan for one changed service.
// Targets (2-core CI box): full < 1 s and < 300 MB peak RSS; partial < 10 ms.
import { pathToFileURL } from 'node:url';
import { planFull, planPartial } from '../backends/iptables/planner.js';
import { defaultNodeContext } from '../state/node-context.js';
import type { EndpointInfo, FamilyState, ServicePortState } from '../state/types.js';

export interface PlanBenchResult {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly fullMs: number;
  readonly partialMs: number;
  readonly restoreBytes: number;
  readonly natRules: number;
  readonly peakRssMB: number;
}

function syntheticState(services: number, endpoints: number): Map<string, ServicePortState> {
  const state = new Map<string, ServicePortState>();
  for (let s = 0; s < services; s++) {
    const eps: EndpointInfo[] = [];
    for (let e = 0; e < endpoints; e++) {
      eps.push({
        ip: `10.${128 + (s >> 8) % 64}.${s & 255}.${e + 1}`, port: 8080, ready: true, serving: true, terminating: false,
        isLocal: e === 0, nodeName: e === 0 ? 'bench-node' : 'other', zone: undefined,
      });
    }
    const key = `ns-${s % 100}/svc-${s}:http`;
    state.set(key, {
      key, namespace: `ns-${s % 100}`, serviceName: `svc-${s}`, portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80,
      clusterIP: `10.96.${s >> 8}.${s & 255}`, externalIPs: [], loadBalancerIPs: s % 10 === 0 ? [`198.51.${s >> 8}.${s & 255}`] : [],
      loadBalancerSourceRanges: [], nodePort: s % 4 === 0 ? 30000 + ((s >> 2) % 2768) : 0, healthCheckNodePort: 0, affinityTimeoutSeconds: 0,
      externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: eps, localEndpoints: eps.slice(0, 1), hasEndpoints: true,
    });
  }
  return state;
}

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

export function runPlanBench(services = 10_000, endpoints = 10): PlanBenchResult {
  const opts = { family: 'IPv4' as const, ctx: defaultNodeContext({ nodeName: 'bench-node', clusterCIDRs: ['10.128.0.0/10'] }) };
  const state = syntheticState(services, endpoints);

  // Start from a settled heap (make bench runs node with --expose-gc), so that
  // the plan is not billed for promoting the synthetic state it was just given.
  settle();
  const t0 = performance.now();
  const full = planFull(state as FamilyState, opts);
  const fullMs = performance.now() - t0;

  // One service loses an endpoint (warm the partial path once so JIT effects do not dominate the single sample).
  const key = `ns-7/svc-7:http`;
  const changed = new Set([key]);
  const sp = state.get(key);
  if (sp === undefined) throw new Error('bench state lacks its changed service');
  state.set(key, { ...sp, clusterEndpoints: sp.clusterEndpoints.slice(1) });
  planPartial(state as FamilyState, changed, full.memo, opts);
  settle();
  const t1 = performance.now();
  const partial = planPartial(state as FamilyState, changed, full.memo, opts);
  const partialMs = performance.now() - t1;

  const result: PlanBenchResult = {
    services, endpointsPerService: endpoints, fullMs, partialMs,
    restoreBytes: full.restore.length, natRules: partial.stats.natRules,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
  console.log(
    `iptables plan: ${services} services x ${endpoints} endpoints: full ${fullMs.toFixed(0)} ms ` +
    `(${(result.restoreBytes / 1e6).toFixed(1)} MB batch, ${full.stats.rulesWritten} rules), ` +
    `one-service partial ${partialMs.toFixed(2)} ms (${partial.stats.rulesWritten} rules), peak RSS ${result.peakRssMB.toFixed(0)} MB`,
  );
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runPlanBench();
