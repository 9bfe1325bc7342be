// The frontends one service port (IPv4 or IPv6) asks for, with kube-proxy's semantics:
// the cluster IP follows the internal traffic policy; external IPs, load-balancer
// IPs and the NodePort on each node IP follow the external one. With
// externalTrafficPolicy Local an external frontend has two lookups: EXT (traffic
// from outside: local endpoints only) and INT (traffic from inside the node:
// the cluster view, as kube-proxy's EXT chain sends pod and host traffic to SVC).
// Source ranges are per family: a frontend gets its own family's (tc checks them
// in svcp_lb4_srcr or svcp_lb6_srcr).
import { canonicalIP, normaliseCIDR } from '../../model/ip.js';
import { backendKey, type BackendKey } from './maps-content.js';
import type { IPFamily, Protocol } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { EndpointInfo, ServicePortState } from '../../state/types.js';
import { nodeFamilyEnv, servicePortPolicy, type FrontendKind, type NodeFamilyEnv, type ServicePortPolicy } from '../../state/service-policy.js';
import {
  BE_FLAG_LOCAL, SVC_FLAG_AFFINITY, SVC_FLAG_CLUSTER_IP, SVC_FLAG_EXTERNAL_IP, SVC_FLAG_LOADBALANCER,
  SVC_FLAG_MAGLEV, SVC_FLAG_NODEPORT, SVC_FLAG_SOURCE_RANGES, SVC_FLAG_TWO_SCOPES,
} from './map-types.js';

export type EbpfAlgorithm = 'random' | 'maglev';

export interface BackendRef {
  /** backendKey: what the backend id is keyed by. */
  readonly key: BackendKey;
  readonly address: string;
  readonly port: number;
  readonly proto: Protocol;
  readonly flags: number;
}

export type { FrontendKind } from '../../state/service-policy.js';

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
  /** Per family: the node facts the policy step reads (NodePort IPs among them). */
  readonly families: Readonly<Record<IPFamily, NodeFamilyEnv>>;
  /** Changes when any of the above changes: a memo from other options cannot be reused. */
  readonly optionsKey: string;
}

const familyOf = (a: string): IPFamily => (a.includes(':') ? 'IPv6' : 'IPv4');

/** Addresses as the maps hold them: IPv6 in RFC 5952 form, so keys match a dump's. */
function canonical(address: string): string {
  return address.includes(':') ? (canonicalIP(address) ?? address) : address;
}

export function frontendEnv(ctx: NodeContext, algorithm: EbpfAlgorithm): FrontendEnv {
  const families = { IPv4: nodeFamilyEnv('IPv4', ctx), IPv6: nodeFamilyEnv('IPv6', ctx) };
  return { algorithm, families, optionsKey: JSON.stringify([algorithm, families.IPv4.key, families.IPv6.key]) };
}

function backendRefs(eps: readonly EndpointInfo[], proto: Protocol, family: IPFamily): BackendRef[] {
  const out: BackendRef[] = [];
  let seen: Set<BackendKey> | undefined;
  for (const ep of eps) {
    if (familyOf(ep.ip) !== family) continue;
    const address = canonical(ep.ip);
    const key = backendKey({ address, port: ep.port, proto });
    // A backend appears once per lookup: slots are a set. (The state has no duplicates; be sure cheaply.)
    seen ??= new Set();
    if (seen.has(key)) continue;
    seen.add(key);
    // One record per address serves every service naming it, so it holds only what is the
    // address's own (where it runs). Terminating is a slice's condition, which slices of two
    // services may disagree on for a while: written here, the record would follow whichever
    // service was planned last, and a partial sync would leave what a full one would not. The
    // programs never read it (terminating endpoints are chosen, or not, when the slots are planned).
    out.push({ key, address, port: ep.port, proto, flags: ep.isLocal ? BE_FLAG_LOCAL : 0 });
  }
  return out;
}

/** The allowed sources in the maps' form: network CIDRs, unique, sorted (LB IPs as host routes when the node is in the ranges). */
function sourceRanges(policy: ServicePortPolicy): string[] {
  const out = new Set<string>();
  for (const r of policy.firewall.allowed) {
    const cidr = normaliseCIDR(r.trim());
    if (cidr !== undefined && familyOf(cidr) === policy.family) out.add(cidr);
  }
  return [...out].sort();
}

/** The service port's frontends in order: cluster IP, external IPs, LB IPs, NodePorts; an address repeated keeps its first. */
export function servicePortFrontends(sp: ServicePortState, env: FrontendEnv): FrontendSpec[] {
  const family = sp.family;
  const proto = sp.protocol;
  const policy = servicePortPolicy(sp, env.families[family]);
  const cluster = backendRefs(sp.clusterEndpoints, proto, family);
  const local = backendRefs(sp.localEndpoints, proto, family);
  const common = (policy.affinitySeconds > 0 ? SVC_FLAG_AFFINITY : 0);
  const maglev = env.algorithm === 'maglev' ? SVC_FLAG_MAGLEV : 0;
  // kube-proxy filters LB traffic (its FW chain) whenever ranges are given, even if none is of this family.
  const ranges = policy.firewall.configured ? sourceRanges(policy) : [];
  const typeFlags: Record<FrontendKind, number> = {
    'cluster-ip': SVC_FLAG_CLUSTER_IP, 'external-ip': SVC_FLAG_EXTERNAL_IP, 'load-balancer': SVC_FLAG_LOADBALANCER, 'node-port': SVC_FLAG_NODEPORT,
  };
  return policy.frontends.map((f) => {
    const internal = f.kind === 'cluster-ip';
    const traffic = internal ? policy.internal : policy.external;
    // Externally, Local policy has two lookups: EXT (from outside) and INT (the node's own traffic: the cluster view).
    const twoScopes = !internal && policy.external.localOnly;
    const srcFlag = f.kind === 'load-balancer' && policy.firewall.configured ? SVC_FLAG_SOURCE_RANGES : 0;
    const base = typeFlags[f.kind] | common | srcFlag;
    return {
      id: f.key, address: f.address, port: f.port, proto, kind: f.kind,
      servicePort: sp.key,
      extFlags: base | maglev | (twoScopes ? SVC_FLAG_TWO_SCOPES : 0),
      intFlags: base,
      affinityTimeout: policy.affinitySeconds,
      ext: traffic.localOnly ? local : cluster,
      int: twoScopes ? cluster : undefined,
      sourceRanges: srcFlag !== 0 ? ranges : [],
    };
  });
}
