// One BPF map, by file descriptor: element CRUD, iteration and batches.
//
//   const map = object.map('svcp_lb4_be');          // or BpfMap.openPinned(lib, path)
//   map.update(key, value);                          // BPF_ANY by default
//   map.lookup(key);                                 // Uint8Array | undefined
//   map.delete(key);                                 // false when absent
//   map.updateBatch(keys, values);                   // one bpf() call where the map type allows
//   map.updatePacked(keyBytes, valueBytes, count);   // the same, keys and values already back to back
//
// Keys and values are raw bytes (the codecs in src/backends/ebpf make them).
// Per-CPU maps take and return one value per possible CPU, each padded to 8
// bytes: `valueBufferSize` says how long a value buffer must be.

import { BpfError, BpfUsageError } from './errors.js';
import {
  BPF_ANY,
  DELETE_BATCH_MAP_TYPES,
  EINVAL,
  ENOENT,
  ENOSPC,
  ENOTSUPP,
  LOOKUP_BATCH_MAP_TYPES,
  EOPNOTSUPP,
  PERCPU_MAP_TYPES,
  UPDATE_BATCH_MAP_TYPES,
} from './constants.js';
import type { Libbpf } from './libbpf.js';

export interface BpfMapInfo {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

/** The libbpf calls a map needs (a fake in unit tests). */
export type MapSyscalls = Pick<
  Libbpf,
  | 'mapUpdateElem'
  | 'mapLookupElem'
  | 'mapDeleteElem'
  | 'mapGetNextKey'
  | 'mapUpdateBatch'
  | 'mapDeleteBatch'
  | 'mapLookupBatch'
  | 'numPossibleCpus'
  | 'closeFd'
>;

/** V8's typed_array_max_size_in_heap: larger arrays already live outside its heap. */
const MAX_ON_HEAP_BYTES = 64;

/** The bytes to hand to native code: small ones copied into the scratch buffer. */
function stage(scratch: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_ON_HEAP_BYTES) return bytes;
  scratch.set(bytes);
  return scratch;
}

/** sizeof(struct bpf_map_info) up to map_flags and name[16]: all the loader reads. */
const MAP_INFO_SIZE = 40;
/** struct bpf_map_batch_opts { size_t sz; __u64 elem_flags; __u64 flags; } */
const BATCH_OPTS_SIZE = 24;
/** How many bytes of keys and values one lookup batch asks for (at least one element). */
const LOOKUP_BATCH_BYTES = 1 << 20;
/** Elements per lookup batch at most; ENOSPC (a bucket larger than that) doubles it. */
const LOOKUP_BATCH_MAX = 4096;

export class BpfMap implements BpfMapInfo {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Bytes of one value as the syscalls take it (valueSize, or the per-CPU array of them). */
  readonly valueBufferSize: number;
  private fdOrClosed: number;
  private readonly batchOpts = new Uint8Array(BATCH_OPTS_SIZE);
  private readonly batchOptsView = new DataView(this.batchOpts.buffer);
  // Scratch buffers handed to libbpf instead of the caller's small arrays: V8
  // keeps typed arrays of up to 64 bytes on its heap, and giving one's address
  // to native code first moves its bytes out (an allocation per call). Copying
  // them into a buffer that already lives outside is much cheaper.
  private readonly key: Uint8Array;
  private readonly value: Uint8Array;
  private readonly nextKey: Uint8Array;
  private readonly count = [0];
  private readonly packed = { keys: new Uint8Array(0), values: new Uint8Array(0) };
  private batchUpdates: boolean;
  private batchDeletes: boolean;
  private batchLookups: boolean;

  /** `owned`: close() closes the fd (pinned maps opened by path); an object's maps are closed with it. */
  constructor(
    private readonly lib: MapSyscalls,
    fd: number,
    info: BpfMapInfo,
    private readonly owned: boolean,
  ) {
    this.fdOrClosed = fd;
    this.name = info.name;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.valueBufferSize = PERCPU_MAP_TYPES.has(info.type) ? Math.ceil(info.valueSize / 8) * 8 * lib.numPossibleCpus() : info.valueSize;
    this.key = new Uint8Array(new ArrayBuffer(info.keySize));
    this.value = new Uint8Array(new ArrayBuffer(this.valueBufferSize));
    this.nextKey = new Uint8Array(new ArrayBuffer(info.keySize));
    this.batchUpdates = UPDATE_BATCH_MAP_TYPES.has(info.type);
    this.batchDeletes = DELETE_BATCH_MAP_TYPES.has(info.type);
    this.batchLookups = LOOKUP_BATCH_MAP_TYPES.has(info.type);
    this.batchOptsView.setBigUint64(0, BigInt(BATCH_OPTS_SIZE), true);
  }

  /** Opens a map pinned on a bpf filesystem (bpf_obj_get) and reads its shape from the kernel. */
  static openPinned(lib: Libbpf, path: string): BpfMap {
    const fd = lib.objGet(path);
    if (fd < 0) throw new BpfError(-fd, `bpf_obj_get ${path}`);
    try {
      const info = new Uint8Array(MAP_INFO_SIZE);
      const rc = lib.objGetInfoByFd(fd, info, info.length);
      if (rc < 0) throw new BpfError(-rc, `bpf_obj_get_info_by_fd ${path}`);
      const view = new DataView(info.buffer);
      const nameBytes = info.subarray(24, 40);
      const end = nameBytes.indexOf(0);
      const name = new TextDecoder().decode(end < 0 ? nameBytes : nameBytes.subarray(0, end));
      return new BpfMap(lib, fd, {
        name,
        type: view.getUint32(0, true),
        keySize: view.getUint32(8, true),
        valueSize: view.getUint32(12, true),
        maxEntries: view.getUint32(16, true),
      }, true);
    } catch (err) {
      lib.closeFd(fd);
      throw err;
    }
  }

  get fd(): number {
    if (this.fdOrClosed < 0) throw new BpfUsageError(`BPF map ${this.name} is closed`);
    return this.fdOrClosed;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number = BPF_ANY): void {
    this.checkKey(key);
    this.checkValue(value);
    this.key.set(key);
    const rc = this.lib.mapUpdateElem(this.fd, this.key, stage(this.value, value), flags);
    if (rc !== 0) throw this.error(rc, 'bpf_map_update_elem');
  }

  /** The value (a fresh copy), or undefined when the key is absent. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    this.key.set(key);
    const rc = this.lib.mapLookupElem(this.fd, this.key, this.value);
    if (rc === 0) return this.value.slice();
    if (rc === -ENOENT) return undefined;
    throw this.error(rc, 'bpf_map_lookup_elem');
  }

  /** Like lookup, into a caller's buffer (no allocation): false when the key is absent. */
  lookupInto(key: Uint8Array, value: Uint8Array): boolean {
    this.checkKey(key);
    this.checkValue(value);
    this.key.set(key);
    const rc = this.lib.mapLookupElem(this.fd, this.key, this.value);
    if (rc === 0) {
      value.set(this.value);
      return true;
    }
    if (rc === -ENOENT) return false;
    throw this.error(rc, 'bpf_map_lookup_elem');
  }

  /** False when the key was not there. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    this.key.set(key);
    const rc = this.lib.mapDeleteElem(this.fd, this.key);
    if (rc === 0) return true;
    if (rc === -ENOENT) return false;
    throw this.error(rc, 'bpf_map_delete_elem');
  }

  /**
   * A snapshot of the keys (bpf_map_get_next_key). When the key it stands on is
   * deleted meanwhile (by a program, an LRU eviction), a hash map restarts from
   * its first key: keys seen twice are kept once, and the walk is bounded.
   */
  keys(): Uint8Array[] {
    const fd = this.fd;
    const seen = new Set<string>();
    const keys: Uint8Array[] = [];
    const current = this.key;
    const next = this.nextKey;
    const maxSteps = 4 * this.maxEntries + 64;
    for (let step = 0; step < maxSteps; step++) {
      const rc = this.lib.mapGetNextKey(fd, step === 0 ? null : current, next);
      if (rc === -ENOENT) break;
      if (rc !== 0) throw this.error(rc, 'bpf_map_get_next_key');
      current.set(next);
      const id = Buffer.from(next.buffer, next.byteOffset, next.length).toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      keys.push(next.slice());
    }
    return keys;
  }

  /**
   * Keys with their values: by lookup batches where the map type has them (a few bpf()
   * calls for the whole map instead of two per element), else a key walk and a lookup per
   * key (keys deleted between the two are left out). Each key and value is a copy of its own.
   */
  entries(): [Uint8Array, Uint8Array][] {
    if (this.batchLookups) {
      const batched = this.lookupAll();
      if (batched !== undefined) return batched;
    }
    const out: [Uint8Array, Uint8Array][] = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) out.push([key, value]);
    }
    return out;
  }

  /**
   * How many entries the map holds: counted by lookup batches where the map type has them
   * (the drift check counts maps of 100,000 entries every period), else by the key walk.
   */
  entryCount(): number {
    if (this.batchLookups) {
      let n = 0;
      if (this.lookupBatches((_keys, _values, got) => { n += got; })) return n;
    }
    return this.keys().length;
  }

  /** Every entry through BPF_MAP_LOOKUP_BATCH; undefined when the kernel has no lookup batches (then never tried again). */
  private lookupAll(): [Uint8Array, Uint8Array][] | undefined {
    const k = this.keySize;
    const v = this.valueBufferSize;
    const out: [Uint8Array, Uint8Array][] = [];
    // Copies, as the key walk returns: callers may read `.buffer` from offset 0.
    const ok = this.lookupBatches((keys, values, got) => {
      for (let i = 0; i < got; i++) out.push([keys.slice(i * k, (i + 1) * k), values.slice(i * v, (i + 1) * v)]);
    });
    return ok ? out : undefined;
  }

  /**
   * Walks the map by BPF_MAP_LOOKUP_BATCH, handing each chunk (reused buffers) to `onChunk`;
   * false when the kernel has no lookup batches (then never tried again).
   */
  private lookupBatches(onChunk: (keys: Uint8Array, values: Uint8Array, got: number) => void): boolean {
    const fd = this.fd;
    const k = this.keySize;
    const v = this.valueBufferSize;
    let chunk = Math.max(1, Math.min(LOOKUP_BATCH_MAX, Math.floor(LOOKUP_BATCH_BYTES / (k + v))));
    // The token is the kernel's position: a bucket index (u32) for hash maps, a key for arrays.
    const tokenSize = Math.max(k, 8);
    let inBatch: Uint8Array | null = null;
    let outBatch = new Uint8Array(tokenSize);
    let seen = 0;
    this.batchOptsView.setBigUint64(8, 0n, true);
    let keys = new Uint8Array(chunk * k);
    let values = new Uint8Array(chunk * v);
    for (;;) {
      if (keys.length < chunk * k) {
        keys = new Uint8Array(chunk * k);
        values = new Uint8Array(chunk * v);
      }
      this.count[0] = chunk;
      const rc = this.lib.mapLookupBatch(fd, inBatch, outBatch, keys, values, this.count, this.batchOpts);
      const got = rc === 0 || rc === -ENOENT ? (this.count[0] ?? 0) : 0;
      if (got > 0) onChunk(keys, values, got);
      seen += got;
      if (rc === -ENOENT) return true; // past the last element
      if (rc === 0) {
        inBatch = outBatch;
        outBatch = new Uint8Array(tokenSize);
        continue;
      }
      if (rc === -ENOSPC && chunk < this.maxEntries) {
        chunk *= 2; // one bucket holds more than a chunk: ask again from the same place
        continue;
      }
      if (seen === 0 && inBatch === null && (rc === -ENOTSUPP || rc === -EOPNOTSUPP || rc === -EINVAL)) {
        this.batchLookups = false;
        return false;
      }
      throw this.error(rc, 'bpf_map_lookup_batch');
    }
  }

  /** Writes keys[i] = values[i], in one bpf() call where the map type has batches (else one by one). */
  updateBatch(keys: readonly Uint8Array[], values: readonly Uint8Array[], flags: number = BPF_ANY): void {
    if (keys.length !== values.length) throw new BpfUsageError(`updateBatch on ${this.name}: ${keys.length} keys but ${values.length} values`);
    if (keys.length === 0) return;
    const packedKeys = this.pack(keys, this.keySize, 'key', 'keys');
    const packedValues = this.pack(values, this.valueBufferSize, 'value', 'values');
    this.updatePacked(packedKeys, packedValues, keys.length, flags);
  }

  /**
   * Like updateBatch, for `count` keys and values already back to back (keySize and
   * valueBufferSize bytes each): callers encoding straight into one buffer copy nothing.
   */
  updatePacked(keys: Uint8Array, values: Uint8Array, count: number, flags: number = BPF_ANY): void {
    this.checkPacked(keys, this.keySize, count, 'keys');
    this.checkPacked(values, this.valueBufferSize, count, 'values');
    if (count === 0) return;
    if (this.batchUpdates) {
      this.batchOptsView.setBigUint64(8, BigInt(flags), true);
      this.count[0] = count;
      const rc = this.lib.mapUpdateBatch(this.fd, keys, values, this.count, this.batchOpts);
      if (rc === 0) return;
      const done = this.count[0] ?? 0;
      if (!(done === 0 && (rc === -ENOTSUPP || rc === -EOPNOTSUPP))) throw this.error(rc, `bpf_map_update_batch (element ${done})`);
      this.batchUpdates = false; // an older kernel: loop from now on
    }
    const k = this.keySize;
    const v = this.valueBufferSize;
    for (let i = 0; i < count; i++) this.update(keys.subarray(i * k, (i + 1) * k), values.subarray(i * v, (i + 1) * v), flags);
  }

  /** Deletes the keys (absent ones are skipped); returns how many were there. */
  deleteBatch(keys: readonly Uint8Array[]): number {
    if (keys.length === 0) return 0;
    return this.deletePacked(this.pack(keys, this.keySize, 'key', 'keys'), keys.length);
  }

  /** Like deleteBatch, for `count` keys already back to back. */
  deletePacked(keys: Uint8Array, count: number): number {
    this.checkPacked(keys, this.keySize, count, 'keys');
    if (count === 0) return 0;
    if (!this.batchDeletes) return this.deleteEach(keys, count);
    this.batchOptsView.setBigUint64(8, 0n, true);
    let deleted = 0;
    let start = 0;
    while (start < count) {
      // The kernel stops at the first absent key: count it out and go on after it.
      this.count[0] = count - start;
      const rc = this.lib.mapDeleteBatch(this.fd, keys.subarray(start * this.keySize), this.count, this.batchOpts);
      const done = this.count[0] ?? 0;
      deleted += done;
      if (rc === 0) return deleted;
      if (rc === -ENOENT) {
        start += done + 1;
        continue;
      }
      if (deleted === 0 && (rc === -ENOTSUPP || rc === -EOPNOTSUPP)) {
        this.batchDeletes = false;
        return this.deleteEach(keys, count);
      }
      throw this.error(rc, `bpf_map_delete_batch (element ${start + done})`);
    }
    return deleted;
  }

  /**
   * Whether update and delete batches are tried (where the map type has them). Off, every
   * element is its own bpf() call, as on a kernel without batches: tests compare the two.
   */
  setBatching(enabled: boolean): void {
    this.batchUpdates = enabled && UPDATE_BATCH_MAP_TYPES.has(this.type);
    this.batchDeletes = enabled && DELETE_BATCH_MAP_TYPES.has(this.type);
    this.batchLookups = enabled && LOOKUP_BATCH_MAP_TYPES.has(this.type);
  }

  /** Closes the fd of a map opened by path; a no-op for an object's maps (the object owns them). */
  close(): void {
    if (this.fdOrClosed < 0) return;
    if (this.owned) this.lib.closeFd(this.fdOrClosed);
    this.fdOrClosed = -1;
  }

  private deleteEach(keys: Uint8Array, count: number): number {
    const k = this.keySize;
    let deleted = 0;
    for (let i = 0; i < count; i++) if (this.delete(keys.subarray(i * k, (i + 1) * k))) deleted++;
    return deleted;
  }

  private checkPacked(bytes: Uint8Array, size: number, count: number, what: string): void {
    if (!Number.isInteger(count) || count < 0 || bytes.length < count * size) {
      throw new BpfUsageError(`BPF map ${this.name}: ${count} ${what} of ${size} bytes need ${count * size} bytes, got ${bytes.length}`);
    }
  }

  /** Copies items back to back into a reused buffer (grown, never shrunk). */
  private pack(items: readonly Uint8Array[], size: number, what: string, buffer: 'keys' | 'values'): Uint8Array {
    const bytes = items.length * size;
    if (this.packed[buffer].length < bytes) this.packed[buffer] = new Uint8Array(Math.max(bytes, 2 * this.packed[buffer].length));
    const out = this.packed[buffer].subarray(0, bytes);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Uint8Array;
      if (item.length !== size) throw new BpfUsageError(`BPF map ${this.name}: ${what} ${i} has ${item.length} bytes, expected ${size}`);
      out.set(item, i * size);
    }
    return out;
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) throw new BpfUsageError(`BPF map ${this.name}: key of ${key.length} bytes, expected ${this.keySize}`);
  }

  private checkValue(value: Uint8Array): void {
    if (value.length !== this.valueBufferSize) {
      throw new BpfUsageError(`BPF map ${this.name}: value of ${value.length} bytes, expected ${this.valueBufferSize}`);
    }
  }

  private error(rc: number, operation: string): BpfError {
    // libbpf 1.x returns -errno (and leaves errno set as well).
    return new BpfError(-rc, `${operation} ${this.name}`);
  }
}
