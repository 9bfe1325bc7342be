// The fake API server's storage: objects per resource, one global resourceVersion
// counter (etcd's revision), and per resource a bounded history of changes that
// watches resume from, like kube-apiserver's watch cache.
import { randomUUID } from 'node:crypto';
import { RESOURCES, type ResourceName } from './resources.js';
import type { Json } from './selectors.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly resource: ResourceName;
  readonly type: ChangeType;
  readonly rv: number;
  /** ADDED/MODIFIED: the object as stored; DELETED: its last state stamped with the deletion's resourceVersion. */
  readonly object: Json;
  /** The object before the change (MODIFIED, DELETED); decides selector transitions. */
  readonly previous: Json | undefined;
}

export class StoreError extends Error {
  constructor(
    readonly code: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

interface ResourceData {
  readonly objects: Map<string, Json>;
  history: Change[];
  /** Watches from a resourceVersion below this get 410 (the watch cache's oldest-1). */
  floor: number;
}

export type ChangeListener = (change: Change) => void;

function clone(object: Json): Json {
  return structuredClone(object);
}

function metadataOf(object: Json): Json {
  const meta = object['metadata'];
  if (typeof meta !== 'object' || meta === null) throw new StoreError(409, 'object has no metadata');
  return meta as Json;
}

export class FakeStore {
  private rv: number;
  private readonly data: Record<ResourceName, ResourceData>;
  private readonly listeners = new Set<ChangeListener>();

  /** `historyLimit`: changes kept per resource; older ones are compacted (watches from before them get 410). */
  constructor(
    private readonly historyLimit: number,
    initialResourceVersion = 1000,
  ) {
    this.rv = initialResourceVersion;
    const empty = (): ResourceData => ({ objects: new Map(), history: [], floor: 0 });
    this.data = { services: empty(), endpointslices: empty(), nodes: empty(), namespaces: empty(), ingresses: empty(), ingressclasses: empty(), secrets: empty() };
  }

  get resourceVersion(): number {
    return this.rv;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Current objects, sorted by namespace/name as the API lists them. */
  list(resource: ResourceName): Json[] {
    return [...this.data[resource].objects.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => clone(o));
  }

  /** The objects as they were at `rv` (undoing newer changes), or undefined when history does not reach back. */
  listAt(resource: ResourceName, rv: number): Json[] | undefined {
    const data = this.data[resource];
    if (rv < data.floor) return undefined;
    const objects = new Map(data.objects);
    for (const change of [...data.history].reverse()) {
      if (change.rv <= rv) break;
      const key = this.keyOf(resource, change.object);
      if (change.previous === undefined) objects.delete(key);
      else objects.set(key, change.previous);
    }
    return [...objects.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => clone(o));
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): Json | undefined {
    const object = this.data[resource].objects.get(`${namespace ?? ''}/${name}`);
    return object === undefined ? undefined : clone(object);
  }

  /** undefined when a watch may resume from `rv`; else the floor it is below. */
  expiredFloor(resource: ResourceName, rv: number): number | undefined {
    const floor = this.data[resource].floor;
    return rv < floor ? floor : undefined;
  }

  /** Changes after `rv` (the caller checked expiredFloor first). */
  changesSince(resource: ResourceName, rv: number): Change[] {
    return this.data[resource].history.filter((c) => c.rv > rv);
  }

  create(resource: ResourceName, object: Json): Json {
    const stored = this.normalise(resource, object);
    const meta = metadataOf(stored);
    const key = this.keyOf(resource, stored);
    if (this.data[resource].objects.has(key)) throw new StoreError(409, `${resource} "${String(meta['name'])}" already exists`);
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return this.commit(resource, 'ADDED', key, stored, undefined);
  }

  update(resource: ResourceName, object: Json): Json {
    const stored = this.normalise(resource, object);
    const meta = metadataOf(stored);
    const key = this.keyOf(resource, stored);
    const previous = this.data[resource].objects.get(key);
    if (previous === undefined) throw new StoreError(404, `${resource} "${String(meta['name'])}" not found`);
    const previousMeta = metadataOf(previous);
    meta['uid'] = previousMeta['uid'];
    meta['creationTimestamp'] = previousMeta['creationTimestamp'];
    return this.commit(resource, 'MODIFIED', key, stored, previous);
  }

  delete(resource: ResourceName, namespace: string | undefined, name: string): Json {
    const ns = RESOURCES[resource].namespaced ? (namespace ?? 'default') : '';
    const key = `${ns}/${name}`;
    const previous = this.data[resource].objects.get(key);
    if (previous === undefined) throw new StoreError(404, `${resource} "${name}" not found`);
    return this.commit(resource, 'DELETED', key, clone(previous), previous);
  }

  /** Drops all history (etcd compaction): every watch from an older resourceVersion gets 410. */
  compact(): void {
    for (const data of Object.values(this.data)) {
      data.history = [];
      data.floor = this.rv;
    }
  }

  private commit(resource: ResourceName, type: ChangeType, key: string, object: Json, previous: Json | undefined): Json {
    this.rv++;
    metadataOf(object)['resourceVersion'] = String(this.rv);
    const data = this.data[resource];
    if (type === 'DELETED') data.objects.delete(key);
    else data.objects.set(key, object);
    const change: Change = { resource, type, rv: this.rv, object: clone(object), previous };
    data.history.push(change);
    while (data.history.length > this.historyLimit) {
      data.history.shift();
      data.floor = (data.history[0]?.rv ?? this.rv + 1) - 1;
    }
    for (const listener of this.listeners) listener(change);
    return clone(object);
  }

  /** A private copy without kind/apiVersion (added when served) and with the namespace defaulted. */
  private normalise(resource: ResourceName, object: Json): Json {
    const copy = clone(object);
    delete copy['kind'];
    delete copy['apiVersion'];
    const meta = metadataOf(copy);
    if (typeof meta['name'] !== 'string' || meta['name'] === '') throw new StoreError(409, 'metadata.name is required');
    if (RESOURCES[resource].namespaced) meta['namespace'] = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
    else delete meta['namespace'];
    return copy;
  }

  private keyOf(resource: ResourceName, object: Json): string {
    const meta = metadataOf(object);
    return `${RESOURCES[resource].namespaced ? String(meta['namespace']) : ''}/${String(meta['name'])}`;
  }
}
