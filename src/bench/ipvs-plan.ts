// IPVS planner benchmark: 10,000 services x 10 endpoints (a quarter NodePorts,
// a tenth with a load-balancer IP, a seventh with ClientIP affinity), planned
// from an empty kernel (cold), replanned against the converged kernel dump with
// nothing changed, then after one endpoint went away. Run node with --expose-gc
// (as `make bench` does) so that each timing starts from a settled heap.
import { pathToFileURL } from 'node:url';
import { planIpvs } from '../backends/ipvs/ipvs-planner.js';
import { IP_VS_SVC_F_HASHED, type IpvsVirtualServerDump } from '../backends/ipvs/ipvs-types.js';
import { familyVirtualServers, type DesiredIpvs } from '../backends/ipvs/virtual-servers.js';
import { defaultNodeContext } from '../state/node-context.js';
import type { EndpointInfo, FamilyState, ServicePortState } from '../state/types.js';

export interface IpvsPlanBenchResult {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly virtualServers: number;
  readonly desiredMs: number;
  readonly fromEmptyMs: number;
  readonly fromEmptyOps: number;
  /** Desired virtual servers and plan against the converged kernel, nothing changed (a periodic full sync). */
  readonly idleMs: number;
  /** Recomputing the desired virtual servers after one endpoint change, and planning against the dump. */
  readonly changeDesiredMs: number;
  readonly changePlanMs: number;
  readonly changeOps: number;
}

function syntheticState(services: number, endpoints: number): Map<string, ServicePortState> {
  const state = new Map<string, ServicePortState>();
  for (let s = 0; s < services; s++) {
    const eps: EndpointInfo[] = [];
    for (let e = 0; e < endpoints; e++) {
      eps.push({ ip: `10.${128 + ((s >> 8) % 64)}.${s & 255}.${e + 1}`, port: 8080, ready: true, serving: true, terminating: false, isLocal: e === 0, nodeName: e === 0 ? 'bench-node' : 'other', zone: undefined });
    }
    const key = `ns-${s % 100}/svc-${s}:http`;
    state.set(key, {
      key, namespace: `ns-${s % 100}`, serviceName: `svc-${s}`, portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80,
      clusterIP: `10.96.${s >> 8}.${s & 255}`, externalIPs: [], loadBalancerIPs: s % 10 === 0 ? [`198.51.${s >> 8}.${s & 255}`] : [],
      loadBalancerSourceRanges: [], nodePort: s % 4 === 0 ? 30000 + ((s >> 2) % 2768) : 0, healthCheckNodePort: 0, affinityTimeoutSeconds: s % 7 === 0 ? 10800 : 0,
      externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: eps, localEndpoints: eps.slice(0, 1), hasEndpoints: true,
    });
  }
  return state;
}

/** The dump a kernel would give back once `desired` is programmed (hashed flag set, counts 0, newest real server first). */
function convergedDump(desired: DesiredIpvs): IpvsVirtualServerDump[] {
  return [...desired.virtualServers.values()].map((vs) => ({
    service: { ...vs.service, flags: vs.service.flags | IP_VS_SVC_F_HASHED },
    destinations: vs.destinations.map((d) => ({ ...d, activeConnections: 0, inactiveConnections: 0 })).reverse(),
  }));
}

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const out = f();
  return [out, performance.now() - t0];
}

export function runIpvsPlanBench(services = 10_000, endpoints = 10): IpvsPlanBenchResult {
  const ctx = defaultNodeContext({ nodeName: 'bench-node', nodeIPs: ['192.168.0.10'] });
  const state = syntheticState(services, endpoints);
  const plannerOpts = { gracePeriodMs: 15_000, now: 0, terminating: new Map<string, number>(), ownedAddresses: new Set(ctx.nodeIPs) };

  settle();
  const [desired, desiredMs] = timed(() => familyVirtualServers('IPv4', state as FamilyState, ctx));
  const [fromEmpty, fromEmptyMs] = timed(() => planIpvs(desired, { services: [], boundAddresses: new Set() }, plannerOpts));
  const current = { services: convergedDump(desired), boundAddresses: new Set(desired.boundAddresses) };

  // A periodic full sync with nothing to do (this also warms the paths the change below takes).
  settle();
  const [idle, idleMs] = timed(() => planIpvs(familyVirtualServers('IPv4', state as FamilyState, ctx), current, plannerOpts));
  if (idle.ops.length > 0) throw new Error(`bench: replanning a converged kernel gave ${idle.ops.length} ops`);

  // One service loses an endpoint (its cluster-IP, LB and NodePort virtual servers each lose a real server).
  const key = 'ns-0/svc-0:http';
  const sp = state.get(key);
  if (sp === undefined) throw new Error('bench state lacks its changed service');
  state.set(key, { ...sp, clusterEndpoints: sp.clusterEndpoints.slice(1) });
  settle();
  const [changed, changeDesiredMs] = timed(() => familyVirtualServers('IPv4', state as FamilyState, ctx));
  const [change, changePlanMs] = timed(() => planIpvs(changed, current, plannerOpts));

  const result: IpvsPlanBenchResult = {
    services, endpointsPerService: endpoints, virtualServers: desired.virtualServers.size,
    desiredMs, fromEmptyMs, fromEmptyOps: fromEmpty.ops.length, idleMs, changeDesiredMs, changePlanMs, changeOps: change.ops.length,
  };
  console.log(
    `ipvs plan: ${services} services x ${endpoints} endpoints (${result.virtualServers} virtual servers): ` +
    `desired ${desiredMs.toFixed(0)} ms, from empty ${fromEmptyMs.toFixed(0)} ms (${result.fromEmptyOps} ops); ` +
    `no change ${idleMs.toFixed(0)} ms; ` +
    `one endpoint removed: desired ${changeDesiredMs.toFixed(0)} ms + plan ${changePlanMs.toFixed(0)} ms (${result.changeOps} ops)`,
  );
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runIpvsPlanBench();
