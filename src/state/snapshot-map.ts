// A persistent string-keyed map for desired-state snapshots. Keys are spread over fixed shards
// by hash; an edit copies only the shards it touches, so deriving the next snapshot after a
// small change costs O(size / SHARDS) instead of a full copy, and earlier snapshots never change.

const SHARDS = 256;

function shardOf(key: string): number {
  // FNV-1a: cheap, stable across runs, so iteration order depends only on the edit history.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SHARDS;
}

export class SnapshotMap<V> implements ReadonlyMap<string, V> {
  private constructor(
    private readonly shards: readonly ReadonlyMap<string, V>[],
    readonly size: number,
  ) {}

  static empty<V>(): SnapshotMap<V> {
    const empty: ReadonlyMap<string, V> = new Map();
    return new SnapshotMap<V>(new Array<ReadonlyMap<string, V>>(SHARDS).fill(empty), 0);
  }

  get(key: string): V | undefined {
    return this.shard(key).get(key);
  }

  has(key: string): boolean {
    return this.shard(key).has(key);
  }

  forEach(callbackfn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callbackfn.call(thisArg, v, k, this);
  }

  *entries(): MapIterator<[string, V]> {
    for (const shard of this.shards) yield* shard.entries();
  }

  *keys(): MapIterator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  *values(): MapIterator<V> {
    for (const shard of this.shards) yield* shard.values();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  /** Starts deriving a new snapshot; this one stays unchanged. */
  edit(): SnapshotMapEditor<V> {
    return new SnapshotMapEditor(this.shards, this.size, (shards, size) => new SnapshotMap(shards, size));
  }

  private shard(key: string): ReadonlyMap<string, V> {
    return this.shards[shardOf(key)] as ReadonlyMap<string, V>;
  }
}

/** Collects sets and deletes, copying a shard on its first write; done() seals the result. */
export class SnapshotMapEditor<V> {
  private shards: ReadonlyMap<string, V>[] | undefined;
  private readonly copied = new Set<number>();

  constructor(
    private base: readonly ReadonlyMap<string, V>[],
    private size: number,
    private readonly seal: (shards: readonly ReadonlyMap<string, V>[], size: number) => SnapshotMap<V>,
  ) {}

  set(key: string, value: V): void {
    const shard = this.writable(shardOf(key));
    if (!shard.has(key)) this.size++;
    shard.set(key, value);
  }

  delete(key: string): void {
    const i = shardOf(key);
    if (!(this.shards ?? this.base)[i]?.has(key)) return;
    this.writable(i).delete(key);
    this.size--;
  }

  /** Whether anything was written; an editor that wrote nothing should reuse the old snapshot. */
  get changed(): boolean {
    return this.copied.size > 0;
  }

  /** Seals the edits into a snapshot; further edits on this editor copy again, leaving it intact. */
  done(): SnapshotMap<V> {
    const result = this.seal(this.shards ?? this.base, this.size);
    if (this.shards) this.base = this.shards;
    this.shards = undefined;
    this.copied.clear();
    return result;
  }

  private writable(i: number): Map<string, V> {
    this.shards ??= [...this.base];
    if (!this.copied.has(i)) {
      this.shards[i] = new Map(this.shards[i]);
      this.copied.add(i);
    }
    return this.shards[i] as Map<string, V>;
  }
}
