// IP addresses as bigints, for the cluster IP allocator's offset arithmetic.
// Kept private to the sources: the model's own IP helpers validate strings,
// this only needs to count.
import type { IPFamily } from '../model/types.js';

const IPV4_BITS = 32;
const IPV6_BITS = 128;

export interface IPValue {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** Parses a dotted-quad or RFC 4291 IPv6 text address; undefined if malformed. */
export function parseIP(text: string): IPValue | undefined {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === undefined ? undefined : { family: 'IPv6', value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 'IPv4', value };
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: '010' is octal to some parsers and rejected by Kubernetes.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  let body = text;
  let tail: bigint[] = [];
  // An embedded IPv4 address (::ffff:10.0.0.1) fills the last two groups.
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    const prefix = body.slice(0, lastColon + 1);
    body = prefix.endsWith('::') ? prefix : prefix.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): bigint[] | undefined => {
    if (s === '') return [];
    const groups: bigint[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(BigInt(`0x${g}`));
    }
    return groups;
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const explicit = head.length + rest.length + tail.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups = [...head, ...new Array<bigint>(8 - explicit).fill(0n), ...rest, ...tail];
  } else {
    if (explicit !== 8) return undefined;
    groups = [...head, ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Canonical text form (RFC 5952 for IPv6: lower case, longest zero run compressed). */
export function formatIP(ip: IPValue): string {
  if (ip.family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((ip.value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed
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
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export interface IPRange {
  readonly cidr: string;
  readonly family: IPFamily;
  /** The network address. */
  readonly base: bigint;
  /** Number of addresses in the range. */
  readonly size: bigint;
}

/** Parses `addr/prefix`; undefined if malformed or host bits are set. */
export function parseRange(cidr: string): IPRange | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(cidr.slice(0, slash));
  const prefixText = cidr.slice(slash + 1);
  if (ip === undefined || !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const bits = ip.family === 'IPv4' ? IPV4_BITS : IPV6_BITS;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const size = 1n << BigInt(bits - prefix);
  if (ip.value % size !== 0n) return undefined;
  return { cidr, family: ip.family, base: ip.value, size };
}
