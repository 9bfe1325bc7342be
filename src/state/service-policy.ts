// The service-port policy step: what kube-proxy decides for one service port
// before any mode writes a rule (its syncProxyRules preamble), decided here once
// for every consumer. Modes choose HOW (chains, verdict maps, virtual servers,
// BPF slots, listeners); WHAT happens to each kind of traffic comes from here.
import { canonicalIP, cidrContains, normaliseCIDR } from '../model/ip.js';
import type { IPFamily, Protocol } from '../model/types.js';
import type { NodeContext } from './node-context.js';
import type { EndpointInfo, ServicePortState } from './types.js';
import { isExternallyAccessible } from './types.js';

/** The node-wide facts of one family that policy and rendering read. */
export interface NodeFamilyEnv {
  readonly family: IPFamily;
  readonly masqueradeAll: boolean;
  /** Cluster CIDRs of this family (pod traffic detection). */
  readonly clusterCIDRs: readonly string[];
  /** undefined: NodePorts on every local address; else only on these CIDRs of this family (maybe none). */
  readonly nodePortCIDRs: readonly string[] | undefined;
  /** The node's IPs of this family, as given. */
  readonly nodeIPs: readonly string[];
  /** The node IPs NodePorts listen on (inside nodePortCIDRs when given): canonical, unique, sorted. */
  readonly nodePortIPs: readonly string[];
  /**
   * NodePorts are served on the loopback address (127.0.0.1): IPv4, --iptables-localhost-nodeports,
   * and nodePortAddresses (if any) covering it. Only the iptables mode serves them (kube-proxy's).
   */
  readonly localhostNodePorts: boolean;
  /** Service CIDRs of this family (the nftables mode drops their unallocated addresses). */
  readonly serviceCIDRs: readonly string[];
  /** Changes whenever any field above changes: a memo planned under another env cannot be reused. */
  readonly key: string;
}

export type FrontendKind = 'cluster-ip' | 'external-ip' | 'load-balancer' | 'node-port';

export interface Frontend {
  readonly kind: FrontendKind;
  /** Canonical form (IPv6 as RFC 5952), as kernel dumps print it. */
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** `address:port/PROTO`: what two service ports contend for. */
  readonly key: string;
}

/** What happens to traffic that finds no usable endpoint. */
export type NoEndpoints = 'reject' | 'drop';

export interface TrafficPolicy {
  /** Only endpoints on this node (traffic policy Local). */
  readonly localOnly: boolean;
  /** The endpoints this traffic may reach. */
  readonly endpoints: readonly EndpointInfo[];
  /** Some endpoint serves it; else `none` applies. */
  readonly served: boolean;
  /** reject: the service has no endpoints at all; drop: it has some, none local (kube-proxy). */
  readonly none: NoEndpoints;
}

/** Source NAT of traffic to the cluster IP: all sources, sources outside the pod network, or none. */
export type ClusterIPMasquerade =
  | { readonly kind: 'all'; readonly why: 'masquerade-all' }
  | { readonly kind: 'off-cluster'; readonly podCIDR: string; readonly why: 'source outside the cluster CIDR' }
  | { readonly kind: 'none'; readonly why: 'no cluster CIDR to tell pods from others' };

/** Source NAT of traffic to external destinations (NodePorts, external and LB IPs). */
export type ExternalMasquerade =
  | { readonly kind: 'all'; readonly why: 'externalTrafficPolicy Cluster' }
  | { readonly kind: 'node-sources'; readonly why: 'externalTrafficPolicy Local keeps client IPs; only the node\'s own traffic is masqueraded' };

export interface FirewallPolicy {
  /** loadBalancerSourceRanges are set (of any family): LB frontends check sources. */
  readonly configured: boolean;
  /** The firewall path exists: the port has endpoints and LB IPs, and ranges are set. */
  readonly filtered: boolean;
  /** The ranges of this family, as given. */
  readonly ranges: readonly string[];
  /** A node IP lies in the ranges: the node may reach its own LB IPs, whatever source it picks. */
  readonly nodeInRanges: boolean;
  /** Sources allowed: the ranges, then the LB IPs when nodeInRanges. */
  readonly allowed: readonly string[];
}

/** Which of kube-proxy's per-service-port paths exist (its SVC, SVL, EXT and FW chains). */
export interface PolicyPaths {
  /** The Cluster-policy path (all usable endpoints). */
  readonly cluster: boolean;
  /** The Local-policy path (local endpoints). */
  readonly local: boolean;
  /** The external path (masquerade, then Cluster or Local). */
  readonly external: boolean;
  /** The LB source-range firewall. */
  readonly firewall: boolean;
}

export interface ServicePortPolicy {
  readonly key: string;
  readonly family: IPFamily;
  /** Cluster IP, external IPs, LB IPs, then the NodePort on each of nodePortIPs; an address repeated keeps its first kind. */
  readonly frontends: readonly Frontend[];
  /** Traffic to the cluster IP. */
  readonly internal: TrafficPolicy;
  /** Traffic to NodePorts, external and LB IPs from outside the node. */
  readonly external: TrafficPolicy;
  readonly paths: PolicyPaths;
  readonly masquerade: { readonly clusterIP: ClusterIPMasquerade; readonly external: ExternalMasquerade };
  /** ClientIP affinity timeout; 0: none. */
  readonly affinitySeconds: number;
  readonly firewall: FirewallPolicy;
}

const inFamily = (family: IPFamily) => (addr: string): boolean => addr.includes(':') === (family === 'IPv6');

function canonical(address: string): string {
  return address.includes(':') ? (canonicalIP(address) ?? address) : address;
}

export function frontendKey(address: string, port: number, protocol: Protocol): string {
  return `${address}:${port}/${protocol}`;
}

export function nodeFamilyEnv(family: IPFamily, ctx: NodeContext): NodeFamilyEnv {
  const mine = inFamily(family);
  const nodeIPs = ctx.nodeIPs.filter(mine);
  const nodePortCIDRs = ctx.nodePortAddresses.length === 0 ? undefined : ctx.nodePortAddresses.filter(mine);
  const unique = [...new Set(nodeIPs.map(canonical))].sort();
  const nodePortIPs = nodePortCIDRs === undefined ? unique : unique.filter((ip) => nodePortCIDRs.some((c) => cidrContains(c, ip)));
  const clusterCIDRs = ctx.clusterCIDRs.filter(mine);
  const localhostNodePorts = family === 'IPv4' && ctx.localhostNodePorts && (nodePortCIDRs === undefined || nodePortCIDRs.some((c) => cidrContains(c, '127.0.0.1')));
  const serviceCIDRs = ctx.serviceCIDRs.filter(mine);
  const key = JSON.stringify([family, ctx.masqueradeAll, clusterCIDRs, nodePortCIDRs ?? null, nodeIPs, localhostNodePorts, serviceCIDRs]);
  return { family, masqueradeAll: ctx.masqueradeAll, clusterCIDRs, nodePortCIDRs, nodeIPs, nodePortIPs, localhostNodePorts, serviceCIDRs, key };
}

/** Whether any node IP lies in one of the ranges (then the node may reach its own LB IP). */
function nodeInRanges(env: NodeFamilyEnv, ranges: readonly string[]): boolean {
  if (env.nodeIPs.length === 0 || ranges.length === 0) return false;
  const nets = ranges.map((r) => normaliseCIDR(r.trim())).filter((c): c is string => c !== undefined);
  return env.nodeIPs.some((ip) => nets.some((c) => cidrContains(c, ip)));
}

function frontends(sp: ServicePortState, env: NodeFamilyEnv): Frontend[] {
  const out: Frontend[] = [];
  const seen = new Set<string>();
  const add = (kind: FrontendKind, given: string, port: number): void => {
    if (!inFamily(sp.family)(given)) return;
    const address = canonical(given);
    const key = frontendKey(address, port, sp.protocol);
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ kind, address, port, protocol: sp.protocol, key });
  };
  if (sp.clusterIP !== undefined) add('cluster-ip', sp.clusterIP, sp.port);
  for (const ip of sp.externalIPs) add('external-ip', ip, sp.port);
  for (const ip of sp.loadBalancerIPs) add('load-balancer', ip, sp.port);
  if (sp.nodePort > 0) for (const ip of env.nodePortIPs) add('node-port', ip, sp.nodePort);
  return out;
}

/** Who is masqueraded reaching a cluster IP on this node (kube-proxy's --masquerade-all and local traffic detector). */
export function clusterIPMasquerade(env: NodeFamilyEnv): ClusterIPMasquerade {
  if (env.masqueradeAll) return { kind: 'all', why: 'masquerade-all' };
  // kube-proxy's local traffic detector: the first cluster CIDR of the family.
  const podCIDR = env.clusterCIDRs[0];
  if (podCIDR !== undefined) return { kind: 'off-cluster', podCIDR, why: 'source outside the cluster CIDR' };
  return { kind: 'none', why: 'no cluster CIDR to tell pods from others' };
}

/** The policy of one service port under one node env (pure: same inputs, same policy). */
export function servicePortPolicy(sp: ServicePortState, env: NodeFamilyEnv): ServicePortPolicy {
  const { internalPolicyLocal, externalPolicyLocal, hasEndpoints } = sp;
  const cluster = sp.clusterEndpoints.length;
  const local = sp.localEndpoints.length;
  const hasClusterIP = sp.clusterIP !== undefined;
  const usesExt = hasEndpoints && isExternallyAccessible(sp);
  const ranges = sp.loadBalancerSourceRanges.filter(inFamily(env.family));
  const inRanges = nodeInRanges(env, ranges);
  const filtered = hasEndpoints && sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  return {
    key: sp.key,
    family: sp.family,
    frontends: frontends(sp, env),
    internal: {
      localOnly: internalPolicyLocal,
      endpoints: internalPolicyLocal ? sp.localEndpoints : sp.clusterEndpoints,
      served: internalPolicyLocal ? local > 0 : cluster > 0,
      none: internalPolicyLocal && hasEndpoints ? 'drop' : 'reject',
    },
    external: {
      localOnly: externalPolicyLocal,
      endpoints: externalPolicyLocal ? sp.localEndpoints : sp.clusterEndpoints,
      served: externalPolicyLocal ? local > 0 : hasEndpoints,
      none: externalPolicyLocal && hasEndpoints ? 'drop' : 'reject',
    },
    paths: {
      cluster: cluster > 0 && ((!internalPolicyLocal && hasClusterIP) || usesExt),
      local: local > 0 && ((internalPolicyLocal && hasClusterIP) || (usesExt && externalPolicyLocal)),
      external: usesExt,
      firewall: filtered,
    },
    masquerade: {
      clusterIP: clusterIPMasquerade(env),
      external: externalPolicyLocal
        ? { kind: 'node-sources', why: 'externalTrafficPolicy Local keeps client IPs; only the node\'s own traffic is masqueraded' }
        : { kind: 'all', why: 'externalTrafficPolicy Cluster' },
    },
    affinitySeconds: sp.affinityTimeoutSeconds,
    firewall: { configured: sp.loadBalancerSourceRanges.length > 0, filtered, ranges, nodeInRanges: inRanges, allowed: inRanges ? [...ranges, ...sp.loadBalancerIPs] : ranges },
  };
}
