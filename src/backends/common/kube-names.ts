// Names every rule-writing mode derives as kube-proxy does: the chain-name hash (iptables
// KUBE-SVC-/KUBE-SEP- chains, nftables service-/endpoint- objects) and the service port's
// display name, so that runbooks and `iptables-save | grep` habits carry over.
import { hash } from 'node:crypto';

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

