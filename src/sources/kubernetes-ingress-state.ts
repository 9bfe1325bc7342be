// The Ingress kinds' side of the Kubernetes source, pure (no I/O): Ingresses,
// IngressClasses and kubernetes.io/tls Secrets as the API serves them, turned
// into SourceEvents with the manifest source's validators. As for Services, the
// same resourceVersion is never re-reported, a relist is diffed (never a wipe)
// and an invalid edit keeps the last good version in force. It also keeps each
// Ingress's resourceVersion and status.loadBalancer for the status writer.
import { isDeepStrictEqual } from 'node:util';
import type { ValidationError } from '../model/errors.js';
import { validateIngressClass } from '../model/ingress-class-validate.js';
import { validateIngress } from '../model/ingress-validate.js';
import { isTLSSecret, validateTLSSecret } from '../model/secret-validate.js';
import type { ModelObject, Validated } from '../model/validate.js';
import { KUBERNETES_ORIGIN } from './kubernetes-state.js';
import { deleteEvent, upsertEvent } from './model-events.js';
import type { SourceEvent } from './source.js';

export type IngressResourceKind = 'Ingress' | 'IngressClass' | 'Secret';
export const INGRESS_KINDS: readonly IngressResourceKind[] = ['IngressClass', 'Secret', 'Ingress'];

/** The group version the source lists Ingresses and IngressClasses from. */
export const NETWORKING_V1 = 'networking.k8s.io/v1';

export interface IngressStateChange {
  readonly events: SourceEvent[];
  readonly errors: ValidationError[];
  /** `namespace/name` of the objects found valid (an earlier Warning about them is history). */
  readonly cleared: string[];
}

const NO_CHANGE = (): IngressStateChange => ({ events: [], errors: [], cleared: [] });

/** What the status writer needs of an Ingress as the API holds it. */
export interface IngressApiObject {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  /** status.loadBalancer.ingress as stored ([] when unset). */
  readonly loadBalancer: readonly Readonly<Record<string, unknown>>[];
  /** The object as served, for the status update's body. */
  readonly raw: Readonly<Record<string, unknown>>;
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function keyOf(raw: unknown): { key: string; namespace: string; name: string; resourceVersion: string } {
  const meta = record(record(raw)['metadata']);
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const namespace = text(meta['namespace']);
  const name = text(meta['name']);
  return { key: namespace === '' ? name : `${namespace}/${name}`, namespace, name, resourceVersion: text(meta['resourceVersion']) };
}

/** Lists leave out kind and apiVersion; the validators read apiVersion (v1 is not the legacy shape). */
function typed(kind: IngressResourceKind, raw: unknown): Record<string, unknown> {
  return { ...record(raw), kind, apiVersion: kind === 'Secret' ? 'v1' : NETWORKING_V1 };
}

function validate(kind: IngressResourceKind, raw: Record<string, unknown>): Validated<ModelObject> {
  switch (kind) {
    case 'Ingress': {
      const r = validateIngress(raw, KUBERNETES_ORIGIN);
      return r.ok ? { ok: true, value: { kind, value: r.value } } : r;
    }
    case 'IngressClass': {
      const r = validateIngressClass(raw, KUBERNETES_ORIGIN);
      return r.ok ? { ok: true, value: { kind, value: r.value } } : r;
    }
    case 'Secret': {
      const r = validateTLSSecret(raw, KUBERNETES_ORIGIN);
      return r.ok ? { ok: true, value: { kind, value: r.value } } : r;
    }
  }
}

function loadBalancerOf(raw: unknown): Readonly<Record<string, unknown>>[] {
  const list = record(record(record(raw)['status'])['loadBalancer'])['ingress'];
  return Array.isArray(list) ? list.map(record) : [];
}

export class KubernetesIngressState {
  private readonly seen: Record<IngressResourceKind, Map<string, string>> = { Ingress: new Map(), IngressClass: new Map(), Secret: new Map() };
  private readonly delivered: Record<IngressResourceKind, Map<string, ModelObject>> = { Ingress: new Map(), IngressClass: new Map(), Secret: new Map() };
  /** Every Ingress the API holds (valid or not), for status writes. */
  private readonly apiIngresses = new Map<string, IngressApiObject>();

  count(kind: IngressResourceKind): number {
    return this.delivered[kind].size;
  }

  ingressObjects(): IterableIterator<IngressApiObject> {
    return this.apiIngresses.values();
  }

  upsert(kind: IngressResourceKind, raw: unknown): IngressStateChange {
    const meta = keyOf(raw);
    if (kind === 'Ingress') {
      this.apiIngresses.set(meta.key, { namespace: meta.namespace, name: meta.name, resourceVersion: meta.resourceVersion, loadBalancer: loadBalancerOf(raw), raw: record(raw) });
    }
    const seen = this.seen[kind];
    if (meta.resourceVersion !== '' && seen.get(meta.key) === meta.resourceVersion) return NO_CHANGE();
    seen.set(meta.key, meta.resourceVersion);
    const object = typed(kind, raw);
    // A Secret that changed its type is no longer ours (the list's field selector would drop it too).
    if (kind === 'Secret' && !isTLSSecret(object)) return this.forget(kind, meta.key);
    const result = validate(kind, object);
    if (!result.ok) return { events: [], errors: [...result.errors], cleared: [] };
    const previous = this.delivered[kind].get(meta.key);
    if (previous !== undefined && isDeepStrictEqual(previous, result.value)) return { ...NO_CHANGE(), cleared: [meta.key] };
    this.delivered[kind].set(meta.key, result.value);
    return { events: [upsertEvent(result.value)], errors: [], cleared: [meta.key] };
  }

  remove(kind: IngressResourceKind, raw: unknown): IngressStateChange {
    const { key } = keyOf(raw);
    this.seen[kind].delete(key);
    if (kind === 'Ingress') this.apiIngresses.delete(key);
    return this.forget(kind, key);
  }

  /** A complete list (first, or a relist): upserts for what is new or changed, deletes for what vanished. */
  replace(kind: IngressResourceKind, items: readonly unknown[]): IngressStateChange {
    const change = NO_CHANGE();
    const present = new Set<string>();
    for (const raw of items) {
      present.add(keyOf(raw).key);
      const one = this.upsert(kind, raw);
      change.events.push(...one.events);
      change.errors.push(...one.errors);
      change.cleared.push(...one.cleared);
    }
    for (const key of new Set([...this.seen[kind].keys(), ...this.delivered[kind].keys()])) {
      if (present.has(key)) continue;
      this.seen[kind].delete(key);
      if (kind === 'Ingress') this.apiIngresses.delete(key);
      change.events.push(...this.forget(kind, key).events);
    }
    return change;
  }

  /** Everything delivered, as upserts: classes, Secrets, then Ingresses. */
  snapshot(): SourceEvent[] {
    return INGRESS_KINDS.flatMap((kind) => [...this.delivered[kind].entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, object]) => upsertEvent(object)));
  }

  private forget(kind: IngressResourceKind, key: string): IngressStateChange {
    const previous = this.delivered[kind].get(key);
    if (previous === undefined) return NO_CHANGE();
    this.delivered[kind].delete(key);
    return { events: [deleteEvent(previous)], errors: [], cleared: [] };
  }
}
