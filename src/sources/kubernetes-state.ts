// The Kubernetes source's memory, pure (no I/O): the resourceVersion last seen of
// every object and the model objects delivered. Turns watch events and (re)lists
// into SourceEvents: a relist is diffed against what was delivered, never a wipe.
// Objects are read leniently: the API server validated them already (perhaps by newer
// rules than ours), so only what cannot be programmed safely is refused or dropped.
import { isDeepStrictEqual } from 'node:util';
import type { ValidationError } from '../model/errors.js';
import { LABEL_HEADLESS, LABEL_SERVICE_PROXY_NAME } from '../model/types.js';
import { validateEndpointSlice } from '../model/validate-endpoints.js';
import { validateNamespace } from '../model/validate-namespace.js';
import { validateNode } from '../model/validate-node.js';
import { validateService } from '../model/validate-service.js';
import type { ModelObject, Validated } from '../model/validate.js';
import type { SourceEvent } from './source.js';
import { deleteEvent, upsertEvent } from './model-events.js';
export { upsertEvent } from './model-events.js';

/** The kinds this source watches (the Ingress kinds come from manifests only, for now). */
export type ResourceKind = Extract<ModelObject['kind'], 'Node' | 'Namespace' | 'Service' | 'EndpointSlice'>;

/** Put into validation errors as where the object came from. */
export const KUBERNETES_ORIGIN = 'kubernetes';

export interface StateChange {
  readonly events: SourceEvent[];
  readonly errors: ValidationError[];
  /** Parts dropped from objects that are programmed without them (read leniently: see Strictness). */
  readonly skipped: ValidationError[];
  /** `Kind/namespace/name` of objects that turned invalid and stay at their last good version. */
  readonly kept: string[];
  /** `namespace/name` of objects seen valid (even if unchanged) or no longer ours: not invalid any more. */
  readonly cleared: string[];
}

export interface KubernetesStateOptions {
  readonly nodeName: string;
  readonly serviceProxyName?: string;
}

interface RawMeta {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string | undefined;
  readonly labels: Readonly<Record<string, unknown>>;
}

const KINDS: readonly ResourceKind[] = ['Node', 'Namespace', 'Service', 'EndpointSlice'];

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function rawMeta(raw: unknown): RawMeta {
  const meta = record(record(raw)['metadata']);
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const rv = meta['resourceVersion'];
  return {
    namespace: text(meta['namespace']),
    name: text(meta['name']),
    resourceVersion: typeof rv === 'string' && rv !== '' ? rv : undefined,
    labels: record(meta['labels']),
  };
}

function validate(kind: ResourceKind, raw: unknown): Validated<ModelObject> {
  const wrap = <T>(result: Validated<T>, make: (value: T) => ModelObject): Validated<ModelObject> =>
    result.ok ? { ok: true, value: make(result.value), skipped: result.skipped ?? [] } : result;
  switch (kind) {
    case 'Service':
      return wrap(validateService(raw, KUBERNETES_ORIGIN, 'default', 'lenient'), (value) => ({ kind, value }));
    case 'EndpointSlice':
      return wrap(validateEndpointSlice(raw, KUBERNETES_ORIGIN, 'default', 'lenient'), (value) => ({ kind, value }));
    case 'Node':
      return wrap(validateNode(raw, KUBERNETES_ORIGIN), (value) => ({ kind, value }));
    case 'Namespace':
      return wrap(validateNamespace(raw, KUBERNETES_ORIGIN), (value) => ({ kind, value }));
  }
}

function emptyChange(): StateChange {
  return { events: [], errors: [], skipped: [], kept: [], cleared: [] };
}

function merge(into: StateChange, from: StateChange): void {
  into.events.push(...from.events);
  into.errors.push(...from.errors);
  into.skipped.push(...from.skipped);
  into.kept.push(...from.kept);
  into.cleared.push(...from.cleared);
}

export class KubernetesState {
  /** resourceVersion last processed per object (valid or not): the same version is never re-reported. */
  private readonly seen: Record<ResourceKind, Map<string, string | undefined>> = { Node: new Map(), Namespace: new Map(), Service: new Map(), EndpointSlice: new Map() };
  /** What was delivered (or will be, in the first batch): the last good version of each object. */
  private readonly delivered: Record<ResourceKind, Map<string, ModelObject>> = { Node: new Map(), Namespace: new Map(), Service: new Map(), EndpointSlice: new Map() };

  constructor(private readonly options: KubernetesStateOptions) {}

  count(kind: ResourceKind): number {
    return this.delivered[kind].size;
  }

  /** An object added or modified (from a watch or a list). */
  upsert(kind: ResourceKind, raw: unknown): StateChange {
    const meta = rawMeta(raw);
    const key = `${meta.namespace}/${meta.name}`;
    const seen = this.seen[kind];
    if (meta.resourceVersion !== undefined && seen.has(key) && seen.get(key) === meta.resourceVersion) return emptyChange();
    seen.set(key, meta.resourceVersion);

    const delivered = this.delivered[kind];
    const previous = delivered.get(key);
    if (this.ignored(kind, meta)) return { ...this.forget(kind, key), cleared: [key] };
    const result = validate(kind, raw);
    if (!result.ok) {
      // The last good version stays in force: a bad edit never flushes working rules.
      return { events: [], errors: [...result.errors], skipped: [], kept: previous === undefined ? [] : [`${kind}/${key}`], cleared: [] };
    }
    const skipped = [...(result.skipped ?? [])];
    // A bad edit reverted to the version in force changes nothing delivered, but the object is valid again.
    if (previous !== undefined && isDeepStrictEqual(previous, result.value)) return { ...emptyChange(), skipped, cleared: [key] };
    delivered.set(key, result.value);
    return { events: [upsertEvent(result.value)], errors: [], skipped, kept: [], cleared: [key] };
  }

  /** An object deleted (watch DELETED). */
  remove(kind: ResourceKind, raw: unknown): StateChange {
    const meta = rawMeta(raw);
    const key = `${meta.namespace}/${meta.name}`;
    this.seen[kind].delete(key);
    return this.forget(kind, key);
  }

  /**
   * A complete list of `kind` (the first one, or a relist after 410 Gone):
   * upserts for what is new or changed, deletes for what vanished, nothing for the rest.
   */
  replace(kind: ResourceKind, items: readonly unknown[]): StateChange {
    const change = emptyChange();
    const present = new Set<string>();
    const ordered = items
      .map((raw) => ({ raw, meta: rawMeta(raw) }))
      .sort((a, b) => compare(`${a.meta.namespace}/${a.meta.name}`, `${b.meta.namespace}/${b.meta.name}`));
    for (const { raw, meta } of ordered) {
      present.add(`${meta.namespace}/${meta.name}`);
      merge(change, this.upsert(kind, raw));
    }
    const vanished = new Set([...this.seen[kind].keys(), ...this.delivered[kind].keys()]);
    for (const key of [...vanished].sort(compare)) {
      if (present.has(key)) continue;
      this.seen[kind].delete(key);
      merge(change, this.forget(kind, key));
    }
    return change;
  }

  /** Everything delivered, as upserts: nodes, then services, then slices (the first batch). */
  snapshot(): SourceEvent[] {
    const events: SourceEvent[] = [];
    for (const kind of KINDS) {
      const delivered = this.delivered[kind];
      for (const key of [...delivered.keys()].sort(compare)) {
        const object = delivered.get(key);
        if (object !== undefined) events.push(upsertEvent(object));
      }
    }
    return events;
  }

  /**
   * kube-proxy's informer filter: objects labelled for another proxy
   * (service.kubernetes.io/service-proxy-name) or headless are not ours.
   * The node watch is by name already; other nodes are ignored too.
   */
  private ignored(kind: ResourceKind, meta: RawMeta): boolean {
    if (kind === 'Node') return meta.name !== this.options.nodeName;
    if (kind === 'Namespace') return false;
    if (Object.hasOwn(meta.labels, LABEL_HEADLESS)) return true;
    if (!Object.hasOwn(meta.labels, LABEL_SERVICE_PROXY_NAME)) return false;
    return meta.labels[LABEL_SERVICE_PROXY_NAME] !== this.options.serviceProxyName;
  }

  private forget(kind: ResourceKind, key: string): StateChange {
    const delivered = this.delivered[kind];
    const previous = delivered.get(key);
    if (previous === undefined) return emptyChange();
    delivered.delete(key);
    return { events: [deleteEvent(previous)], errors: [], skipped: [], kept: [], cleared: [] };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
