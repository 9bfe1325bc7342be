// Encoded answers of the cluster zone, keyed by the query's bytes after its id (flags,
// question with its case, EDNS0 record with its buffer size: everything the answer depends on),
// one map per transport (UDP answers are sized to the client's buffer, TCP answers are not).
// Entries hold only while the record index keeps the serial they were made at: the first
// lookup after a change empties the cache, so a change is never hidden. A hit is a copy of the
// stored bytes with the asker's id: no decode, lookup, encode or compression (CoreDNS's kubeadm
// configuration caches for 30 s; this never serves an answer the index no longer gives).
import type { Transport } from './query-handler.js';

export class AnswerCache {
  private readonly udp = new Map<string, Buffer>();
  private readonly tcp = new Map<string, Buffer>();
  /** The index serial the stored entries were made at. */
  private serialStored: number;

  /** `maxEntries` per transport; the oldest entry goes first. */
  constructor(
    private readonly maxEntries: number,
    private readonly serial: () => number,
  ) {
    this.serialStored = serial();
  }

  get size(): number {
    return this.udp.size + this.tcp.size;
  }

  /** The answer to `query` (a copy with its id), if one was stored at the index's current serial. */
  get(query: Buffer, transport: Transport): Buffer | undefined {
    if (query.length < 2) return undefined;
    this.sync();
    const hit = (transport === 'udp' ? this.udp : this.tcp).get(query.toString('latin1', 2));
    if (hit === undefined) return undefined;
    // A copy: the stored bytes may still be queued in an earlier send.
    const out = Buffer.allocUnsafe(hit.length);
    hit.copy(out);
    out[0] = query[0] ?? 0;
    out[1] = query[1] ?? 0;
    return out;
  }

  /** Stores `response` to `query`, made at index serial `serial` (dropped if the index moved since). */
  set(query: Buffer, transport: Transport, response: Buffer, serial: number): void {
    this.sync();
    if (serial !== this.serialStored) return;
    const entries = transport === 'udp' ? this.udp : this.tcp;
    const key = query.toString('latin1', 2);
    if (!entries.has(key) && entries.size >= this.maxEntries) {
      // The oldest entry goes (a Map iterates in insertion order).
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entries.set(key, Buffer.from(response));
  }

  /** Empties the cache when the index's serial moved past the entries'. */
  private sync(): void {
    const now = this.serial();
    if (now === this.serialStored) return;
    this.udp.clear();
    this.tcp.clear();
    this.serialStored = now;
  }
}
