// IP and CIDR parsing without dependencies. Strict like Go's net/netip:
// no leading zeros in IPv4 octets (ambiguous octal), no zones, and '::'
// must stand for at least one group. Formatting follows RFC 5952, the form
// the kernel and iproute2 print, so that canonical strings compare equal.
import type { IPFamily } from './types.js';

export interface ParsedIP {
  readonly family: IPFamily;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

export interface ParsedCIDR extends ParsedIP {
  readonly prefix: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;
const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

function parseIPv4Bytes(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? '';
    if (!OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/** Parses hextets (and an optional trailing dotted IPv4) into 16-bit groups. */
function parseGroups(s: string, allowIPv4Tail: boolean): number[] | undefined {
  if (s === '') return [];
  const parts = s.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (allowIPv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4Bytes(part);
      if (!v4) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else if (HEXTET.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIPv6Bytes(s: string): Uint8Array | undefined {
  if (!s.includes(':')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? '', false);
    const tail = parseGroups(halves[1] ?? '', true);
    if (!head || !tail) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseGroups(s, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * A dotted-quad IPv4 address as an unsigned 32-bit number (network order read as an
 * integer), accepting exactly what parseIP takes as IPv4, without allocating: the eBPF
 * applier encodes hundreds of thousands of addresses per full sync.
 */
export function parseIPv4Uint32(s: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // a leading zero (ambiguous octal)
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : undefined;
}

export function parseIP(s: string): ParsedIP | undefined {
  const v4 = parseIPv4Bytes(s);
  if (v4) return { family: 'IPv4', bytes: v4 };
  const v6 = parseIPv6Bytes(s);
  if (v6) return { family: 'IPv6', bytes: v6 };
  return undefined;
}

export function isIPv4(s: string): boolean {
  return parseIPv4Bytes(s) !== undefined;
}

export function isIPv6(s: string): boolean {
  return parseIPv6Bytes(s) !== undefined;
}

/** The family of an IP, or undefined when it is not one. */
export function ipFamily(s: string): IPFamily | undefined {
  return parseIP(s)?.family;
}

export function isIP(s: string): boolean {
  return parseIP(s) !== undefined;
}

/** ::ffff:a.b.c.d (Go and Kubernetes would treat these as IPv4). */
export function isIPv4Mapped(ip: ParsedIP): boolean {
  if (ip.family !== 'IPv6') return false;
  for (let i = 0; i < 10; i++) if (ip.bytes[i] !== 0) return false;
  return ip.bytes[10] === 0xff && ip.bytes[11] === 0xff;
}

export function formatIP(ip: ParsedIP): string {
  const b = ip.bytes;
  if (ip.family === 'IPv4') return Array.from(b).join('.');
  if (isIPv4Mapped(ip)) return `::ffff:${Array.from(b.subarray(12)).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // RFC 5952: compress the longest run (of at least 2) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The canonical (RFC 5952 / dotted-quad) form of an IP, or undefined if it is not one. */
export function canonicalIP(s: string): string | undefined {
  const ip = parseIP(s);
  return ip ? formatIP(ip) : undefined;
}

export function familyBits(family: IPFamily): number {
  return family === 'IPv4' ? 32 : 128;
}

/** Parses `ip/prefix`; the address keeps its host bits (see normaliseCIDR). */
export function parseCIDR(s: string): ParsedCIDR | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (!ip || !PREFIX.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > familyBits(ip.family)) return undefined;
  return { ...ip, prefix };
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = (out[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/**
 * The network form of a CIDR (`10.0.0.5/24` -> `10.0.0.0/24`); a bare IP
 * becomes a host route (/32 or /128). Undefined when it is neither.
 */
export function normaliseCIDR(s: string): string | undefined {
  const cidr = parseCIDR(s);
  if (cidr) {
    return `${formatIP({ family: cidr.family, bytes: maskBytes(cidr.bytes, cidr.prefix) })}/${cidr.prefix}`;
  }
  const ip = parseIP(s);
  return ip ? `${formatIP(ip)}/${familyBits(ip.family)}` : undefined;
}

/** Whether `ip` lies inside `cidr` (same family only); false when either does not parse. */
export function cidrContains(cidr: string, ip: string): boolean {
  const net = parseCIDR(cidr);
  const addr = parseIP(ip);
  if (!net || !addr || net.family !== addr.family) return false;
  const a = maskBytes(net.bytes, net.prefix);
  const b = maskBytes(addr.bytes, net.prefix);
  return a.every((byte, i) => byte === b[i]);
}

/**
 * Why Kubernetes refuses this address for external IPs and endpoints
 * (ValidateNonSpecialIP / ValidateEndpointIP), or undefined when it is usable.
 */
export function specialIPReason(ip: ParsedIP): string | undefined {
  const b = ip.bytes;
  if (b.every((byte) => byte === 0)) return 'may not be unspecified (0.0.0.0, ::)';
  if (ip.family === 'IPv4') {
    if (b[0] === 127) return 'may not be in the loopback range (127.0.0.0/8)';
    if (b[0] === 169 && b[1] === 254) return 'may not be in the link-local range (169.254.0.0/16)';
    if (b[0] === 224 && b[1] === 0 && b[2] === 0) return 'may not be in the link-local multicast range (224.0.0.0/24)';
    return undefined;
  }
  if (b.subarray(0, 15).every((byte) => byte === 0) && b[15] === 1) return 'may not be the loopback address (::1)';
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'may not be in the link-local range (fe80::/10)';
  if (b[0] === 0xff && ((b[1] ?? 0) & 0x0f) === 0x02) return 'may not be in the link-local multicast range (ff02::/16)';
  return undefined;
}
