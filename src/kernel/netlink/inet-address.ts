// IP addresses as netlink carries them: 4 bytes (IPv4), 16 bytes (IPv6), or
// IPVS's 16-byte union nf_inet_addr (IPv4 in the first 4 bytes, zeros after).

import { formatIP, parseIP } from '../../model/ip.js';
import type { IPFamily } from '../../model/types.js';
import { AF_INET, AF_INET6 } from './constants.js';
import { NetlinkEncodeError } from './errors.js';

/** Parses an address to its bytes; throws NetlinkEncodeError when it is not an IP. */
export function addressBytes(address: string): Uint8Array {
  const fast = parseDottedQuad(address);
  if (fast) return fast;
  const parsed = parseIP(address);
  if (!parsed) throw new NetlinkEncodeError(`not an IP address: ${JSON.stringify(address)}`);
  return parsed.bytes;
}

/** The text form of 4 or 16 address bytes (RFC 5952 for IPv6, as iproute2 prints). */
export function formatAddress(bytes: Uint8Array): string {
  return formatIP({ family: bytes.length === 4 ? 'IPv4' : 'IPv6', bytes });
}

export function familyOfAddress(address: string): IPFamily {
  return addressBytes(address).length === 4 ? 'IPv4' : 'IPv6';
}

export function afOf(family: IPFamily): number {
  return family === 'IPv4' ? AF_INET : AF_INET6;
}

export function familyOfAf(af: number): IPFamily | undefined {
  if (af === AF_INET) return 'IPv4';
  if (af === AF_INET6) return 'IPv6';
  return undefined;
}

/**
 * Strict a.b.c.d without leading zeros, parsed by hand because service and
 * endpoint addresses are encoded by the hundred thousand in a full sync.
 */
function parseDottedQuad(s: string): Uint8Array | undefined {
  if (s.length < 7 || s.length > 15) return undefined;
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a virtual final '.'
    if (c === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}
