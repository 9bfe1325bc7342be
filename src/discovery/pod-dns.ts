// A pod's resolv.conf by the kubelet's rules (pkg/kubelet/network/dns): the policy
// picks a base (cluster DNS, the node's file, or nothing), spec.dnsConfig is merged
// in without duplicates, and the result is cut to what resolvers accept.
import type { Pod, PodDNSOption } from '../model/pod.js';
import { EMPTY_DNS_CONFIG, type DNSConfig } from './host-resolv-conf.js';

export const MAX_NAMESERVERS = 3;
export const MAX_SEARCHES = 32;
export const MAX_SEARCH_LINE_CHARS = 2048;
/** Longer search domains make some resolvers (glibc 2.28) abort. */
export const MAX_SEARCH_DOMAIN_CHARS = 253;
const CLUSTER_FIRST_OPTIONS = ['ndots:5'];

export interface NodeDNSSettings {
  /** --cluster-dns: the cluster DNS servers (empty: none configured). */
  readonly clusterDNS: readonly string[];
  /** --cluster-domain; '' means none. */
  readonly clusterDomain: string;
  /** The node's resolv.conf, parsed; undefined when the kubelet has none (`--resolv-conf=""`). */
  readonly host: DNSConfig | undefined;
}

export interface PodDNSResult {
  readonly config: DNSConfig;
  /** What the kubelet would report as events / log lines. */
  readonly warnings: readonly string[];
}

type Base = 'cluster' | 'host' | 'none';

function baseFor(pod: Pod): Base {
  switch (pod.dnsPolicy) {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'ClusterFirst':
      // A pod on the host's network would otherwise lose the node's own resolution.
      return pod.hostNetwork ? 'host' : 'cluster';
    case 'Default':
      return 'host';
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export function podDNSConfig(pod: Pod, node: NodeDNSSettings): PodDNSResult {
  const warnings: string[] = [];
  const who = `Pod ${pod.namespace}/${pod.name}`;
  const host = node.host ?? EMPTY_DNS_CONFIG;
  let base = baseFor(pod);
  let config: DNSConfig = host;
  if (base === 'none') config = EMPTY_DNS_CONFIG;
  if (base === 'cluster' && node.clusterDNS.length === 0) {
    warnings.push(`${who}: no cluster DNS server configured (--cluster-dns): cannot use the ${pod.dnsPolicy} policy, falling back to Default`);
    base = 'host';
  }
  if (base === 'cluster') {
    const d = node.clusterDomain;
    const searches = d === '' ? host.searches : unique([`${pod.namespace}.svc.${d}`, `svc.${d}`, d, ...host.searches]);
    config = { nameservers: [...node.clusterDNS], searches, options: CLUSTER_FIRST_OPTIONS };
  }
  if (base === 'host' && node.host === undefined) {
    // Without a node file the kubelet points the pod at a local resolver and no search path.
    config = { nameservers: ['127.0.0.1'], searches: ['.'], options: [] };
  }
  const pc = pod.dnsConfig;
  if (pc) {
    config = {
      nameservers: unique([...config.nameservers, ...pc.nameservers]),
      searches: unique([...config.searches, ...pc.searches]),
      options: mergeOptions(config.options, pc.options),
    };
  }
  return { config: fitLimits(config, who, warnings), warnings };
}

/**
 * Options merge by name and the pod's value wins. The kubelet goes through a Go
 * map (unordered); here an option keeps the place of its first appearance.
 */
export function mergeOptions(existing: readonly string[], pod: readonly PodDNSOption[]): string[] {
  const merged = new Map<string, string | undefined>();
  for (const op of existing) {
    const colon = op.indexOf(':');
    if (colon === -1) merged.set(op, undefined);
    else merged.set(op.slice(0, colon), op.slice(colon + 1));
  }
  for (const op of pod) merged.set(op.name, op.value);
  return [...merged].map(([name, value]) => (value === undefined || value === '' ? name : `${name}:${value}`));
}

function fitLimits(config: DNSConfig, who: string, warnings: string[]): DNSConfig {
  let nameservers = config.nameservers;
  if (nameservers.length > MAX_NAMESERVERS) {
    nameservers = nameservers.slice(0, MAX_NAMESERVERS);
    warnings.push(`${who}: nameserver limits were exceeded (at most ${MAX_NAMESERVERS}), some nameservers have been omitted, the applied nameserver line is: ${nameservers.join(' ')}`);
  }
  let exceeded = config.searches.length > MAX_SEARCHES;
  let searches = config.searches.slice(0, MAX_SEARCHES);
  const short = searches.filter((s) => s.length <= MAX_SEARCH_DOMAIN_CHARS);
  if (short.length !== searches.length) exceeded = true;
  searches = short;
  // Drop domains from the end until the joined line fits.
  while (searches.length > 0 && searches.join(' ').length > MAX_SEARCH_LINE_CHARS) {
    searches = searches.slice(0, -1);
    exceeded = true;
  }
  if (exceeded) {
    warnings.push(`${who}: search line limits were exceeded (${MAX_SEARCHES} domains, ${MAX_SEARCH_LINE_CHARS} characters, ${MAX_SEARCH_DOMAIN_CHARS} per domain), some search paths have been omitted, the applied search line is: ${searches.join(' ')}`);
  }
  return { nameservers, searches, options: config.options };
}

/** The file, in the order Docker and the document print it. */
export function formatResolvConf(config: DNSConfig): string {
  const lines = config.nameservers.map((ns) => `nameserver ${ns}`);
  if (config.searches.length > 0) lines.push(`search ${config.searches.join(' ')}`);
  if (config.options.length > 0) lines.push(`options ${config.options.join(' ')}`);
  return lines.map((l) => `${l}\n`).join('');
}
