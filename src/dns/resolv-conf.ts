// The upstream nameservers of a resolv.conf (the default upstreams, as CoreDNS's
// `forward . /etc/resolv.conf`).
import { readFileSync } from 'node:fs';
import { canonicalIP } from '../model/ip.js';
import { SvcplaneError } from '../util/errors.js';

export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
}

export class DnsUpstreamError extends SvcplaneError {
  override readonly code = 'SVCPLANE_DNS_UPSTREAM';
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`. */
export function parseUpstream(text: string): UpstreamAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([0-9.]+)(?::(\d+))?$/.exec(text);
  const host = bracketed?.[1] ?? v4?.[1] ?? text;
  const portText = bracketed?.[2] ?? v4?.[2];
  const ip = canonicalIP(host);
  const port = portText === undefined ? 53 : Number(portText);
  if (!ip || !Number.isInteger(port) || port < 1 || port > 65535) throw new DnsUpstreamError(`upstream ${JSON.stringify(text)}: expected IP, IP:PORT or [IPv6]:PORT`);
  return { host: ip, port };
}

export function nameserversFrom(text: string): UpstreamAddress[] {
  const out: UpstreamAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const ip = m?.[1] ? canonicalIP(m[1].replace(/%.*$/, '')) : undefined;
    if (ip) out.push({ host: ip, port: 53 });
  }
  return out;
}

export function readResolvConf(path = '/etc/resolv.conf'): UpstreamAddress[] {
  try {
    return nameserversFrom(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}
