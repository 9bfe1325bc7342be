// The ipsets of IPVS mode, as kube-proxy's (pkg/proxy/ipvs/ipset.go), so that the companion
// rules (ipvs-iptables.ts) are a fixed set of rules matching sets, whatever the number of
// services. What each virtual server puts in them:
// - every real server: KUBE-LOOP-BACK `endpoint,proto:port,endpoint` (hairpin masquerade);
// - no real server: SVCPLANE-NO-ENDPOINTS `vip,proto:port` (REJECT; kube-proxy has no such set);
// - a cluster IP: KUBE-CLUSTER-IP (masquerade off-cluster sources);
// - an external IP: KUBE-EXTERNAL-IP (Cluster policy: masquerade) or KUBE-EXTERNAL-IP-LOCAL;
// - a load-balancer IP: KUBE-LOAD-BALANCER, and KUBE-LOAD-BALANCER-LOCAL with Local policy
//   (not masqueraded); with loadBalancerSourceRanges KUBE-LOAD-BALANCER-FW, and the allowed
//   sources in KUBE-LOAD-BALANCER-SOURCE-CIDR (ranges) and -SOURCE-IP (the node's LB IPs);
// - a NodePort: its port in KUBE-NODE-PORT-TCP/-UDP (bitmap:port), KUBE-NODE-PORT-LOCAL-* with
//   Local policy; SCTP by `node IP,sctp:port` in KUBE-NODE-PORT-SCTP-HASH (kube-proxy's choice);
//   a Local load balancer's healthCheckNodePort in KUBE-HEALTH-CHECK-NODE-PORT.
// Pure: members and `ipset restore` text; the applier runs `ipset -exist restore`.
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import { nodeFamilyEnv, servicePortPolicy } from '../../state/service-policy.js';
import type { DesiredState, ServicePortState } from '../../state/types.js';
import type { DesiredVirtualServer } from './virtual-servers.js';

export type IpvsIpsetType = 'hash:ip,port,ip' | 'hash:ip,port' | 'hash:ip,port,net' | 'bitmap:port';

export interface IpvsIpset {
  /** kube-proxy's name (IPv6: its `KUBE-6-` prefix, cut at ipset's 31 characters as kube-proxy does). */
  readonly name: string;
  /** Filled while the live set keeps serving, then swapped in. */
  readonly staging: string;
  readonly type: IpvsIpsetType;
  readonly family: IPFamily;
  readonly comment: string;
}

/** ipset names are at most 31 characters. */
const MAX_NAME = 31;

function sets(base: string, tag: string, type: IpvsIpsetType, comment: string): Readonly<Record<IPFamily, IpvsIpset>> {
  const v6 = base.startsWith('KUBE-') ? base.replace('KUBE-', 'KUBE-6-') : base.replace('SVCPLANE-', 'SVCPLANE-6-');
  return {
    IPv4: { name: base, staging: `SVCPLANE-${tag}-NEW`, type, family: 'IPv4', comment },
    IPv6: { name: v6.slice(0, MAX_NAME), staging: `SVCPLANE-6-${tag}-NEW`, type, family: 'IPv6', comment },
  };
}

export const LOOP_BACK_SET = sets('KUBE-LOOP-BACK', 'LOOP-BACK', 'hash:ip,port,ip', 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose');
export const CLUSTER_IP_SET = sets('KUBE-CLUSTER-IP', 'CLUSTER-IP', 'hash:ip,port', 'Kubernetes service cluster ip + port for masquerade purpose');
export const EXTERNAL_IP_SET = sets('KUBE-EXTERNAL-IP', 'EXTERNAL-IP', 'hash:ip,port', 'Kubernetes service external ip + port for masquerade and filter purpose');
export const EXTERNAL_IP_LOCAL_SET = sets('KUBE-EXTERNAL-IP-LOCAL', 'EXT-IP-LOCAL', 'hash:ip,port', 'Kubernetes service external ip + port with externalTrafficPolicy=local');
export const LOAD_BALANCER_SET = sets('KUBE-LOAD-BALANCER', 'LB', 'hash:ip,port', 'Kubernetes service lb portal');
export const LOAD_BALANCER_LOCAL_SET = sets('KUBE-LOAD-BALANCER-LOCAL', 'LB-LOCAL', 'hash:ip,port', 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local');
export const LOAD_BALANCER_FW_SET = sets('KUBE-LOAD-BALANCER-FW', 'LB-FW', 'hash:ip,port', 'Kubernetes service load balancer ip + port for load balancer with sourceRange');
export const LOAD_BALANCER_SOURCE_CIDR_SET = sets('KUBE-LOAD-BALANCER-SOURCE-CIDR', 'LB-SRC-CIDR', 'hash:ip,port,net', 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose');
export const LOAD_BALANCER_SOURCE_IP_SET = sets('KUBE-LOAD-BALANCER-SOURCE-IP', 'LB-SRC-IP', 'hash:ip,port,ip', 'Kubernetes service load balancer ip + port + source IP for packet filter purpose');
export const NODE_PORT_SETS = {
  TCP: sets('KUBE-NODE-PORT-TCP', 'NP-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port for masquerade purpose'),
  UDP: sets('KUBE-NODE-PORT-UDP', 'NP-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port for masquerade purpose'),
  SCTP: sets('KUBE-NODE-PORT-SCTP-HASH', 'NP-SCTP', 'hash:ip,port', "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"),
} as const;
export const NODE_PORT_LOCAL_SETS = {
  TCP: sets('KUBE-NODE-PORT-LOCAL-TCP', 'NP-LOCAL-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port with externalTrafficPolicy=local'),
  UDP: sets('KUBE-NODE-PORT-LOCAL-UDP', 'NP-LOCAL-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port with externalTrafficPolicy=local'),
  SCTP: sets('KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'NP-LOCAL-SCTP', 'hash:ip,port', "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"),
} as const;
export const HEALTH_CHECK_NODE_PORT_SET = sets('KUBE-HEALTH-CHECK-NODE-PORT', 'HC-NODE-PORT', 'bitmap:port', 'Kubernetes health check node port');
export const NO_ENDPOINTS_SET = sets('SVCPLANE-NO-ENDPOINTS', 'NO-ENDPOINTS', 'hash:ip,port', 'service ports without endpoints, rejected');

/** Every set, in the order a full sync writes them. */
export const ALL_SETS: readonly Readonly<Record<IPFamily, IpvsIpset>>[] = [
  LOOP_BACK_SET, CLUSTER_IP_SET, EXTERNAL_IP_SET, EXTERNAL_IP_LOCAL_SET, LOAD_BALANCER_SET, LOAD_BALANCER_LOCAL_SET,
  LOAD_BALANCER_FW_SET, LOAD_BALANCER_SOURCE_CIDR_SET, LOAD_BALANCER_SOURCE_IP_SET,
  ...Object.values(NODE_PORT_SETS), ...Object.values(NODE_PORT_LOCAL_SETS), HEALTH_CHECK_NODE_PORT_SET, NO_ENDPOINTS_SET,
];

/** The sets of one family. */
export function familySets(family: IPFamily): IpvsIpset[] {
  return ALL_SETS.map((s) => s[family]);
}

/** Every name IPVS mode may have created (cleanup destroys them). */
export const IPVS_IPSETS: readonly string[] = ALL_SETS.flatMap((s) => Object.values(s).flatMap((set) => [set.name, set.staging]));

/** One member of one set. */
export interface IpsetMember {
  readonly set: IpvsIpset;
  readonly entry: string;
}

const HASH_FAMILY: Readonly<Record<IPFamily, string>> = { IPv4: 'inet', IPv6: 'inet6' };
/** A limit, not an allocation: 10,000 services x 10 endpoints exceed ipset's default of 65,536. */
const MAX_ELEMENTS = 1_048_576;

/** hash:ip,port,net refuses a /0; a range covering every address filters nothing. */
function coversAll(cidr: string): boolean {
  return /\/0$/.test(cidr);
}

/**
 * The members one virtual server (of `sp`, the state it was computed from) puts in its
 * family's sets. The policy step decides the masquerade, Local and firewall cases.
 */
export function virtualServerMembers(vs: DesiredVirtualServer, sp: ServicePortState | undefined, ctx: NodeContext): IpsetMember[] {
  const s = vs.service;
  if (s.fwmark) return [];
  const family = s.af;
  const protocol = s.protocol.toLowerCase();
  const out: IpsetMember[] = [];
  const add = (set: Readonly<Record<IPFamily, IpvsIpset>>, entry: string): void => void out.push({ set: set[family], entry });
  for (const d of vs.destinations) add(LOOP_BACK_SET, `${d.address},${protocol}:${d.port},${d.address}`);
  const vip = `${s.address},${protocol}:${s.port}`;
  if (vs.destinations.length === 0) {
    add(NO_ENDPOINTS_SET, vip);
    return out;
  }
  const local = sp?.externalPolicyLocal === true;
  switch (vs.kind) {
    case 'cluster-ip':
      add(CLUSTER_IP_SET, vip);
      break;
    case 'external-ip':
      add(local ? EXTERNAL_IP_LOCAL_SET : EXTERNAL_IP_SET, vip);
      break;
    case 'load-balancer': {
      add(LOAD_BALANCER_SET, vip);
      if (local) add(LOAD_BALANCER_LOCAL_SET, vip);
      if (local && sp !== undefined && sp.healthCheckNodePort > 0) add(HEALTH_CHECK_NODE_PORT_SET, String(sp.healthCheckNodePort));
      const firewall = sp === undefined ? undefined : servicePortPolicy(sp, nodeFamilyEnv(family, ctx)).firewall;
      if (firewall?.filtered !== true || firewall.allowed.some(coversAll)) break;
      add(LOAD_BALANCER_FW_SET, vip);
      for (const src of firewall.allowed) {
        if (src.includes('/')) add(LOAD_BALANCER_SOURCE_CIDR_SET, `${vip},${src}`);
        else add(LOAD_BALANCER_SOURCE_IP_SET, `${vip},${src}`);
      }
      break;
    }
    case 'node-port': {
      const byPort = s.protocol !== 'SCTP';
      const entry = byPort ? String(s.port) : vip;
      add(NODE_PORT_SETS[s.protocol], entry);
      if (local) add(NODE_PORT_LOCAL_SETS[s.protocol], entry);
      break;
    }
  }
  return out;
}

/** One family's sets and their members (sorted), from virtual servers and the state they came from. */
export function ipvsIpsetContents(family: IPFamily, virtualServers: Iterable<DesiredVirtualServer>, state: DesiredState, ctx: NodeContext): { readonly set: IpvsIpset; readonly entries: string[] }[] {
  const bySet = new Map<string, Set<string>>(familySets(family).map((set) => [set.name, new Set<string>()]));
  for (const vs of virtualServers) {
    if (vs.service.af !== family) continue;
    for (const m of virtualServerMembers(vs, state[family].get(vs.servicePort), ctx)) bySet.get(m.set.name)?.add(m.entry);
  }
  return familySets(family).map((set) => ({ set, entries: [...(bySet.get(set.name) ?? [])].sort() }));
}

function createLine(name: string, set: IpvsIpset): string {
  if (set.type === 'bitmap:port') return `create ${name} bitmap:port range 0-65535`;
  return `create ${name} ${set.type} family ${HASH_FAMILY[set.family]} hashsize 1024 maxelem ${MAX_ELEMENTS}`;
}

/**
 * `ipset -exist restore` input that makes `set` hold exactly `entries`: the staging set is
 * filled, then swapped with the live one in one step, so no packet sees a half-filled set.
 */
export function ipsetRestore(set: IpvsIpset, entries: readonly string[]): string {
  return [
    createLine(set.name, set),
    createLine(set.staging, set),
    `flush ${set.staging}`,
    ...entries.map((e) => `add ${set.staging} ${e}`),
    `swap ${set.staging} ${set.name}`,
    `destroy ${set.staging}`,
    '',
  ].join('\n');
}

/** Members added to and deleted from one live set (a partial sync's change). */
export interface IpsetDelta {
  readonly set: IpvsIpset;
  readonly add: readonly string[];
  readonly del: readonly string[];
}

/** `ipset -exist restore` input that changes live sets in place: deletions first, then additions. */
export function ipsetDeltaRestore(deltas: readonly IpsetDelta[]): string {
  const lines: string[] = [];
  for (const d of deltas) for (const e of d.del) lines.push(`del ${d.set.name} ${e}`);
  for (const d of deltas) for (const e of d.add) lines.push(`add ${d.set.name} ${e}`);
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
