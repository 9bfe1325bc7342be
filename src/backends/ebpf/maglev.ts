// Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4): every
// backend walks its own permutation of the M table positions, given by an
// offset and a skip taken from two independent hashes of its identity, and the
// backends take turns claiming their next free position until the table is full.
// The identity is the backend's address (not its node-local id), so every node
// builds the same table for the same backends and a flow picks the same backend
// whichever node it arrives at.
import { EbpfPlanError } from './plan-errors.js';
import { LB_MAGLEV_LUT_SIZE } from './map-types.js';

export interface MaglevBackend {
  /** What the table holds: the node-local backend id. */
  readonly id: number;
  /** What the permutation is derived from: stable across nodes and restarts (e.g. `10.0.0.1:8080/TCP`). */
  readonly identity: string;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** FNV-1a, 32 bits. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** MurmurHash3 x86 32 bits: independent of FNV, as the paper asks of the two hashes. */
export function murmur3_32(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const MURMUR_SEED = 0x5eed_0001;

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** The paper's permutation parameters: position j of backend i's preference list is (offset + j * skip) mod M. */
export function maglevPermutation(identity: string, size: number): { offset: number; skip: number } {
  const bytes = utf8(identity);
  return { offset: fnv1a32(bytes) % size, skip: (murmur3_32(bytes, MURMUR_SEED) % (size - 1)) + 1 };
}

/**
 * The lookup table: `size` (prime, > backends) entries of backend ids. Deterministic:
 * the same identities give the same table whatever order they come in. Empty backends: all zeros.
 */
export function maglevTable(backends: readonly MaglevBackend[], size: number = LB_MAGLEV_LUT_SIZE): Uint32Array {
  if (!isPrime(size)) throw new EbpfPlanError('SVCPLANE_EBPF_MAGLEV_TABLE_SIZE', `Maglev table size ${size} is not a prime`);
  if (backends.length > size) {
    throw new EbpfPlanError('SVCPLANE_EBPF_MAGLEV_TABLE_SIZE', `Maglev table size ${size} is smaller than the ${backends.length} backends`);
  }
  const table = new Uint32Array(size);
  const n = backends.length;
  if (n === 0) return table;
  // Turn order matters for ties: fix it by identity, never by the caller's order.
  const sorted = [...backends].sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : a.id - b.id));
  const next = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const ids = new Uint32Array(n);
  sorted.forEach((b, i) => {
    const p = maglevPermutation(b.identity, size);
    next[i] = p.offset;
    skip[i] = p.skip;
    ids[i] = b.id;
  });
  const taken = new Uint8Array(size);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      const step = skip[i] as number;
      let c = next[i] as number;
      while (taken[c] === 1) {
        c += step;
        if (c >= size) c -= size;
      }
      taken[c] = 1;
      table[c] = ids[i] as number;
      c += step;
      next[i] = c >= size ? c - size : c;
      if (++filled === size) return table;
    }
  }
}
