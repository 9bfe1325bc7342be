// The DNS benchmark's data: N services as manifests for svcplane, the same records as a zone
// file for Knot, and one query mix for both (A for services, SRV for named ports, NXDOMAIN).
import { stringify } from 'yaml';

export interface BenchService {
  readonly name: string;
  readonly namespace: string;
  readonly clusterIP: string;
}

export const BENCH_ZONE = 'cluster.local';
export const BENCH_TTL = 5;

export function benchServices(count: number): BenchService[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `svc-${i}`,
    namespace: `ns-${i % 100}`,
    clusterIP: `10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`,
  }));
}

export function benchManifests(services: readonly BenchService[]): string {
  return services
    .map((s) => stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: s.namespace }, spec: { clusterIP: s.clusterIP, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } }))
    .join('---\n');
}

/** A manifest of one more service (the change whose propagation is timed). */
export function benchExtraManifest(name: string, clusterIP: string): string {
  return stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns-0' }, spec: { clusterIP, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } });
}

/** What svcplane answers for these services, as a zone file (SOA and NS as svcplane's). */
export function benchZoneFile(services: readonly BenchService[]): string {
  const lines = [
    `$ORIGIN ${BENCH_ZONE}.`,
    `$TTL ${BENCH_TTL}`,
    `@ SOA ns.dns.${BENCH_ZONE}. hostmaster.${BENCH_ZONE}. 1 7200 1800 86400 ${BENCH_TTL}`,
    `@ NS ns.dns.${BENCH_ZONE}.`,
    'ns.dns A 10.96.0.10',
  ];
  for (const s of services) {
    lines.push(`${s.name}.${s.namespace}.svc A ${s.clusterIP}`);
    lines.push(`${s.name}.${s.namespace}.svc SRV 0 100 80 ${s.name}.${s.namespace}.svc.${BENCH_ZONE}.`);
    lines.push(`_http._tcp.${s.name}.${s.namespace}.svc SRV 0 100 80 ${s.name}.${s.namespace}.svc.${BENCH_ZONE}.`);
  }
  return lines.join('\n') + '\n';
}

/** dnsperf's data file: 70% A of services, 20% SRV of named ports, 10% NXDOMAIN; seeded order. */
export function benchQueries(services: readonly BenchService[], count: number): string {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = services[Math.floor(rand() * services.length)];
    if (!s) break;
    const r = rand();
    if (r < 0.7) out.push(`${s.name}.${s.namespace}.svc.${BENCH_ZONE} A`);
    else if (r < 0.9) out.push(`_http._tcp.${s.name}.${s.namespace}.svc.${BENCH_ZONE} SRV`);
    else out.push(`missing-${i}.${s.namespace}.svc.${BENCH_ZONE} A`);
  }
  return out.join('\n') + '\n';
}
