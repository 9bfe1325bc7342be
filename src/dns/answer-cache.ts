// Encoded answers of the cluster zone, keyed by the query's bytes after its id (flags,
// question, EDNS0 option: everything the answer depends on) and the transport. An entry is only
// used while the record index has the serial it was made at, so a change is never hidden; it
// spares the decode, lookup, encode and compression of a repeated question (CoreDNS's
// kubeadm configuration caches for 30 s; this never serves an answer the index no longer gives).
import type { Transport } from './query-handler.js';

interface Entry {
  readonly serial: number;
  readonly response: Buffer;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries: number,
    private readonly serial: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The answer to `query` (its id set), if one was stored at the index's current serial. */
  get(query: Buffer, transport: Transport): Buffer | undefined {
    const key = cacheKey(query, transport);
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.serial !== this.serial()) {
      this.entries.delete(key);
      return undefined;
    }
    const out = Buffer.from(hit.response);
    out.writeUInt16BE(query.readUInt16BE(0), 0);
    return out;
  }

  set(query: Buffer, transport: Transport, response: Buffer, serial: number): void {
    if (serial !== this.serial()) return;
    const key = cacheKey(query, transport);
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      // The oldest entry goes (a Map iterates in insertion order).
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { serial, response: Buffer.from(response) });
  }
}

function cacheKey(query: Buffer, transport: Transport): string {
  return transport + query.toString('latin1', 2);
}
