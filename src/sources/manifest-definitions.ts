// Who defines what: for every object key, each valid definition across the
// loaded files in sorted file order (the first one wins a duplicate), and the
// origins that have validation errors now. Files are added and removed one at a
// time; each call says which keys and origins it touched, so that only those
// are resolved again.
import type { ValidationError } from '../model/errors.js';
import type { ModelObject } from '../model/validate.js';
import { compare, modelKey, refOrigin } from './manifest-objects.js';

export interface DocumentResult {
  /** `file:line`, as put into validation errors. */
  readonly source: string;
  readonly objects: readonly ModelObject[];
  readonly errors: readonly ValidationError[];
}

export interface Definition {
  readonly object: ModelObject;
  readonly file: string;
  /** Where in the file: `file:line`. */
  readonly source: string;
  /** Position among the file's objects, to order several definitions in one file. */
  readonly position: number;
}

/** What a change may have altered: resolve these keys again, and the current objects of these origins. */
export interface Touched {
  readonly keys: Set<string>;
  readonly origins: Set<string>;
}

export class ManifestDefinitions {
  private readonly byKey = new Map<string, Definition[]>();
  /** Origin (`kind/namespace/name`, as errors name it) → how many validation errors name it now. */
  private readonly failed = new Map<string, number>();

  /** Every valid definition of `key`, the winner first. */
  definitionsOf(key: string): readonly Definition[] {
    return this.byKey.get(key) ?? [];
  }

  hasErrors(origin: string): boolean {
    return this.failed.has(origin);
  }

  add(file: string, documents: readonly DocumentResult[], touched: Touched): void {
    let position = 0;
    for (const document of documents) {
      for (const object of document.objects) {
        const key = modelKey(object);
        touched.keys.add(key);
        const definition: Definition = { object, file, source: document.source, position: position++ };
        const list = this.byKey.get(key);
        if (list === undefined) {
          this.byKey.set(key, [definition]);
        } else {
          list.push(definition);
          list.sort(byFileThenPosition);
        }
      }
      for (const error of document.errors) {
        const origin = refOrigin(error.ref);
        touched.origins.add(origin);
        this.failed.set(origin, (this.failed.get(origin) ?? 0) + 1);
      }
    }
  }

  /** Removes what `add(file, documents)` added. */
  remove(file: string, documents: readonly DocumentResult[], touched: Touched): void {
    for (const document of documents) {
      for (const object of document.objects) {
        const key = modelKey(object);
        touched.keys.add(key);
        const rest = (this.byKey.get(key) ?? []).filter((d) => d.file !== file);
        if (rest.length === 0) this.byKey.delete(key);
        else this.byKey.set(key, rest);
      }
      for (const error of document.errors) {
        const origin = refOrigin(error.ref);
        touched.origins.add(origin);
        const count = this.failed.get(origin) ?? 0;
        if (count <= 1) this.failed.delete(origin);
        else this.failed.set(origin, count - 1);
      }
    }
  }

  /** Marks what `documents` define and name in errors as touched, without changing anything. */
  touch(documents: readonly DocumentResult[], touched: Touched): void {
    for (const document of documents) {
      for (const object of document.objects) touched.keys.add(modelKey(object));
      for (const error of document.errors) touched.origins.add(refOrigin(error.ref));
    }
  }
}

function byFileThenPosition(a: Definition, b: Definition): number {
  return compare(a.file, b.file) || a.position - b.position;
}
