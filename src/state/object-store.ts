// The agent's current view of the cluster: Services, EndpointSlices and Nodes,
// updated by source batches. Reports which services a batch actually changed
// (as kube-proxy's ServiceChangeTracker / EndpointsChangeTracker do), so the
// desired state is recomputed only for those.
import { LABEL_SERVICE_PROXY_NAME, objectKey } from '../model/types.js';
import type { EndpointSlice, Node, Service } from '../model/types.js';
import type { SourceEvent } from '../sources/source.js';
import { deepEqual } from './deep-equal.js';

/** Service keys (`ns/name`) touched by one batch. */
export interface ServiceKeySet {
  /** Services added, removed or modified. */
  readonly services: Set<string>;
  /** Services whose endpoint slices were added, removed or modified. */
  readonly endpoints: Set<string>;
  /** Node names added, removed or modified (for the agent, e.g. its own zone). */
  readonly nodes: Set<string>;
  /** Namespace objects added or removed (cluster DNS; absent: none). */
  readonly namespaces?: Set<string>;
}

export interface ObjectStoreOptions {
  /**
   * Services labelled service.kubernetes.io/service-proxy-name belong to another proxy and are
   * treated as absent, unless the label's value equals this name.
   */
  readonly serviceProxyName?: string;
}

/** The union of a batch's service and endpoint changes: the services to recompute. */
export function changedServiceKeys(keys: ServiceKeySet): Set<string> {
  return new Set([...keys.services, ...keys.endpoints]);
}

export class ObjectStore {
  private readonly serviceProxyName: string | undefined;
  private readonly servicesByKey = new Map<string, Service>();
  private readonly slicesByKey = new Map<string, EndpointSlice>();
  /** Service key -> (slice key -> slice). */
  private readonly slicesByService = new Map<string, Map<string, EndpointSlice>>();
  private readonly nodesByName = new Map<string, Node>();
  private readonly namespaceNames = new Set<string>();
  private synced = false;

  constructor(options: ObjectStoreOptions = {}) {
    this.serviceProxyName = options.serviceProxyName;
  }

  /** True once any source batch carried a 'synced' event. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** Applies one batch in order and reports what changed; identical upserts are no change. */
  apply(events: readonly SourceEvent[]): ServiceKeySet {
    const changed = { services: new Set<string>(), endpoints: new Set<string>(), nodes: new Set<string>(), namespaces: new Set<string>() } satisfies ServiceKeySet;
    for (const ev of events) {
      switch (ev.type) {
        case 'service-upsert':
          if (this.ownsService(ev.service)) {
            this.upsertService(ev.service, changed.services);
          } else {
            this.deleteService(objectKey(ev.service.namespace, ev.service.name), changed.services);
          }
          break;
        case 'service-delete':
          this.deleteService(objectKey(ev.namespace, ev.name), changed.services);
          break;
        case 'slice-upsert':
          this.upsertSlice(ev.slice, changed.endpoints);
          break;
        case 'slice-delete':
          this.deleteSlice(objectKey(ev.namespace, ev.name), changed.endpoints);
          break;
        case 'node-upsert':
          if (!deepEqual(this.nodesByName.get(ev.node.name), ev.node)) {
            this.nodesByName.set(ev.node.name, ev.node);
            changed.nodes.add(ev.node.name);
          }
          break;
        case 'node-delete':
          if (this.nodesByName.delete(ev.name)) changed.nodes.add(ev.name);
          break;
        case 'namespace-upsert':
          if (!this.namespaceNames.has(ev.namespace.name)) {
            this.namespaceNames.add(ev.namespace.name);
            changed.namespaces.add(ev.namespace.name);
          }
          break;
        case 'namespace-delete':
          if (this.namespaceNames.delete(ev.name)) changed.namespaces.add(ev.name);
          break;
        case 'synced':
          this.synced = true;
          break;
        case 'invalid':
          // Reported by the agent; invalid objects never reach the store.
          break;
      }
    }
    return changed;
  }

  getService(key: string): Service | undefined {
    return this.servicesByKey.get(key);
  }

  serviceKeys(): IterableIterator<string> {
    return this.servicesByKey.keys();
  }

  get serviceCount(): number {
    return this.servicesByKey.size;
  }

  /** The slices labelled for a service (`ns/name`), sorted by slice name for deterministic output. */
  slicesForService(serviceKey: string): EndpointSlice[] {
    const slices = this.slicesByService.get(serviceKey);
    if (!slices) return [];
    return [...slices.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get sliceCount(): number {
    return this.slicesByKey.size;
  }

  /** Whether a Namespace object of that name is known (not whether services live there). */
  hasNamespace(name: string): boolean {
    return this.namespaceNames.has(name);
  }

  namespaces(): IterableIterator<string> {
    return this.namespaceNames.values();
  }

  getNode(name: string): Node | undefined {
    return this.nodesByName.get(name);
  }

  nodes(): IterableIterator<Node> {
    return this.nodesByName.values();
  }

  private ownsService(service: Service): boolean {
    const proxyName = service.labels[LABEL_SERVICE_PROXY_NAME];
    return proxyName === undefined || (this.serviceProxyName !== undefined && proxyName === this.serviceProxyName);
  }

  private upsertService(service: Service, changed: Set<string>): void {
    const key = objectKey(service.namespace, service.name);
    if (deepEqual(this.servicesByKey.get(key), service)) return;
    this.servicesByKey.set(key, service);
    changed.add(key);
  }

  private deleteService(key: string, changed: Set<string>): void {
    if (this.servicesByKey.delete(key)) changed.add(key);
  }

  private upsertSlice(slice: EndpointSlice, changed: Set<string>): void {
    const key = objectKey(slice.namespace, slice.name);
    const prev = this.slicesByKey.get(key);
    if (deepEqual(prev, slice)) return;
    if (prev) this.unindexSlice(key, prev, changed);
    this.slicesByKey.set(key, slice);
    const serviceKey = objectKey(slice.namespace, slice.serviceName);
    let slices = this.slicesByService.get(serviceKey);
    if (!slices) {
      slices = new Map();
      this.slicesByService.set(serviceKey, slices);
    }
    slices.set(key, slice);
    changed.add(serviceKey);
  }

  private deleteSlice(key: string, changed: Set<string>): void {
    const prev = this.slicesByKey.get(key);
    if (!prev) return;
    this.slicesByKey.delete(key);
    this.unindexSlice(key, prev, changed);
  }

  private unindexSlice(key: string, slice: EndpointSlice, changed: Set<string>): void {
    const serviceKey = objectKey(slice.namespace, slice.serviceName);
    const slices = this.slicesByService.get(serviceKey);
    if (!slices) return;
    slices.delete(key);
    if (slices.size === 0) this.slicesByService.delete(serviceKey);
    changed.add(serviceKey);
  }
}
