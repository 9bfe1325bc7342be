// Keeps the record index in step with the object store: the initial build, then only the
// services and Namespace objects each batch changed, as one batch of ops (which the UDP
// workers' replicas apply too).
import type { ObjectStore } from '../state/object-store.js';
import { type IndexBatch, type IndexOp, RecordIndex } from './record-index.js';
import { allServices, dnsServiceView } from './records-from-store.js';
import { serviceRecords } from './service-records.js';
import { nameKey } from './names.js';

export class ClusterRecords {
  readonly index: RecordIndex;

  /** `onBatch` hears every applied batch (the UDP workers' replicas follow the index with it). */
  constructor(zone: string, private readonly onBatch?: (batch: IndexBatch) => void) {
    this.index = new RecordIndex(nameKey(zone));
  }

  /** Recomputes the given services and Namespace objects (all of the store's when `keys` is omitted). */
  update(store: ObjectStore, keys?: Iterable<string>, namespaces?: Iterable<string>): void {
    const ops: IndexOp[] = [];
    for (const name of keys === undefined ? store.namespaces() : namespaces ?? []) {
      const present = store.hasNamespace(name);
      if (present !== this.index.hasNamespaceObject(name)) ops.push({ op: 'namespace', name, present });
    }
    for (const key of keys ?? allServices(store)) {
      const view = dnsServiceView(store, key);
      if (!view) {
        if (this.index.hasService(key)) ops.push({ op: 'remove', key });
        continue;
      }
      ops.push({ op: 'set', key, namespace: view.namespace, records: serviceRecords(view, this.index.zone), addresses: view.endpoints.map((e) => e.address) });
    }
    if (ops.length === 0) return;
    const batch: IndexBatch = { ops, serial: (this.index.serial + 1) >>> 0 };
    this.index.apply(batch);
    this.onBatch?.(batch);
  }
}
