// The records one service contributes to the cluster zone, per the Kubernetes DNS
// specification (1.1.0) and, where CoreDNS answers more, as CoreDNS does.
import { endpointLabel, reverseName } from './names.js';
import type { DnsEndpoint, DnsPort, DnsServiceView } from './records-from-store.js';

export type ZoneRecord =
  | { readonly type: 'A' | 'AAAA'; readonly data: string }
  | { readonly type: 'CNAME' | 'PTR'; readonly data: string }
  | { readonly type: 'SRV'; readonly data: { readonly priority: number; readonly weight: number; readonly port: number; readonly target: string } };

/** Owner name (a key: lower case, no trailing dot) -> records; an empty list marks a name that exists without records. */
export type NamedRecords = Map<string, ZoneRecord[]>;

/** Collects records without duplicates (an address listed in two slices is one record). */
class RecordCollector {
  readonly out: NamedRecords = new Map();
  private readonly seen = new Set<string>();

  add(name: string, record?: ZoneRecord): void {
    let list = this.out.get(name);
    if (!list) {
      list = [];
      this.out.set(name, list);
    }
    if (!record) return;
    const key = `${name} ${record.type} ${typeof record.data === 'string' ? record.data : `${record.data.port} ${record.data.target}`}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    list.push(record);
  }
}

function addressRecord(address: string): ZoneRecord {
  return { type: address.includes(':') ? 'AAAA' : 'A', data: address };
}

/** SRV weights share 100 among the records of one set (CoreDNS does the same). */
function srvSet(targets: { port: number; target: string }[]): ZoneRecord[] {
  const weight = Math.max(1, Math.floor(100 / Math.max(1, targets.length)));
  return targets.map((t) => ({ type: 'SRV', data: { priority: 0, weight, port: t.port, target: t.target } }));
}

function srvName(port: DnsPort, base: string): string {
  return `_${port.name.toLowerCase()}._${port.protocol}.${base}`;
}

/** Records of `<svc>.<ns>.svc.<zone>` and the names below it and the PTRs that point at them. */
export function serviceRecords(view: DnsServiceView, zone: string): NamedRecords {
  const c = new RecordCollector();
  const add = (name: string, record?: ZoneRecord): void => c.add(name, record);
  const base = `${view.name}.${view.namespace}.svc.${zone}`.toLowerCase();
  add(base);
  if (view.kind === 'external-name') {
    if (view.externalName) add(base, { type: 'CNAME', data: view.externalName.replace(/\.$/, '').toLowerCase() });
    return c.out;
  }
  const epName = (ep: DnsEndpoint): string => `${endpointLabel(ep.address, ep.hostname)}.${base}`;
  for (const ep of view.endpoints) {
    add(epName(ep), addressRecord(ep.address));
    const ptr = reverseName(ep.address);
    if (ptr) add(ptr, { type: 'PTR', data: epName(ep) });
  }
  if (view.kind === 'cluster-ip') {
    for (const ip of view.clusterIPs) {
      add(base, addressRecord(ip));
      const ptr = reverseName(ip);
      if (ptr) add(ptr, { type: 'PTR', data: base });
    }
    for (const rec of srvSet(view.ports.map((p) => ({ port: p.port, target: base })))) add(base, rec);
    for (const port of view.ports) {
      if (port.name === '') continue;
      for (const rec of srvSet([{ port: port.port, target: base }])) add(srvName(port, base), rec);
    }
    return c.out;
  }
  // Headless: the service name answers with its endpoints; SRV records target each endpoint.
  for (const ep of view.endpoints) add(base, addressRecord(ep.address));
  const all: { port: number; target: string }[] = [];
  const byPort = new Map<string, { port: DnsPort; targets: { port: number; target: string }[] }>();
  for (const ep of view.endpoints) {
    for (const port of ep.ports) {
      all.push({ port: port.port, target: epName(ep) });
      if (port.name === '') continue;
      const name = srvName(port, base);
      const entry = byPort.get(name) ?? { port, targets: [] };
      entry.targets.push({ port: port.port, target: epName(ep) });
      byPort.set(name, entry);
    }
  }
  for (const rec of srvSet(dedupe(all))) add(base, rec);
  for (const [name, { targets }] of byPort) for (const rec of srvSet(dedupe(targets))) add(name, rec);
  return c.out;
}

function dedupe(targets: { port: number; target: string }[]): { port: number; target: string }[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const k = `${t.port} ${t.target}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
