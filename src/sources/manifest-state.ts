// The manifest source's memory: the last good content of every file, the
// objects they define, and what was last delivered to the sink. Pure (no I/O):
// given the files as they are now, it computes the next batch of events.
import { ValidationError } from '../model/errors.js';
import type { Service } from '../model/types.js';
import { validateObject, type ModelObject } from '../model/validate.js';
import type { SourceEvent } from './source.js';
import type { ClusterIPAllocator } from './cluster-ip-allocator.js';
import { parseManifest } from './manifest-parse.js';

/** A file as read now; `text: undefined` when it exists but could not be read (keep what we had). */
export interface FileSnapshot {
  readonly path: string;
  readonly text: string | undefined;
}

interface DocumentResult {
  /** `file:line`, as put into validation errors. */
  readonly source: string;
  readonly objects: readonly ModelObject[];
  readonly errors: readonly ValidationError[];
}

interface LoadedFile {
  /** The text last seen, good or not: unchanged text is neither re-parsed nor re-reported. */
  readonly seenText: string;
  /** Validation of the last text that parsed. */
  readonly documents: readonly DocumentResult[];
}

interface Entry {
  /** As written in the manifest (before cluster IP allocation). */
  readonly object: ModelObject;
  readonly file: string;
}

export interface UpdateResult {
  /** Empty when nothing changed. */
  readonly events: SourceEvent[];
  readonly errors: readonly ValidationError[];
  /** Keys (`kind/namespace/name`) of objects kept at their last good version. */
  readonly kept: readonly string[];
}

const UPSERT_ORDER: readonly ModelObject['kind'][] = ['Node', 'Service', 'EndpointSlice'];

export class ManifestState {
  private files = new Map<string, LoadedFile>();
  private current = new Map<string, Entry>();
  private delivered = new Map<string, ModelObject>();

  constructor(private readonly allocator: ClusterIPAllocator) {}

  get fileCount(): number {
    return this.files.size;
  }

  get objectCount(): number {
    return this.delivered.size;
  }

  /**
   * `snapshot`: every file that exists now, in sorted order (first one wins on
   * duplicates). `extraErrors` (e.g. unreadable files) are reported with the batch.
   */
  update(snapshot: readonly FileSnapshot[], extraErrors: readonly ValidationError[] = []): UpdateResult {
    const errors: ValidationError[] = [];
    const changed = new Set<string>();
    const files = new Map<string, LoadedFile>();
    for (const { path, text } of snapshot) {
      const previous = this.files.get(path);
      if (text === undefined || text === previous?.seenText) {
        if (previous !== undefined) files.set(path, previous);
        continue;
      }
      changed.add(path);
      const parsed = parseManifest(text, path);
      if (!parsed.ok) {
        // A half-written file never replaces good content: keep the last documents.
        errors.push(parsed.error);
        files.set(path, { seenText: text, documents: previous?.documents ?? [] });
        continue;
      }
      const documents = parsed.documents.map(({ raw, line }): DocumentResult => {
        const source = `${path}:${line}`;
        const result = validateObject(raw, source);
        return { source, objects: result.objects, errors: result.errors };
      });
      files.set(path, { seenText: text, documents });
      for (const document of documents) errors.push(...document.errors);
    }
    for (const path of this.files.keys()) if (!files.has(path)) changed.add(path);
    this.files = files;
    if (changed.size === 0) {
      return { events: extraErrors.length > 0 ? [{ type: 'invalid', errors: extraErrors }] : [], errors: extraErrors, kept: [] };
    }

    const desired = new Map<string, Entry>();
    const failedOrigins = new Set<string>();
    for (const [path, file] of files) {
      for (const document of file.documents) {
        for (const error of document.errors) failedOrigins.add(refOrigin(error.ref));
        for (const object of document.objects) {
          const key = modelKey(object);
          const first = desired.get(key);
          if (first === undefined) {
            desired.set(key, { object, file: path });
          } else if (changed.has(path) || changed.has(first.file)) {
            errors.push(duplicateError(object, first.file, document.source));
          }
        }
      }
    }
    // An object whose definition turned invalid keeps its last good version,
    // so that a typo never flushes the rules serving it.
    const kept: string[] = [];
    for (const [key, entry] of this.current) {
      if (desired.has(key) || !failedOrigins.has(objectOrigin(entry.object))) continue;
      desired.set(key, entry);
      if (changed.has(entry.file)) kept.push(key);
    }
    this.current = desired;

    const next = this.allocate(desired, errors);
    const events = diff(this.delivered, next);
    this.delivered = next;
    errors.push(...extraErrors);
    if (errors.length > 0) events.push({ type: 'invalid', errors });
    return { events, errors, kept };
  }

  /** Fills in cluster IPs; services that cannot get one are left out and reported. */
  private allocate(desired: ReadonlyMap<string, Entry>, errors: ValidationError[]): Map<string, ModelObject> {
    const services: Service[] = [];
    for (const { object } of desired.values()) if (object.kind === 'Service') services.push(object.value);
    const assigned = this.allocator.assign(services);
    errors.push(...assigned.errors);
    const result = new Map<string, ModelObject>();
    for (const [key, { object }] of desired) if (object.kind !== 'Service') result.set(key, object);
    for (const value of assigned.services) {
      const object: ModelObject = { kind: 'Service', value };
      result.set(modelKey(object), object);
    }
    return result;
  }
}

/** Upserts for new or changed objects, deletes for vanished ones; sorted so batches read well. */
function diff(before: ReadonlyMap<string, ModelObject>, after: ReadonlyMap<string, ModelObject>): SourceEvent[] {
  const upserts: ModelObject[] = [];
  const deletes: ModelObject[] = [];
  for (const [key, object] of after) {
    const old = before.get(key);
    if (old === undefined || !deepEqual(old.value, object.value)) upserts.push(object);
  }
  for (const [key, object] of before) if (!after.has(key)) deletes.push(object);
  const byKindThenKey = (a: ModelObject, b: ModelObject): number =>
    UPSERT_ORDER.indexOf(a.kind) - UPSERT_ORDER.indexOf(b.kind) || compare(modelKey(a), modelKey(b));
  upserts.sort(byKindThenKey);
  // Delete dependents first: slices before their services, services before nodes.
  deletes.sort((a, b) => -byKindThenKey(a, b));
  return [...upserts.map(upsertEvent), ...deletes.map(deleteEvent)];
}

function upsertEvent(object: ModelObject): SourceEvent {
  switch (object.kind) {
    case 'Service':
      return { type: 'service-upsert', service: object.value };
    case 'EndpointSlice':
      return { type: 'slice-upsert', slice: object.value };
    case 'Node':
      return { type: 'node-upsert', node: object.value };
  }
}

function deleteEvent(object: ModelObject): SourceEvent {
  switch (object.kind) {
    case 'Service':
      return { type: 'service-delete', namespace: object.value.namespace, name: object.value.name };
    case 'EndpointSlice':
      return { type: 'slice-delete', namespace: object.value.namespace, name: object.value.name };
    case 'Node':
      return { type: 'node-delete', name: object.value.name };
  }
}

function duplicateError(object: ModelObject, firstFile: string, source: string): ValidationError {
  const { namespace, name } = refOf(object);
  return new ValidationError(
    { kind: object.kind, namespace, name },
    'metadata.name',
    `duplicate object: already defined in ${firstFile} (the first file in sorted order wins)`,
    source,
  );
}

function refOf(object: ModelObject): { namespace: string; name: string } {
  return object.kind === 'Node' ? { namespace: '', name: object.value.name } : object.value;
}

/** kind + namespace/name: how objects are told apart. */
function modelKey(object: ModelObject): string {
  const { namespace, name } = refOf(object);
  return `${object.kind}/${namespace}/${name}`;
}

/** The manifest object an object came from (Endpoints convert to slices), as validation errors name it. */
function objectOrigin(object: ModelObject): string {
  if (object.kind === 'EndpointSlice' && object.value.origin === 'Endpoints') {
    return refOrigin({ kind: 'Endpoints', namespace: object.value.namespace, name: object.value.serviceName });
  }
  return modelKey(object);
}

function refOrigin(ref: { kind: string; namespace: string; name: string }): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function deepEqual(a: unknown, b: unknown): boolean {
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
