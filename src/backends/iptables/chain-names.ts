// Chain names and comment texts, computed exactly as kube-proxy does so that
// runbooks and `iptables-save | grep` habits carry over.
import { hash } from 'node:crypto';
import type { IPFamily, Protocol } from '../../model/types.js';

export const KUBE_SERVICES_CHAIN = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES_CHAIN = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS_CHAIN = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING_CHAIN = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ_CHAIN = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD_CHAIN = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL_CHAIN = 'KUBE-PROXY-FIREWALL';

/** Chains that always exist, per table, in the order they are declared. */
export const BASE_CHAINS = {
  filter: [KUBE_SERVICES_CHAIN, KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_FORWARD_CHAIN, KUBE_PROXY_FIREWALL_CHAIN],
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
/** xt_comment stores at most 256 bytes including the terminating NUL. */
export const MAX_COMMENT_LENGTH = 255;

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The 6-bit value of a base64 character code. */
function base64Value(c: number): number {
  if (c >= 97) return c - 71; // a-z: 26..51
  if (c >= 65) return c - 65; // A-Z: 0..25
  if (c >= 48) return c + 4; // 0-9: 52..61
  return c === 43 ? 62 : 63; // '+', '/'
}

/**
 * First 16 characters of base32(sha256(input)), i.e. the first 80 bits.
 * The digest is requested as base64 (much cheaper in Node than a Buffer) and
 * its first 14 characters (84 bits) are re-grouped from 6-bit into 5-bit
 * units. A full plan hashes ~100,000 names, so this avoids per-character strings.
 */
export function chainHash(input: string): string {
  const b64 = hash('sha256', input, 'base64');
  const codes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; codes.length < 16; i++) {
    acc = ((acc << 6) | base64Value(b64.charCodeAt(i))) & 0x7ff;
    bits += 6;
    while (bits >= 5 && codes.length < 16) {
      bits -= 5;
      codes.push(BASE32_ALPHABET.charCodeAt((acc >>> bits) & 31));
    }
  }
  return String.fromCharCode(...codes);
}

/** kube-proxy's ServicePortName.String(): `ns/name:port`, or `ns/name` for the unnamed port. */
export function servicePortName(namespace: string, serviceName: string, portName: string): string {
  return portName === '' ? `${namespace}/${serviceName}` : `${namespace}/${serviceName}:${portName}`;
}

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

/** `ip:port`, or `[ip]:port` for IPv6: kube-proxy's endpoint string. */
export function endpointString(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function endpointChain(portName: string, protocol: Protocol, endpoint: string): string {
  return SEP_PREFIX + chainHash(portName + protocol.toLowerCase() + endpoint);
}

/** Whether a chain in `table` is one svcplane manages (and so may delete). */
export function isOwnChain(table: 'nat' | 'filter', chain: string): boolean {
  if ((BASE_CHAINS[table] as readonly string[]).includes(chain)) return true;
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

/** Keep only characters that are harmless inside a quoted comment in a restore batch. */
export function sanitizeCommentPart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.:/-]/g, '_');
}

/** Cap a comment at what xt_comment accepts. */
export function limitComment(text: string): string {
  return text.length > MAX_COMMENT_LENGTH ? text.slice(0, MAX_COMMENT_LENGTH) : text;
}

/** The host-route suffix of the family, for single addresses. */
export function hostPrefix(family: IPFamily): string {
  return family === 'IPv6' ? '/128' : '/32';
}
