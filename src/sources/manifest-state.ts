// The manifest source's memory: the last good content of every file, the
// objects they define, and what was last delivered to the sink. Pure (no I/O):
// given the files that changed, it computes the next batch of events.
//
// An update costs what changed, not what exists: only the keys the changed
// files define (or defined) are resolved again, only services among them go
// through the cluster IP allocator, and only those keys are compared.
import type { ValidationError } from '../model/errors.js';
import type { Service } from '../model/types.js';
import { validateObject, type ModelObject } from '../model/validate.js';
import type { ClusterIPAllocator } from './cluster-ip-allocator.js';
import { ManifestDefinitions, type DocumentResult, type Touched } from './manifest-definitions.js';
import { changeEvents, compare, deepEqual, duplicateError, objectOrigin } from './manifest-objects.js';
import { parseManifest } from './manifest-parse.js';
import type { SourceEvent } from './source.js';

/** A file read now, or one that is gone. Files not mentioned are unchanged. */
export type FileChange = { readonly path: string; readonly text: string } | { readonly path: string; readonly removed: true };

/** Validates one parsed document (injectable, so that tests can count the work done). */
export type DocumentValidator = typeof validateObject;

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

const SERVICE_PREFIX = 'Service/';

export class ManifestState {
  private readonly files = new Map<string, LoadedFile>();
  private readonly definitions = new ManifestDefinitions();
  /** The objects wanted now (a definition's winner, or a last good version kept), by key. */
  private readonly current = new Map<string, Entry>();
  private readonly currentByFile = new Map<string, Set<string>>();
  private readonly currentByOrigin = new Map<string, Set<string>>();
  private readonly delivered = new Map<string, ModelObject>();

  constructor(
    private readonly allocator: ClusterIPAllocator,
    private readonly validate: DocumentValidator = validateObject,
  ) {}

  get fileCount(): number {
    return this.files.size;
  }

  get objectCount(): number {
    return this.delivered.size;
  }

  /**
   * Applies the files that changed (in any order: the first file in sorted
   * order wins on duplicates). `extraErrors` (e.g. unreadable files) are
   * reported with the batch.
   */
  update(changes: readonly FileChange[], extraErrors: readonly ValidationError[] = []): UpdateResult {
    const errors: ValidationError[] = [];
    const changed = new Set<string>();
    const touched: Touched = { keys: new Set(), origins: new Set() };
    for (const change of [...changes].sort((a, b) => compare(a.path, b.path))) {
      if (this.apply(change, touched, errors)) changed.add(change.path);
    }
    if (changed.size === 0) {
      return { events: extraErrors.length > 0 ? [{ type: 'invalid', errors: extraErrors }] : [], errors: extraErrors, kept: [] };
    }
    // What the changed files had in effect may change too (e.g. a kept version that is no longer wanted).
    for (const path of changed) for (const key of this.currentByFile.get(path) ?? []) touched.keys.add(key);
    for (const origin of touched.origins) for (const key of this.currentByOrigin.get(origin) ?? []) touched.keys.add(key);

    const duplicates: { readonly file: string; readonly position: number; readonly error: ValidationError }[] = [];
    const kept: string[] = [];
    for (const key of touched.keys) {
      const [winner, ...others] = this.definitions.definitionsOf(key);
      if (winner !== undefined) {
        this.setCurrent(key, { object: winner.object, file: winner.file });
        for (const other of others) {
          if (!changed.has(other.file) && !changed.has(winner.file)) continue;
          duplicates.push({ file: other.file, position: other.position, error: duplicateError(other.object, winner.file, other.source) });
        }
        continue;
      }
      const entry = this.current.get(key);
      if (entry === undefined) continue;
      if (this.definitions.hasErrors(objectOrigin(entry.object))) {
        // An object whose definition turned invalid keeps its last good version,
        // so that a typo never flushes the rules serving it.
        if (changed.has(entry.file)) kept.push(key);
      } else {
        this.deleteCurrent(key, entry);
      }
    }
    duplicates.sort((a, b) => compare(a.file, b.file) || a.position - b.position);
    errors.push(...duplicates.map((d) => d.error));

    const allocated = this.allocate(touched.keys, errors);
    const events = this.deliver(touched.keys, allocated);
    errors.push(...extraErrors);
    if (errors.length > 0) events.push({ type: 'invalid', errors });
    return { events, errors, kept };
  }

  /** Loads one changed file; false if nothing changed. */
  private apply(change: FileChange, touched: Touched, errors: ValidationError[]): boolean {
    const { path } = change;
    const previous = this.files.get(path);
    if ('removed' in change) {
      if (previous === undefined) return false;
      this.definitions.remove(path, previous.documents, touched);
      this.files.delete(path);
      return true;
    }
    const { text } = change;
    if (text === previous?.seenText) return false;
    const parsed = parseManifest(text, path);
    if (!parsed.ok) {
      // A half-written file never replaces good content: keep the last documents.
      errors.push(parsed.error);
      const documents = previous?.documents ?? [];
      this.definitions.touch(documents, touched);
      this.files.set(path, { seenText: text, documents });
      return true;
    }
    const documents = parsed.documents.map(({ raw, line }): DocumentResult => {
      const source = `${path}:${line}`;
      const result = this.validate(raw, source);
      return { source, objects: result.objects, errors: result.errors };
    });
    if (previous !== undefined) this.definitions.remove(path, previous.documents, touched);
    this.definitions.add(path, documents, touched);
    this.files.set(path, { seenText: text, documents });
    for (const document of documents) errors.push(...document.errors);
    return true;
  }

  /** Runs the allocator over the touched services; returns every service it settled, by key. */
  private allocate(keys: ReadonlySet<string>, errors: ValidationError[]): ReadonlyMap<string, Service | undefined> {
    const upserts: Service[] = [];
    const removals: string[] = [];
    for (const key of keys) {
      if (!key.startsWith(SERVICE_PREFIX)) continue;
      const object = this.current.get(key)?.object;
      if (object?.kind === 'Service') upserts.push(object.value);
      else removals.push(key.slice(SERVICE_PREFIX.length));
    }
    const result = this.allocator.update(upserts, removals);
    errors.push(...result.errors);
    const byModelKey = new Map<string, Service | undefined>();
    for (const [key, service] of result.services) byModelKey.set(`${SERVICE_PREFIX}${key}`, service);
    return byModelKey;
  }

  /** Compares the touched and re-allocated keys with what was delivered; returns the difference. */
  private deliver(touched: ReadonlySet<string>, allocated: ReadonlyMap<string, Service | undefined>): SourceEvent[] {
    const upserts: ModelObject[] = [];
    const deletes: ModelObject[] = [];
    for (const key of new Set([...touched, ...allocated.keys()])) {
      const entry = this.current.get(key);
      let next: ModelObject | undefined = entry?.object;
      if (next?.kind === 'Service') {
        const service = allocated.get(key);
        next = service === undefined ? undefined : { kind: 'Service', value: service };
      }
      const old = this.delivered.get(key);
      if (next === undefined) {
        if (old === undefined) continue;
        deletes.push(old);
        this.delivered.delete(key);
      } else if (old === undefined || !deepEqual(old.value, next.value)) {
        upserts.push(next);
        this.delivered.set(key, next);
      }
    }
    return changeEvents(upserts, deletes);
  }

  private setCurrent(key: string, entry: Entry): void {
    const previous = this.current.get(key);
    if (previous !== undefined) this.deleteCurrent(key, previous);
    this.current.set(key, entry);
    addTo(this.currentByFile, entry.file, key);
    addTo(this.currentByOrigin, objectOrigin(entry.object), key);
  }

  private deleteCurrent(key: string, entry: Entry): void {
    this.current.delete(key);
    removeFrom(this.currentByFile, entry.file, key);
    removeFrom(this.currentByOrigin, objectOrigin(entry.object), key);
  }
}

function addTo(index: Map<string, Set<string>>, group: string, key: string): void {
  let keys = index.get(group);
  if (keys === undefined) {
    keys = new Set();
    index.set(group, keys);
  }
  keys.add(key);
}

function removeFrom(index: Map<string, Set<string>>, group: string, key: string): void {
  const keys = index.get(group);
  if (keys === undefined) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(group);
}
