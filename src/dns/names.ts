// Name helpers for the cluster zone: normalised keys, reverse names, endpoint and pod labels.
import { canonicalIP, parseIP } from '../model/ip.js';

/** Lower-case, no trailing dot: the key every lookup uses (DNS names compare case-insensitively). */
export function nameKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** `name` is `zone` or below it (both as keys). */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith('.' + zone);
}

/** The labels of `name` before `zone`, e.g. web.default.svc for web.default.svc.cluster.local. */
export function relativeLabels(name: string, zone: string): string[] {
  if (name === zone) return [];
  return name.slice(0, name.length - zone.length - 1).split('.');
}

export const REVERSE_V4_ZONE = 'in-addr.arpa';
export const REVERSE_V6_ZONE = 'ip6.arpa';

/** The PTR owner name of an address: 1.0.96.10.in-addr.arpa, or the nibble form for IPv6. */
export function reverseName(ip: string): string | undefined {
  const parsed = parseIP(ip);
  if (!parsed) return undefined;
  if (parsed.family === 'IPv4') return `${[...parsed.bytes].reverse().join('.')}.${REVERSE_V4_ZONE}`;
  const nibbles: string[] = [];
  for (const b of parsed.bytes) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return `${nibbles.reverse().join('.')}.${REVERSE_V6_ZONE}`;
}

/**
 * The label naming an endpoint under its service: its hostname if it has one, else its
 * address with dots or colons as dashes (as CoreDNS derives it).
 */
export function endpointLabel(address: string, hostname: string | undefined): string {
  if (hostname) return hostname.toLowerCase();
  return address.includes(':') ? address.replaceAll(':', '-') : address.replaceAll('.', '-');
}

/** The address a pod label (`10-244-1-5`, `fd00--5`) stands for, or undefined if it is none. */
export function podLabelAddress(label: string): string | undefined {
  const parts = label.split('-');
  if (parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p))) {
    return canonicalIP(parts.join('.'));
  }
  if (!label.includes('-') || !/^[0-9a-f-]+$/.test(label)) return undefined;
  return canonicalIP(label.replaceAll('-', ':'));
}
