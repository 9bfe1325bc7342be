// `svcplane maps`: the eBPF mode's services and backends as the kernel holds them, decoded,
// one frontend per line with its flags and the backends its slots resolve to. IPv4 and
// IPv6 (svcp_lb6_*) frontends alike; IPv6 addresses are bracketed before their port.
import type { StateMapCount } from './ebpf-maps.js';
import { isIPv6Address, lb4KeyString, type EbpfMapsContent } from './maps-content.js';
import {
  LB_LOOKUP_SCOPE_INT, SVC_FLAG_AFFINITY, SVC_FLAG_CLUSTER_IP, SVC_FLAG_EXTERNAL_IP, SVC_FLAG_LOADBALANCER, SVC_FLAG_MAGLEV,
  SVC_FLAG_NODEPORT, SVC_FLAG_SOURCE_RANGES, SVC_FLAG_TWO_SCOPES, BE_FLAG_LOCAL, BE_FLAG_TERMINATING,
} from './map-types.js';

const SVC_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [SVC_FLAG_CLUSTER_IP, 'cluster-ip'], [SVC_FLAG_NODEPORT, 'node-port'], [SVC_FLAG_EXTERNAL_IP, 'external-ip'], [SVC_FLAG_LOADBALANCER, 'load-balancer'],
  [SVC_FLAG_TWO_SCOPES, 'two-scopes'], [SVC_FLAG_SOURCE_RANGES, 'source-ranges'], [SVC_FLAG_AFFINITY, 'affinity'], [SVC_FLAG_MAGLEV, 'maglev'],
];

function flagNames(flags: number, table: ReadonlyArray<readonly [number, string]>): string {
  return table.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name).join(',');
}

function hostPort(address: string, port: number): string {
  return isIPv6Address(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One line per frontend and scope, sorted; slots that point nowhere are shown as such. */
export function renderMaps(c: EbpfMapsContent): string {
  const lines: string[] = [];
  for (const { key, value } of c.services.values()) {
    if (key.slot !== 0) continue;
    const scope = key.scope === LB_LOOKUP_SCOPE_INT ? ' (internal)' : '';
    const backends: string[] = [];
    for (let slot = 1; slot <= value.count; slot++) {
      const entry = c.services.get(lb4KeyString({ ...key, slot }));
      const be = entry === undefined ? undefined : c.backends.get(entry.value.backendId);
      if (be === undefined) backends.push(`slot ${slot}: missing`);
      else {
        const flags = flagNames(be.flags, [[BE_FLAG_LOCAL, 'local'], [BE_FLAG_TERMINATING, 'terminating']]);
        backends.push(`${hostPort(be.address, be.port)}${flags ? ` [${flags}]` : ''}`);
      }
    }
    const rnat = c.revNat.get(value.revNatIndex);
    const extra = [
      flagNames(value.flags, SVC_FLAGS),
      value.affinityTimeout > 0 ? `affinity ${value.affinityTimeout}s` : '',
      rnat === undefined ? 'no reverse NAT' : '',
    ].filter(Boolean).join(' ');
    lines.push(`${key.proto} ${hostPort(key.address, key.port)}${scope} #${value.revNatIndex} ${extra} -> ${backends.length === 0 ? '(no endpoints: rejected)' : backends.join(', ')}`);
  }
  lines.sort();
  const summary = `${lines.length} frontends, ${c.backends.size} backends, ${c.revNat.size} reverse-NAT entries, ${c.maglev.size} Maglev tables`;
  return [...lines, summary, ''].join('\n');
}

/** One line: the entries of the maps the programs keep (connections, affinity, socket reverse NAT). */
export function renderStateMaps(counts: readonly StateMapCount[]): string {
  const parts = counts.map((c) => `${c.name} ${c.entries}${c.undecodable > 0 ? ` (+${c.undecodable} undecodable)` : ''}`);
  return `state: ${parts.join(', ')}\n`;
}
