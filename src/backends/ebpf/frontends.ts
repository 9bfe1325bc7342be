// The frontends one service port (IPv4 or IPv6) asks for, with kube-proxy's semantics:
// the cluster IP follows the internal traffic policy; external IPs, load-balancer
// IPs and the NodePort on each node IP follow the external one. With
// externalTrafficPolicy Local an external frontend has two lookups: EXT (traffic
// from outside: local endpoints only) and INT (traffic from inside the node:
// the cluster view, as kube-proxy's EXT chain sends pod and host traffic to SVC).
// Source ranges are per family: a frontend gets its own family's (tc checks them
// in svcp_lb4_srcr or svcp_lb6_srcr).
import { canonicalIP, cidrContains, normaliseCIDR } from '../../model/ip.js';
import type { IPFamily, Protocol } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { EndpointInfo, ServicePortState } from '../../state/types.js';
import { frontendId } from './maps-content.js';
import {
  BE_FLAG_LOCAL, BE_FLAG_TERMINATING, SVC_FLAG_AFFINITY, SVC_FLAG_CLUSTER_IP, SVC_FLAG_EXTERNAL_IP, SVC_FLAG_LOADBALANCER,
  SVC_FLAG_MAGLEV, SVC_FLAG_NODEPORT, SVC_FLAG_SOURCE_RANGES, SVC_FLAG_TWO_SCOPES,
} from './map-types.js';

export type EbpfAlgorithm = 'random' | 'maglev';

export interface BackendRef {
  /** backendKeyString: what the backend id is keyed by. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly proto: Protocol;
  readonly flags: number;
}

export type FrontendKind = 'cluster-ip' | 'external-ip' | 'load-balancer' | 'node-port';

export interface FrontendSpec {
  /** frontendId(address, port, proto). */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly proto: Protocol;
  readonly kind: FrontendKind;
  /** The service port it serves. */
  readonly servicePort: string;
  /** Slot-0 flags of the EXT entry. */
  readonly extFlags: number;
  /** Slot-0 flags of the INT entry (no TWO_SCOPES; no MAGLEV: the one table per rev_nat_index is EXT's). */
  readonly intFlags: number;
  readonly affinityTimeout: number;
  /** What EXT serves (local endpoints under externalTrafficPolicy Local). */
  readonly ext: readonly BackendRef[];
  /** What INT serves; undefined: no INT entry. */
  readonly int: readonly BackendRef[] | undefined;
  /** CIDRs of the frontend's family (network form) allowed to reach it; only load-balancer frontends. */
  readonly sourceRanges: readonly string[];
}

/** The node-wide inputs of frontend planning. */
export interface FrontendEnv {
  readonly algorithm: EbpfAlgorithm;
  /** Per family, the node IPs NodePorts listen on (ctx.nodeIPs inside ctx.nodePortAddresses when given), sorted. */
  readonly nodePortIPs: Readonly<Record<IPFamily, readonly string[]>>;
  /** Per family, all node IPs (kube-proxy lets the node reach its own LB IP when one of them is in the source ranges). */
  readonly nodeIPs: Readonly<Record<IPFamily, readonly string[]>>;
  /** Changes when any of the above changes: a memo from other options cannot be reused. */
  readonly optionsKey: string;
}

const isV4 = (a: string): boolean => !a.includes(':');
const familyOf = (a: string): IPFamily => (isV4(a) ? 'IPv4' : 'IPv6');

/** Addresses as the maps hold them: IPv6 in RFC 5952 form, so keys match a dump's. */
function canonical(address: string): string {
  return isV4(address) ? address : (canonicalIP(address) ?? address);
}

export function frontendEnv(ctx: NodeContext, algorithm: EbpfAlgorithm): FrontendEnv {
  const cidrs = ctx.nodePortAddresses;
  const perFamily = (family: IPFamily): [string[], string[]] => {
    const nodeIPs = [...new Set(ctx.nodeIPs.filter((ip) => familyOf(ip) === family).map(canonical))].sort();
    return [nodeIPs, cidrs.length === 0 ? nodeIPs : nodeIPs.filter((ip) => cidrs.some((c) => cidrContains(c, ip)))];
  };
  const [v4, v4NodePort] = perFamily('IPv4');
  const [v6, v6NodePort] = perFamily('IPv6');
  const nodePortIPs = { IPv4: v4NodePort, IPv6: v6NodePort };
  const nodeIPs = { IPv4: v4, IPv6: v6 };
  return { algorithm, nodePortIPs, nodeIPs, optionsKey: JSON.stringify([algorithm, nodePortIPs, nodeIPs]) };
}

function backendRefs(eps: readonly EndpointInfo[], proto: Protocol, family: IPFamily): BackendRef[] {
  const out: BackendRef[] = [];
  let seen: Set<string> | undefined;
  for (const ep of eps) {
    if (familyOf(ep.ip) !== family) continue;
    const address = canonical(ep.ip);
    const key = `${address}:${ep.port}/${proto}`;
    // A backend appears once per lookup: slots are a set. (The state has no duplicates; be sure cheaply.)
    seen ??= new Set();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key, address, port: ep.port, proto, flags: (ep.isLocal ? BE_FLAG_LOCAL : 0) | (ep.terminating ? BE_FLAG_TERMINATING : 0) });
  }
  return out;
}

function sourceRanges(sp: ServicePortState, env: FrontendEnv, family: IPFamily): string[] {
  const out = new Set<string>();
  for (const r of sp.loadBalancerSourceRanges) {
    const cidr = familyOf(r) === family ? normaliseCIDR(r.trim()) : undefined;
    if (cidr !== undefined) out.add(cidr);
  }
  // kube-proxy: a node inside the ranges may reach its own LB IP, which the kernel may pick as the source.
  const ranges = [...out];
  if (env.nodeIPs[family].some((ip) => ranges.some((c) => cidrContains(c, ip)))) {
    for (const ip of sp.loadBalancerIPs) {
      const host = familyOf(ip) === family ? normaliseCIDR(ip) : undefined;
      if (host !== undefined) out.add(host);
    }
  }
  return [...out].sort();
}

/** The service port's frontends in order: cluster IP, external IPs, LB IPs, NodePorts; an address repeated keeps its first. */
export function servicePortFrontends(sp: ServicePortState, env: FrontendEnv): FrontendSpec[] {
  const family = sp.family;
  const proto = sp.protocol;
  const cluster = backendRefs(sp.clusterEndpoints, proto, family);
  const local = backendRefs(sp.localEndpoints, proto, family);
  const common = (sp.affinityTimeoutSeconds > 0 ? SVC_FLAG_AFFINITY : 0);
  const maglev = env.algorithm === 'maglev' ? SVC_FLAG_MAGLEV : 0;
  const ranges = sp.loadBalancerSourceRanges.length > 0 ? sourceRanges(sp, env, family) : [];
  const out: FrontendSpec[] = [];
  const seen = new Set<string>();

  const add = (kind: FrontendKind, given: string, port: number, typeFlag: number): void => {
    if (familyOf(given) !== family) return;
    const address = canonical(given);
    const id = frontendId(address, port, proto);
    if (seen.has(id)) return;
    seen.add(id);
    const internal = kind === 'cluster-ip';
    const twoScopes = !internal && sp.externalPolicyLocal;
    // kube-proxy filters LB traffic (its FW chain) whenever ranges are given, even if none is of this family.
    const srcFlag = kind === 'load-balancer' && sp.loadBalancerSourceRanges.length > 0 ? SVC_FLAG_SOURCE_RANGES : 0;
    const base = typeFlag | common | srcFlag;
    out.push({
      id, address, port, proto, kind,
      servicePort: sp.key,
      extFlags: base | maglev | (twoScopes ? SVC_FLAG_TWO_SCOPES : 0),
      intFlags: base,
      affinityTimeout: sp.affinityTimeoutSeconds,
      ext: internal ? (sp.internalPolicyLocal ? local : cluster) : (sp.externalPolicyLocal ? local : cluster),
      int: twoScopes ? cluster : undefined,
      sourceRanges: srcFlag !== 0 ? ranges : [],
    });
  };

  if (sp.clusterIP !== undefined) add('cluster-ip', sp.clusterIP, sp.port, SVC_FLAG_CLUSTER_IP);
  for (const ip of sp.externalIPs) add('external-ip', ip, sp.port, SVC_FLAG_EXTERNAL_IP);
  for (const ip of sp.loadBalancerIPs) add('load-balancer', ip, sp.port, SVC_FLAG_LOADBALANCER);
  if (sp.nodePort > 0) for (const ip of env.nodePortIPs[family]) add('node-port', ip, sp.nodePort, SVC_FLAG_NODEPORT);
  return out;
}
