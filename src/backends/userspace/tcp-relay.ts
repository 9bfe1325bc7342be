// The copy loop of one proxied TCP connection, both ways, with back-pressure; a FIN passed
// on as end() (both sockets allow half-open) and an error (a RST, mostly) on either side
// resetting the other, so neither is left waiting on a peer that is gone.
//
// Backend to client (responses, the bulk of the bytes) bypasses the stream machinery: the
// backend socket reads straight into a buffer of ours (net.connect's `onread`), and each
// read is written to the client at once. A read into a buffer that a pending write still
// points at would corrupt that write, so while a write is queued nothing is read (that is
// the back-pressure), and a buffer is either private to one connection or copied out of:
//  - every connection starts on the process's shared buffer; what it reads there is copied
//    (small reads: Node's pooled allocation, no GC pressure), never written from in place;
//  - a connection whose read is large gets a buffer of its own, written from without a copy
//    and reused read after read; it gives it back on a small read once nothing is queued,
//    so idle connections hold no buffer at all.
// Client to backend keeps Node's own reads: a server's accepted sockets cannot take
// `onread`; those bytes go through 'data' events with pause/drain.
import type { Socket } from 'node:net';

/** One read's most bytes: as libuv's default, and the size of a connection's own buffer. */
export const READ_BYTES = 64 * 1024;
/** Reads from this size on move a connection onto its own buffer (smaller copies are pooled). */
export const OWN_BUFFER_FROM = 8 * 1024;

/** The buffer every connection of a process reads into until it moves to its own. */
export class SharedReadBuffer {
  readonly buffer: Buffer;
  /** Connections holding a buffer of their own right now (for tests and reports). */
  ownBuffers = 0;
  /** Times a connection stopped reading its backend until a slow client took the queued bytes. */
  waits = 0;

  /** `bytes` below OWN_BUFFER_FROM keeps every connection on this buffer (tests of the copy path). */
  constructor(bytes = READ_BYTES) {
    this.buffer = Buffer.allocUnsafeSlow(bytes);
  }
}

export interface RelayEvents {
  /** A socket error that ended the connection (never thrown). */
  socketError?(err: Error): void;
}

export class Relay {
  #backend: Socket | undefined;
  #own: Buffer | undefined;
  #next: Buffer;
  /** Backend reads stopped until the client's queued bytes are written. */
  #waiting = false;

  constructor(
    private readonly client: Socket,
    private readonly shared: SharedReadBuffer,
    private readonly events: RelayEvents = {},
  ) {
    this.#next = shared.buffer;
  }

  /** For net.connect: reads of the backend socket land in our buffers and go to the client. */
  readonly onread = {
    buffer: (): Buffer => this.#next,
    callback: (n: number, buf: Uint8Array): boolean => this.#fromBackend(n, buf),
  };

  #fromBackend(n: number, buf: Uint8Array): boolean {
    const client = this.client;
    if (client.destroyed) return false; // the close handler resets the backend
    const shared = buf === this.shared.buffer;
    // A shared read is copied: the next connection's read lands in the same bytes.
    const chunk = shared ? Buffer.from(buf.subarray(0, n)) : (buf as Buffer).subarray(0, n);
    client.write(chunk, this.#written);
    const queued = client.writableLength > 0;
    if (shared && n >= OWN_BUFFER_FROM) this.#take();
    else if (!shared && n < OWN_BUFFER_FROM && !queued) this.#giveBack();
    if (!queued) return true;
    this.#waiting = true;
    this.shared.waits++;
    return false;
  }

  #take(): void {
    if (this.#own === undefined) {
      this.#own = Buffer.allocUnsafeSlow(READ_BYTES);
      this.shared.ownBuffers++;
    }
    this.#next = this.#own;
  }

  #giveBack(): void {
    if (this.#own === undefined) return;
    this.#own = undefined;
    this.shared.ownBuffers--;
    this.#next = this.shared.buffer;
  }

  /** Write callback: once the client has taken every queued byte, the backend is read again. */
  readonly #written = (err?: Error | null): void => {
    if (err || !this.#waiting || this.client.writableLength > 0) return;
    this.#waiting = false;
    this.#backend?.resume();
  };

  /** Both directions, once `backend` is connected (the client was held paused until now). */
  start(backend: Socket): void {
    this.#backend = backend;
    const client = this.client;
    const reset = (other: Socket) => (): void => {
      if (!other.destroyed) other.resetAndDestroy();
    };
    const resetClient = reset(client);
    const resetBackend = reset(backend);
    backend.on('error', (err) => {
      this.events.socketError?.(err);
      resetClient();
    });
    client.on('error', resetBackend);
    client.on('close', (hadError) => {
      if (hadError) resetBackend();
      this.#giveBack();
    });
    backend.on('close', (hadError) => hadError && resetClient());
    backend.on('end', () => client.end());
    client.on('end', () => backend.end());
    client.on('data', (d: Buffer) => {
      if (!backend.write(d)) client.pause();
    });
    backend.on('drain', () => client.resume());
    // Flowing mode for the backend too: its reads go to `onread`, but its EOF must reach 'end'.
    backend.resume();
    client.resume();
  }
}
