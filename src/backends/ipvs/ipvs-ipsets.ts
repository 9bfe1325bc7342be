// The ipsets of IPVS mode, as kube-proxy's (pkg/proxy/ipvs/ipset.go): KUBE-LOOP-BACK holds
// `endpoint IP, protocol:port, endpoint IP` for every real server, so one rule in
// KUBE-POSTROUTING masquerades a pod's connection to its own service that IPVS sent back to
// the pod itself (hairpin): without it the pod answers itself from its own address and the
// reply never matches the connection. One rule whatever the number of services.
// Pure: the restore text; the applier hands it to `ipset restore -exist`.
import type { IPFamily } from '../../model/types.js';
import type { DesiredVirtualServer } from './virtual-servers.js';

/** kube-proxy's names (IPv6: its `KUBE-6-` prefix). */
export const LOOP_BACK_SET: Readonly<Record<IPFamily, string>> = { IPv4: 'KUBE-LOOP-BACK', IPv6: 'KUBE-6-LOOP-BACK' };
/** Filled while the live set keeps serving, then swapped in (ipset names: at most 31 characters). */
const STAGING_SET: Readonly<Record<IPFamily, string>> = { IPv4: 'SVCPLANE-LOOP-BACK-NEW', IPv6: 'SVCPLANE-6-LOOP-BACK-NEW' };
const HASH_FAMILY: Readonly<Record<IPFamily, string>> = { IPv4: 'inet', IPv6: 'inet6' };
/** A limit, not an allocation: 10,000 services x 10 endpoints exceed ipset's default of 65,536. */
const MAX_ELEMENTS = 1_048_576;

export const LOOP_BACK_COMMENT = 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose';

/** Every name IPVS mode may have created (cleanup destroys them). */
export const IPVS_IPSETS: readonly string[] = [...Object.values(LOOP_BACK_SET), ...Object.values(STAGING_SET)];

/** The KUBE-LOOP-BACK members of one family: one per real server address, protocol and port, sorted. */
export function loopBackEntries(family: IPFamily, virtualServers: Iterable<DesiredVirtualServer>): string[] {
  const entries = new Set<string>();
  for (const vs of virtualServers) {
    if (vs.service.af !== family || vs.service.fwmark) continue;
    const protocol = vs.service.protocol.toLowerCase();
    for (const d of vs.destinations) entries.add(`${d.address},${protocol}:${d.port},${d.address}`);
  }
  return [...entries].sort();
}

function createLine(name: string, family: IPFamily): string {
  return `create ${name} hash:ip,port,ip family ${HASH_FAMILY[family]} hashsize 1024 maxelem ${MAX_ELEMENTS}`;
}

/**
 * `ipset -exist restore` input that makes KUBE-LOOP-BACK hold exactly `entries`: the staging set
 * is filled, then swapped with the live one in one step, so no packet sees a half-filled set.
 */
export function loopBackRestore(family: IPFamily, entries: readonly string[]): string {
  const live = LOOP_BACK_SET[family];
  const staging = STAGING_SET[family];
  return [
    createLine(live, family),
    createLine(staging, family),
    `flush ${staging}`,
    ...entries.map((e) => `add ${staging} ${e}`),
    `swap ${staging} ${live}`,
    `destroy ${staging}`,
    '',
  ].join('\n');
}

/** The KUBE-POSTROUTING rule (restore syntax) that masquerades hairpin traffic, first in the chain. */
export function loopBackRule(family: IPFamily, chain: string): string {
  return `-A ${chain} -m comment --comment "${LOOP_BACK_COMMENT}" -m set --match-set ${LOOP_BACK_SET[family]} dst,dst,src -j MASQUERADE\n`;
}
