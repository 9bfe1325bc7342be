// BpfMap's logic over a fake map that behaves like the kernel's hash map where
// it matters: get_next_key restarts from the first key when the current one is
// gone, delete batches stop at the first absent key, old kernels lack batches.
import { describe, expect, it } from 'vitest';
import { BpfMap, type MapSyscalls } from './bpf-map.js';
import { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, ENOENT, ENOSPC, ENOTSUPP } from './constants.js';
import { BpfError, BpfUsageError } from './errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const key = (n: number): Uint8Array => Uint8Array.of(n, 0, 0, 0);

class FakeHash implements MapSyscalls {
  readonly entries = new Map<string, Uint8Array>();
  batchSupported = true;
  calls = { update: 0, updateBatch: 0, deleteBatch: 0 };
  /** Called before each get_next_key step (to delete behind the walk's back). */
  onStep: ((current: Uint8Array | null) => void) | undefined;

  mapUpdateElem = (_fd: number, k: Uint8Array, v: Uint8Array): number => {
    this.calls.update++;
    this.entries.set(hex(k), v.slice());
    return 0;
  };
  mapLookupElem = (_fd: number, k: Uint8Array, out: Uint8Array): number => {
    const v = this.entries.get(hex(k));
    if (v === undefined) return -ENOENT;
    out.set(v);
    return 0;
  };
  mapDeleteElem = (_fd: number, k: Uint8Array): number => (this.entries.delete(hex(k)) ? 0 : -ENOENT);
  mapGetNextKey = (_fd: number, k: Uint8Array | null, next: Uint8Array): number => {
    this.onStep?.(k);
    const order = [...this.entries.keys()];
    const at = k === null ? -1 : order.indexOf(hex(k));
    const following = order[at + 1]; // a missing key (at -1) restarts at the first, as the kernel's hash map does
    if (following === undefined) return -ENOENT;
    next.set(Buffer.from(following, 'hex'));
    return 0;
  };
  mapUpdateBatch = (_fd: number, keys: Uint8Array, values: Uint8Array, count: number[]): number => {
    this.calls.updateBatch++;
    if (!this.batchSupported) {
      count[0] = 0;
      return -ENOTSUPP;
    }
    const n = count[0] ?? 0;
    for (let i = 0; i < n; i++) this.entries.set(hex(keys.subarray(i * 4, i * 4 + 4)), values.slice(i * 8, i * 8 + 8));
    return 0;
  };
  mapDeleteBatch = (_fd: number, keys: Uint8Array, count: number[]): number => {
    this.calls.deleteBatch++;
    const n = count[0] ?? 0;
    for (let i = 0; i < n; i++) {
      if (!this.entries.delete(hex(keys.subarray(i * 4, i * 4 + 4)))) {
        count[0] = i;
        return -ENOENT;
      }
    }
    return 0;
  };
  /** Lookup batches hand out at most this many entries per call (as a hash map does, bucket by bucket). */
  lookupPerCall = 2;
  lookupBatches = 0;
  /** The next lookup batch answers ENOSPC (a bucket larger than the count asked). */
  lookupNoSpace = false;
  mapLookupBatch = (_fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number[]): number => {
    this.lookupBatches++;
    if (!this.batchSupported) {
      count[0] = 0;
      return -ENOTSUPP;
    }
    if (this.lookupNoSpace) {
      this.lookupNoSpace = false;
      count[0] = 0;
      return -ENOSPC;
    }
    const start = inBatch === null ? 0 : new DataView(inBatch.buffer, inBatch.byteOffset).getUint32(0, true);
    const all = [...this.entries];
    const n = Math.min(this.lookupPerCall, count[0] ?? 0, all.length - start);
    for (let i = 0; i < n; i++) {
      const [k, v] = all[start + i] as [string, Uint8Array];
      keys.set(Buffer.from(k, 'hex'), i * 4);
      values.set(v, i * 8);
    }
    count[0] = n;
    new DataView(outBatch.buffer, outBatch.byteOffset).setUint32(0, start + n, true);
    return start + n >= all.length ? -ENOENT : 0;
  };
  numPossibleCpus = (): number => 4;
  closeFd = (): number => 0;
}

function open(fake: FakeHash, type = BPF_MAP_TYPE_HASH): BpfMap {
  return new BpfMap(fake, 3, { name: 'fake', type, keySize: 4, valueSize: 8, maxEntries: 100 }, true);
}

describe('BpfMap.keys', () => {
  it('returns every key once even when the walk restarts after a delete', () => {
    const fake = new FakeHash();
    for (let i = 1; i <= 6; i++) fake.entries.set(hex(key(i)), new Uint8Array(8));
    // Delete the key the walk stands on once it reaches key 3: the fake restarts from key 1.
    fake.onStep = (current) => {
      if (current !== null && current[0] === 3) {
        fake.entries.delete(hex(current));
        fake.onStep = undefined;
      }
    };
    const keys = open(fake).keys().map((k) => k[0]);
    expect(keys).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('stops after a bounded walk if keys keep vanishing under it', () => {
    const fake = new FakeHash();
    let n = 0;
    fake.onStep = (current) => {
      if (current !== null) fake.entries.delete(hex(current));
      fake.entries.set(hex(key(n++ % 250)), new Uint8Array(8)); // a map that never settles
    };
    expect(open(fake).keys().length).toBeLessThanOrEqual(250);
  });
});

describe('BpfMap.entries', () => {
  const filled = (n: number): FakeHash => {
    const fake = new FakeHash();
    for (let i = 1; i <= n; i++) fake.entries.set(hex(key(i)), new Uint8Array(8).fill(i));
    return fake;
  };
  const decoded = (map: BpfMap): number[][] => map.entries().map(([k, v]) => [k[0] as number, v[7] as number]);

  it('reads a hash map by lookup batches, following the kernel\'s token until ENOENT', () => {
    const fake = filled(5);
    expect(decoded(open(fake))).toEqual([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
    expect(fake.lookupBatches).toBe(3); // 2 + 2 + 1
    // Each key and value is a copy of its own, as the key walk returns them (callers read `.buffer`).
    const [k, v] = open(filled(3)).entries()[1] as [Uint8Array, Uint8Array];
    expect([k.buffer.byteLength, v.buffer.byteLength, new DataView(k.buffer).getUint8(0)]).toEqual([4, 8, 2]);
  });

  it('asks again with a larger count after ENOSPC', () => {
    const fake = filled(3);
    fake.lookupNoSpace = true;
    const map = new BpfMap(fake, 3, { name: 'big', type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 1 << 20 }, true);
    expect(decoded(map)).toEqual([[1, 1], [2, 2], [3, 3]]);
  });

  it('walks keys and looks each up where lookup batches are missing (old kernel, LPM trie, forced off)', () => {
    const old = filled(3);
    old.batchSupported = false;
    const map = open(old);
    expect(decoded(map)).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(decoded(map)).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(old.lookupBatches).toBe(1); // not asked again
    const trie = filled(2);
    expect(decoded(open(trie, BPF_MAP_TYPE_LPM_TRIE))).toEqual([[1, 1], [2, 2]]);
    const forced = filled(2);
    const off = open(forced);
    off.setBatching(false);
    expect(decoded(off)).toEqual([[1, 1], [2, 2]]);
    expect(trie.lookupBatches + forced.lookupBatches).toBe(0);
  });
});

describe('BpfMap batches', () => {
  it('updates in one call where batches exist, and falls back to a loop once the kernel says ENOTSUPP', () => {
    const fake = new FakeHash();
    const map = open(fake);
    const values = [new Uint8Array(8).fill(1), new Uint8Array(8).fill(2)];
    map.updateBatch([key(1), key(2)], values);
    expect(fake.calls).toEqual({ update: 0, updateBatch: 1, deleteBatch: 0 });
    fake.batchSupported = false;
    map.updateBatch([key(3), key(4)], values);
    map.updateBatch([key(5)], [values[0] as Uint8Array]);
    expect(fake.calls.updateBatch).toBe(2); // not asked again after ENOTSUPP
    expect(fake.calls.update).toBe(3);
    expect(map.lookup(key(4))).toEqual(values[1]);
  });

  it('loops on map types without batches (LPM tries)', () => {
    const fake = new FakeHash();
    open(fake, BPF_MAP_TYPE_LPM_TRIE).updateBatch([key(1)], [new Uint8Array(8)]);
    expect(fake.calls).toEqual({ update: 1, updateBatch: 0, deleteBatch: 0 });
  });

  it('deletes past absent keys and counts what was there', () => {
    const fake = new FakeHash();
    for (const i of [1, 3, 4, 6]) fake.entries.set(hex(key(i)), new Uint8Array(8));
    expect(open(fake).deleteBatch([1, 2, 3, 4, 5, 6, 7].map(key))).toBe(4);
    expect(fake.entries.size).toBe(0);
    expect(fake.calls.deleteBatch).toBe(3); // went on after 2 and after 5; 7 was the last
  });

  it('checks sizes before any system call', () => {
    const fake = new FakeHash();
    const map = open(fake);
    expect(() => map.updateBatch([key(1), new Uint8Array(3)], [new Uint8Array(8), new Uint8Array(8)])).toThrow(/key 1 has 3 bytes/);
    expect(() => map.update(key(1), new Uint8Array(4))).toThrow(BpfUsageError);
    expect(fake.calls).toEqual({ update: 0, updateBatch: 0, deleteBatch: 0 });
  });

  it('takes keys and values already back to back (updatePacked, deletePacked), batched or, forced off, one by one', () => {
    for (const batching of [true, false]) {
      const fake = new FakeHash();
      const map = open(fake);
      map.setBatching(batching);
      const keys = Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0);
      const values = new Uint8Array(24).map((_, i) => i);
      map.updatePacked(keys, values, 3);
      expect([...fake.entries.keys()].sort()).toEqual(['01000000', '02000000', '03000000']);
      expect(fake.entries.get('02000000')).toEqual(values.slice(8, 16));
      expect(map.deletePacked(Uint8Array.of(2, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0), 3)).toBe(2);
      expect([...fake.entries.keys()]).toEqual(['01000000']);
      expect(fake.calls.updateBatch + fake.calls.deleteBatch > 0).toBe(batching);
      expect(fake.calls.update).toBe(batching ? 0 : 3);
    }
  });

  it('refuses packed buffers shorter than count elements', () => {
    const fake = new FakeHash();
    expect(() => open(fake).updatePacked(new Uint8Array(8), new Uint8Array(24), 3)).toThrow(/3 keys of 4 bytes need 12 bytes, got 8/);
    expect(() => open(fake).deletePacked(new Uint8Array(8), 3)).toThrow(BpfUsageError);
    expect(fake.calls).toEqual({ update: 0, updateBatch: 0, deleteBatch: 0 });
  });

  it('sizes per-CPU values for every possible CPU', () => {
    const map = new BpfMap(new FakeHash(), 3, { name: 'pcpu', type: 5, keySize: 4, valueSize: 4, maxEntries: 1 }, true);
    expect(map.valueBufferSize).toBe(4 * 8);
  });

  it('reports failures with the errno name and the map', () => {
    const fake = new FakeHash();
    fake.mapUpdateElem = () => -7; // E2BIG
    const err = (() => {
      try {
        open(fake).update(key(1), new Uint8Array(8));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).errnoName).toBe('E2BIG');
    expect((err as BpfError).message).toBe('bpf_map_update_elem fake: E2BIG');
  });
});
