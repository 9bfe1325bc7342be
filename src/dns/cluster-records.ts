// Keeps the record index in step with the object store: the initial build, then only
// the services each batch changed.
import type { ObjectStore } from '../state/object-store.js';
import { RecordIndex } from './record-index.js';
import { allServices, dnsServiceView } from './records-from-store.js';
import { serviceRecords } from './service-records.js';
import { nameKey } from './names.js';

export class ClusterRecords {
  readonly index: RecordIndex;

  constructor(zone: string) {
    this.index = new RecordIndex(nameKey(zone));
  }

  /** Recomputes the given services (all of the store's when omitted). */
  update(store: ObjectStore, keys?: Iterable<string>): void {
    for (const key of keys ?? allServices(store)) {
      const view = dnsServiceView(store, key);
      if (!view) {
        this.index.removeService(key);
        continue;
      }
      this.index.setService(key, view.namespace, serviceRecords(view, this.index.zone), view.endpoints.map((e) => e.address));
    }
  }
}
