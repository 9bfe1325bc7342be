// Which conntrack entries must go after a sync, as kube-proxy's conntrack cleanup
// decides: for UDP (and SCTP) a conntrack entry outlives the rules that created it,
// so clients keep sending to a removed endpoint, or to the REJECT of a service that
// just got endpoints, until the entry is deleted.
import type { IPFamily, Protocol } from '../model/types.js';
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState } from './types.js';

export interface StaleServiceIP {
  readonly family: IPFamily;
  readonly protocol: Protocol;
  readonly ip: string;
  readonly port: number;
}
export interface StaleNodePort {
  readonly family: IPFamily;
  readonly protocol: Protocol;
  readonly port: number;
}
export interface StaleEndpoint {
  readonly family: IPFamily;
  readonly protocol: Protocol;
  /** A service IP (cluster, external or load-balancer) whose flows were DNATed to `endpointIP`. */
  readonly serviceIP: string;
  readonly port: number;
  readonly endpointIP: string;
}

export interface StaleFlows {
  /** Service IPs of services that went from no endpoints to some: their REJECT-era entries must go. */
  readonly serviceIPs: readonly StaleServiceIP[];
  readonly nodePorts: readonly StaleNodePort[];
  /** Entries DNATed to an endpoint that is no longer used. */
  readonly endpoints: readonly StaleEndpoint[];
  /** NodePort entries DNATed to an endpoint that is no longer used. */
  readonly nodePortEndpoints: readonly StaleNodePortEndpoint[];
}

export interface StaleNodePortEndpoint {
  readonly family: IPFamily;
  readonly protocol: Protocol;
  readonly nodePort: number;
  readonly endpointIP: string;
}

const STALE_PROTOCOLS: ReadonlySet<Protocol> = new Set(['UDP', 'SCTP']);

function usedEndpoints(sp: ServicePortState | undefined): Map<string, EndpointInfo> {
  const out = new Map<string, EndpointInfo>();
  if (!sp) return out;
  for (const ep of [...sp.clusterEndpoints, ...sp.localEndpoints]) out.set(`${ep.ip}|${ep.port}`, ep);
  return out;
}

function serviceIPs(sp: ServicePortState): string[] {
  return [...(sp.clusterIP ? [sp.clusterIP] : []), ...sp.externalIPs, ...sp.loadBalancerIPs];
}

type Mutable = { serviceIPs: StaleServiceIP[]; nodePorts: StaleNodePort[]; endpoints: StaleEndpoint[]; nodePortEndpoints: StaleNodePortEndpoint[] };

function familyFlows(prev: FamilyState, next: FamilyState, keys: Iterable<string>, out: Mutable): void {
  for (const key of keys) {
    const before = prev.get(key);
    const after = next.get(key);
    const ref = after ?? before;
    if (!ref || !STALE_PROTOCOLS.has(ref.protocol)) continue;
    const oldEps = usedEndpoints(before);
    const newEps = usedEndpoints(after);
    if (after && oldEps.size === 0 && newEps.size > 0) {
      for (const ip of serviceIPs(after)) out.serviceIPs.push({ family: after.family, protocol: after.protocol, ip, port: after.port });
      if (after.nodePort > 0) out.nodePorts.push({ family: after.family, protocol: after.protocol, port: after.nodePort });
    }
    if (!before) continue;
    const newIPs = new Set([...newEps.values()].map((e) => e.ip));
    const gone = new Set([...oldEps.values()].filter((e) => !newIPs.has(e.ip)).map((e) => e.ip));
    for (const endpointIP of gone) {
      for (const ip of serviceIPs(before)) out.endpoints.push({ family: before.family, protocol: before.protocol, serviceIP: ip, port: before.port, endpointIP });
      if (before.nodePort > 0) out.nodePortEndpoints.push({ family: before.family, protocol: before.protocol, nodePort: before.nodePort, endpointIP });
    }
  }
}

/** Compares the state that was programmed before a sync with the one programmed now. */
export function staleFlows(prev: DesiredState, next: DesiredState, changed?: { readonly IPv4: ReadonlySet<string>; readonly IPv6: ReadonlySet<string> }): StaleFlows {
  const out: Mutable = { serviceIPs: [], nodePorts: [], endpoints: [], nodePortEndpoints: [] };
  for (const family of ['IPv4', 'IPv6'] as const) {
    const keys = changed ? changed[family] : new Set([...prev[family].keys(), ...next[family].keys()]);
    familyFlows(prev[family], next[family], keys, out);
  }
  return out;
}

export function isEmpty(f: StaleFlows): boolean {
  return f.serviceIPs.length + f.nodePorts.length + f.endpoints.length + f.nodePortEndpoints.length === 0;
}
