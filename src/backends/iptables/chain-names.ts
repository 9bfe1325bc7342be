// Chain names and comment texts, computed exactly as kube-proxy does so that
// runbooks and `iptables-save | grep` habits carry over.
import type { Protocol } from '../../model/types.js';
import {
  KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_FIREWALL_CHAIN, KUBE_FORWARD_CHAIN, KUBE_MARK_MASQ_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_POSTROUTING_CHAIN,
  KUBE_PROXY_FIREWALL_CHAIN, KUBE_SERVICES_CHAIN,
} from '../common/iptables-chains.js';
import { chainHash } from '../common/kube-names.js';
import { formatHostPort } from '../common/address.js';

// The shared names are defined in common/ (IPVS mode writes the same base chains); re-exported
// so the iptables mode's files name one module for all their chain names.
export {
  KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_FIREWALL_CHAIN, KUBE_FORWARD_CHAIN, KUBE_MARK_MASQ_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_POSTROUTING_CHAIN,
  KUBE_PROXY_FIREWALL_CHAIN, KUBE_SERVICES_CHAIN, hostPrefix, sanitizeCommentPart,
} from '../common/iptables-chains.js';
export { servicePortName } from '../common/kube-names.js';

/** Chains that always exist, per table, in the order they are declared. */
export const BASE_CHAINS = {
  filter: [KUBE_SERVICES_CHAIN, KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_FORWARD_CHAIN, KUBE_PROXY_FIREWALL_CHAIN, KUBE_FIREWALL_CHAIN],
  nat: [KUBE_SERVICES_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_MARK_MASQ_CHAIN],
} as const satisfies Record<'filter' | 'nat', readonly string[]>;

export const SVC_PREFIX = 'KUBE-SVC-';
export const SVL_PREFIX = 'KUBE-SVL-';
export const EXT_PREFIX = 'KUBE-EXT-';
export const FW_PREFIX = 'KUBE-FW-';
export const SEP_PREFIX = 'KUBE-SEP-';
export const SERVICE_CHAIN_PREFIXES: readonly string[] = [SVC_PREFIX, SVL_PREFIX, EXT_PREFIX, FW_PREFIX, SEP_PREFIX];

/** iptables rejects longer chain names (XT_EXTENSION_MAXNAMELEN - 1). */
export const MAX_CHAIN_NAME_LENGTH = 28;

/** The per-service-port hash shared by its SVC, SVL, EXT and FW chains. */
export function servicePortHash(portName: string, protocol: Protocol): string {
  return chainHash(portName + protocol.toLowerCase());
}

export interface ServicePortChains {
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
}

export function servicePortChains(portName: string, protocol: Protocol): ServicePortChains {
  const h = servicePortHash(portName, protocol);
  return { svc: SVC_PREFIX + h, svl: SVL_PREFIX + h, ext: EXT_PREFIX + h, fw: FW_PREFIX + h };
}

/** `ip:port`, or `[ip]:port` for IPv6: kube-proxy's endpoint string (what DNAT's --to-destination takes). */
export const endpointString = formatHostPort;

export function endpointChain(portName: string, protocol: Protocol, endpoint: string): string {
  return SEP_PREFIX + chainHash(portName + protocol.toLowerCase() + endpoint);
}

/** Whether a chain in `table` is one svcplane manages (and so may delete). */
export function isOwnChain(table: 'nat' | 'filter', chain: string): boolean {
  if ((BASE_CHAINS[table] as readonly string[]).includes(chain)) return true;
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}
