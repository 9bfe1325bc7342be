// Address helpers for the packet tracers and the rule writers: CIDR membership via
// node's BlockList so that IPv6 forms (compressed, zero-padded) compare correctly, and
// `ip:port` / `[ip6]:port` as DNAT targets and kube-proxy's endpoint strings have it.
import { BlockList, isIP } from 'node:net';
import type { IPFamily } from '../../model/types.js';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: IPFamily;
}

export function ipFamily(ip: string): IPFamily | undefined {
  const version = isIP(ip);
  if (version === 4) return 'IPv4';
  if (version === 6) return 'IPv6';
  return undefined;
}

/** `10.0.0.0/8`, or a bare address meaning a host route (/32 or /128), as iptables reads `-s`/`-d`. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = ipFamily(address);
  if (family === undefined) return undefined;
  const max = family === 'IPv4' ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family };
}

function blockType(family: IPFamily): 'ipv4' | 'ipv6' {
  return family === 'IPv4' ? 'ipv4' : 'ipv6';
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const family = ipFamily(ip);
  if (family !== cidr.family) return false;
  const list = new BlockList();
  list.addSubnet(cidr.address, cidr.prefix, blockType(family));
  return list.check(ip, blockType(family));
}

/** Whether `ip` is one of `entries`, each an address or a CIDR. */
export function addressIn(entries: readonly string[], ip: string): boolean {
  return entries.some((entry) => {
    const cidr = parseCidr(entry);
    return cidr !== undefined && cidrContains(cidr, ip);
  });
}

export interface HostPort {
  readonly ip: string;
  readonly port: number;
}

/** `ip:port` or `[ip6]:port`, as DNAT's --to-destination takes it. */
export function parseHostPort(text: string): HostPort | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!match) return undefined;
  const ip = match[1] ?? '';
  const port = Number(match[2]);
  const family = ipFamily(ip);
  if (family === undefined || !isPort(port)) return undefined;
  // A bracketed address must be IPv6 and an unbracketed one IPv4.
  if ((family === 'IPv6') !== text.startsWith('[')) return undefined;
  return { ip, port };
}

export function formatHostPort(ip: string, port: number): string {
  return ipFamily(ip) === 'IPv6' ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
