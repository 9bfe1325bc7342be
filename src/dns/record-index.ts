// The cluster zone's records, indexed by owner name and updated one service at a time:
// a change to a service replaces exactly the names it contributed, so an update costs
// what that service holds, not what the zone holds.
import { isInZone } from './names.js';
import type { NamedRecords, ZoneRecord } from './service-records.js';

/**
 * One change to the index, as ClusterRecords makes it: what a replica (a UDP worker's copy of the
 * index) applies to stay identical to the index it mirrors.
 */
export type IndexOp =
  | { readonly op: 'set'; readonly key: string; readonly namespace: string; readonly records: NamedRecords; readonly addresses: readonly string[] }
  | { readonly op: 'remove'; readonly key: string }
  /** A Namespace object known (present) or gone. */
  | { readonly op: 'namespace'; readonly name: string; readonly present: boolean };

/** A batch of ops and the serial the index had after them (replicas take it as theirs). */
export interface IndexBatch {
  readonly ops: readonly IndexOp[];
  readonly serial: number;
}

interface Contribution {
  readonly namespace: string;
  readonly names: readonly string[];
  readonly addresses: readonly string[];
}

export class RecordIndex {
  /** Owner name -> (service key -> records). */
  private readonly names = new Map<string, Map<string, ZoneRecord[]>>();
  /** Names that exist only because names below them do (RFC 8020's empty non-terminals), with counts. */
  private readonly nonTerminals = new Map<string, number>();
  private readonly byService = new Map<string, Contribution>();
  private readonly servicesPerNamespace = new Map<string, number>();
  /** Namespaces with a Namespace object. */
  private readonly namespaceObjects = new Set<string>();
  /** Namespace -> endpoint address -> count (for verified pod records). */
  private readonly addressesPerNamespace = new Map<string, Map<string, number>>();
  private version = 0;

  constructor(readonly zone: string) {}

  /** Bumped on every change (the SOA serial follows it). */
  get serial(): number {
    return this.version;
  }

  hasService(key: string): boolean {
    return this.byService.has(key);
  }

  get serviceCount(): number {
    return this.byService.size;
  }

  /** Replaces a service's records; undefined removes the service. */
  setService(key: string, namespace: string, records: NamedRecords | undefined, addresses: readonly string[] = []): void {
    this.removeService(key);
    if (!records) return;
    for (const [name, list] of records) {
      let owners = this.names.get(name);
      if (!owners) {
        owners = new Map();
        this.names.set(name, owners);
      }
      owners.set(key, list);
      this.countAncestors(name, 1);
    }
    this.byService.set(key, { namespace, names: [...records.keys()], addresses: [...addresses] });
    this.servicesPerNamespace.set(namespace, (this.servicesPerNamespace.get(namespace) ?? 0) + 1);
    let addrs = this.addressesPerNamespace.get(namespace);
    if (!addrs) {
      addrs = new Map();
      this.addressesPerNamespace.set(namespace, addrs);
    }
    for (const a of addresses) addrs.set(a, (addrs.get(a) ?? 0) + 1);
    this.version = (this.version + 1) >>> 0;
  }

  removeService(key: string): void {
    const prev = this.byService.get(key);
    if (!prev) return;
    this.byService.delete(key);
    for (const name of prev.names) {
      const owners = this.names.get(name);
      if (owners?.delete(key) && owners.size === 0) this.names.delete(name);
      this.countAncestors(name, -1);
    }
    const n = (this.servicesPerNamespace.get(prev.namespace) ?? 1) - 1;
    if (n > 0) this.servicesPerNamespace.set(prev.namespace, n);
    else this.servicesPerNamespace.delete(prev.namespace);
    const addrs = this.addressesPerNamespace.get(prev.namespace);
    if (addrs) {
      for (const a of prev.addresses) {
        const c = (addrs.get(a) ?? 1) - 1;
        if (c > 0) addrs.set(a, c);
        else addrs.delete(a);
      }
      if (addrs.size === 0) this.addressesPerNamespace.delete(prev.namespace);
    }
    this.version = (this.version + 1) >>> 0;
  }

  apply(batch: IndexBatch): void {
    for (const op of batch.ops) {
      if (op.op === 'set') this.setService(op.key, op.namespace, op.records, op.addresses);
      else if (op.op === 'remove') this.removeService(op.key);
      else if (op.present) this.namespaceObjects.add(op.name);
      else this.namespaceObjects.delete(op.name);
    }
    this.version = batch.serial;
  }

  /** The ops that rebuild this index from empty (a new replica's first batch). */
  snapshot(): IndexBatch {
    const ops: IndexOp[] = [...this.namespaceObjects].map((name) => ({ op: 'namespace' as const, name, present: true }));
    for (const [key, c] of this.byService) {
      const records: NamedRecords = new Map();
      for (const name of c.names) records.set(name, this.names.get(name)?.get(key) ?? []);
      ops.push({ op: 'set', key, namespace: c.namespace, records, addresses: c.addresses });
    }
    return { ops, serial: this.version };
  }

  /** The records owned by `name` (a key), or undefined when no service defines that name. */
  lookup(name: string): readonly ZoneRecord[] | undefined {
    const owners = this.names.get(name);
    if (!owners) return undefined;
    if (owners.size === 1) return owners.values().next().value;
    return [...owners.values()].flat();
  }

  /** True when names exist below `name` although it has no records itself. */
  hasNamesBelow(name: string): boolean {
    return (this.nonTerminals.get(name) ?? 0) > 0;
  }

  /** A namespace exists for DNS once its Namespace object or a Service in it is known. */
  namespaceExists(namespace: string): boolean {
    return this.namespaceObjects.has(namespace) || this.servicesPerNamespace.has(namespace);
  }

  hasNamespaceObject(namespace: string): boolean {
    return this.namespaceObjects.has(namespace);
  }

  namespaceHasAddress(namespace: string, address: string): boolean {
    return this.addressesPerNamespace.get(namespace)?.has(address) ?? false;
  }

  /** Counts every ancestor of `name` inside the zone (the zone itself excluded). */
  private countAncestors(name: string, delta: number): void {
    if (!isInZone(name, this.zone)) return;
    let at = name.indexOf('.');
    while (at >= 0) {
      const parent = name.slice(at + 1);
      if (parent.length <= this.zone.length) break;
      const n = (this.nonTerminals.get(parent) ?? 0) + delta;
      if (n > 0) this.nonTerminals.set(parent, n);
      else this.nonTerminals.delete(parent);
      at = name.indexOf('.', at + 1);
    }
  }
}
