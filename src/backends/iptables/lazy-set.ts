/**
 * A ReadonlySet built on first use: partial plans offer the full chain list
 * without paying for it (O(all chains)) unless a caller actually looks.
 */
export class LazySet<T> implements ReadonlySet<T> {
  #set: Set<T> | undefined;
  readonly #build: () => Iterable<T>;

  constructor(build: () => Iterable<T>) {
    this.#build = build;
  }

  #get(): Set<T> {
    this.#set ??= new Set(this.#build());
    return this.#set;
  }

  get size(): number { return this.#get().size; }
  has(value: T): boolean { return this.#get().has(value); }
  forEach(cb: (value: T, value2: T, set: ReadonlySet<T>) => void, thisArg?: unknown): void {
    for (const v of this.#get()) cb.call(thisArg, v, v, this);
  }
  entries(): SetIterator<[T, T]> { return this.#get().entries(); }
  keys(): SetIterator<T> { return this.#get().keys(); }
  values(): SetIterator<T> { return this.#get().values(); }
  [Symbol.iterator](): SetIterator<T> { return this.#get()[Symbol.iterator](); }
}
