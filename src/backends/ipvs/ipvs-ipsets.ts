// The ipsets of IPVS mode, as kube-proxy's (pkg/proxy/ipvs/ipset.go), so that the companion
// rules match sets and their number no longer grows with the services:
// - KUBE-LOOP-BACK (hash:ip,port,ip) holds `endpoint IP,protocol:port,endpoint IP` for every
//   real server: one KUBE-POSTROUTING rule masquerades a pod's connection to its own service
//   that IPVS sent back to the pod itself (hairpin); without it the pod answers itself from its
//   own address and the reply never matches the connection.
// - KUBE-CLUSTER-IP (hash:ip,port) holds `cluster IP,protocol:port` of every cluster-IP virtual
//   server with real servers: one KUBE-SERVICES rule marks off-cluster traffic to them for
//   masquerade (all of it with --masquerade-all).
// Pure: the restore text; the applier hands it to `ipset -exist restore`.
import type { IPFamily } from '../../model/types.js';
import type { DesiredVirtualServer } from './virtual-servers.js';

export interface IpvsIpset {
  /** kube-proxy's name (IPv6: its `KUBE-6-` prefix). */
  readonly name: string;
  /** Filled while the live set keeps serving, then swapped in (ipset names: at most 31 characters). */
  readonly staging: string;
  readonly type: 'hash:ip,port,ip' | 'hash:ip,port';
  readonly family: IPFamily;
}

function sets(base: string, type: IpvsIpset['type']): Readonly<Record<IPFamily, IpvsIpset>> {
  return {
    IPv4: { name: `KUBE-${base}`, staging: `SVCPLANE-${base}-NEW`, type, family: 'IPv4' },
    IPv6: { name: `KUBE-6-${base}`, staging: `SVCPLANE-6-${base}-NEW`, type, family: 'IPv6' },
  };
}

export const LOOP_BACK_SET = sets('LOOP-BACK', 'hash:ip,port,ip');
export const CLUSTER_IP_SET = sets('CLUSTER-IP', 'hash:ip,port');

export const LOOP_BACK_COMMENT = 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose';
export const CLUSTER_IP_COMMENT = 'Kubernetes service cluster ip + port for masquerade purpose';

const HASH_FAMILY: Readonly<Record<IPFamily, string>> = { IPv4: 'inet', IPv6: 'inet6' };
/** A limit, not an allocation: 10,000 services x 10 endpoints exceed ipset's default of 65,536. */
const MAX_ELEMENTS = 1_048_576;

/** Every name IPVS mode may have created (cleanup destroys them). */
export const IPVS_IPSETS: readonly string[] = [LOOP_BACK_SET, CLUSTER_IP_SET].flatMap((s) => Object.values(s).flatMap((set) => [set.name, set.staging]));

/** One family's sets and their members (sorted), from every virtual server the kernel holds. */
export function ipvsIpsetContents(family: IPFamily, virtualServers: Iterable<DesiredVirtualServer>): { readonly set: IpvsIpset; readonly entries: string[] }[] {
  const loopBack = new Set<string>();
  const clusterIPs = new Set<string>();
  for (const vs of virtualServers) {
    if (vs.service.af !== family || vs.service.fwmark) continue;
    const protocol = vs.service.protocol.toLowerCase();
    for (const d of vs.destinations) loopBack.add(`${d.address},${protocol}:${d.port},${d.address}`);
    if (vs.kind === 'cluster-ip' && vs.destinations.length > 0) clusterIPs.add(`${vs.service.address},${protocol}:${vs.service.port}`);
  }
  return [
    { set: LOOP_BACK_SET[family], entries: [...loopBack].sort() },
    { set: CLUSTER_IP_SET[family], entries: [...clusterIPs].sort() },
  ];
}

/** KUBE-LOOP-BACK's members alone. */
export function loopBackEntries(family: IPFamily, virtualServers: Iterable<DesiredVirtualServer>): string[] {
  return ipvsIpsetContents(family, virtualServers)[0]?.entries ?? [];
}

function createLine(name: string, set: IpvsIpset): string {
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

/** KUBE-LOOP-BACK's restore text. */
export function loopBackRestore(family: IPFamily, entries: readonly string[]): string {
  return ipsetRestore(LOOP_BACK_SET[family], entries);
}

/** The KUBE-POSTROUTING rule (restore syntax) that masquerades hairpin traffic, first in the chain. */
export function loopBackRule(family: IPFamily, chain: string): string {
  return `-A ${chain} -m comment --comment "${LOOP_BACK_COMMENT}" -m set --match-set ${LOOP_BACK_SET[family].name} dst,dst,src -j MASQUERADE\n`;
}

/** The KUBE-SERVICES rule (restore syntax) marking traffic to cluster IPs for masquerade; `notSrc`: the pod CIDR, unless all is masqueraded. */
export function clusterIPMasqueradeRule(family: IPFamily, chain: string, markChain: string, notSrc: string | undefined): string {
  const src = notSrc === undefined ? '' : ` ! -s ${notSrc}`;
  return `-A ${chain} -m comment --comment "${CLUSTER_IP_COMMENT}" -m set --match-set ${CLUSTER_IP_SET[family].name} dst,dst${src} -j ${markChain}\n`;
}
