// How the manifest source names, compares and reports model objects: keys,
// the origin a validation error points at, events, and their batch order.
import { ValidationError } from '../model/errors.js';
import type { ModelObject } from '../model/validate.js';
import type { SourceEvent } from './source.js';
import { deleteEvent, upsertEvent } from './model-events.js';

const UPSERT_ORDER: readonly ModelObject['kind'][] = ['Node', 'Namespace', 'Service', 'EndpointSlice', 'IngressClass', 'Secret', 'Ingress'];

/** kind + namespace/name: how objects are told apart. */
export function modelKey(object: ModelObject): string {
  const { namespace, name } = refOf(object);
  return `${object.kind}/${namespace}/${name}`;
}

/** The manifest object an object came from (Endpoints convert to slices), as validation errors name it. */
export function objectOrigin(object: ModelObject): string {
  if (object.kind === 'EndpointSlice' && object.value.origin === 'Endpoints') {
    return refOrigin({ kind: 'Endpoints', namespace: object.value.namespace, name: object.value.serviceName });
  }
  return modelKey(object);
}

export function refOrigin(ref: { kind: string; namespace: string; name: string }): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function duplicateError(object: ModelObject, firstFile: string, source: string): ValidationError {
  const { namespace, name } = refOf(object);
  return new ValidationError(
    { kind: object.kind, namespace, name },
    'metadata.name',
    `duplicate object: already defined in ${firstFile} (the first file in sorted order wins)`,
    source,
  );
}

/** Upserts then deletes, sorted so that batches read well and dependents go first. */
export function changeEvents(upserts: readonly ModelObject[], deletes: readonly ModelObject[]): SourceEvent[] {
  // Delete dependents first: slices before their services, services before nodes.
  return [...sortedByKindThenKey(upserts).map(upsertEvent), ...sortedByKindThenKey(deletes).reverse().map(deleteEvent)];
}

function sortedByKindThenKey(objects: readonly ModelObject[]): ModelObject[] {
  const keyed = objects.map((object) => ({ object, rank: UPSERT_ORDER.indexOf(object.kind), key: modelKey(object) }));
  keyed.sort((a, b) => a.rank - b.rank || compare(a.key, b.key));
  return keyed.map(({ object }) => object);
}

function refOf(object: ModelObject): { namespace: string; name: string } {
  return object.kind === 'Node' || object.kind === 'Namespace' || object.kind === 'IngressClass' ? { namespace: '', name: object.value.name } : object.value;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  const bRecord = b as Record<string, unknown>;
  const aRecord = a as Record<string, unknown>;
  return aKeys.every((key) => Object.hasOwn(bRecord, key) && deepEqual(aRecord[key], bRecord[key]));
}
