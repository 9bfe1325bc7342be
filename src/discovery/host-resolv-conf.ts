// The node's resolv.conf as the kubelet reads it (parseResolvConf): `nameserver`
// lines accumulate, the last `search` and the last `options` line win, search
// domains lose one trailing dot, everything else (`domain`, `sortlist`) is ignored.
import { SvcplaneError } from '../util/errors.js';

export interface DNSConfig {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  /** `name` or `name:value`, as written in an options line. */
  readonly options: readonly string[];
}

export const EMPTY_DNS_CONFIG: DNSConfig = { nameservers: [], searches: [], options: [] };

export class HostResolvConfError extends SvcplaneError {
  override readonly code = 'SVCPLANE_HOST_RESOLV_CONF';
}

/** `file` names the source in errors. */
export function parseHostResolvConf(text: string, file: string): DNSConfig {
  const nameservers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) return;
    const [keyword, ...rest] = trimmed.split(/\s+/).filter((f) => f !== '');
    if (keyword === 'nameserver') {
      if (rest[0] !== undefined) nameservers.push(rest[0]);
      else problems.push(`line ${i + 1}: nameserver list is empty`);
    } else if (keyword === 'search') {
      searches = rest.map((s) => (s.endsWith('.') ? s.slice(0, -1) : s)).filter((s) => s !== '');
    } else if (keyword === 'options') {
      options = rest;
    }
  });
  // The kubelet refuses to build a pod's DNS from a host file it cannot read whole.
  if (problems.length > 0) throw new HostResolvConfError(`${file}: ${problems.join('; ')}`);
  return { nameservers, searches, options };
}
