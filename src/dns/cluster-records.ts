// Keeps the record index in step with the object store: the initial build, then only
// the services each batch changed.
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

  /** Recomputes the given services (all of the store's when omitted). */
  update(store: ObjectStore, keys?: Iterable<string>): void {
    const ops: IndexOp[] = [];
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
