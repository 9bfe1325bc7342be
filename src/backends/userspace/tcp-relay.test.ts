// The relay's reusable read buffers against real sockets on 127.0.0.1: bytes must arrive
// intact and in order both ways while several connections share one read buffer, readers
// stall (so writes queue on buffers that must not be read into), and connections move
// between the shared buffer and their own.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { socketCleanups, tcpServer, type TestServer, until } from '../../../test/integration/userspace-kit.js';
import { TcpProxy } from './proxy-tcp.js';
import { RoundRobin } from './round-robin.js';
import { OWN_BUFFER_FROM, SharedReadBuffer } from './tcp-relay.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** Bytes each connection carries each way (more than loopback socket buffers hold). */
const SLICE = 8 * 1024 * 1024;
/** Chunk sizes the backends write: below, around and above the shared/own threshold and a read's size. */
const SIZES = [1, 100, 3000, OWN_BUFFER_FROM - 1, OWN_BUFFER_FROM, 20_000, 65_536, 70_000, 500, 200_000];

describe('Relay', () => {
  const cleanups = socketCleanups();

  async function proxyTo(server: TestServer, shared = new SharedReadBuffer()): Promise<{ proxy: TcpProxy; shared: SharedReadBuffer }> {
    const rr = new RoundRobin();
    rr.update([server.backend], 0);
    const proxy = await TcpProxy.open({ name: 'relay', host: '127.0.0.1', port: 0, balancer: rr, readBuffer: shared });
    cleanups.push(() => proxy.close(true));
    return { proxy, shared };
  }

  /**
   * Four connections at once, each stalling its client until the proxy has had to hold a read
   * back, then carrying SLICE bytes each way; every byte must arrive intact and in order.
   */
  async function transfer(shared: SharedReadBuffer): Promise<{ mostOwn: number }> {
    const source = randomBytes(12 * 1024 * 1024);
    // Each connection: the client says which slice of `source` it wants ("<offset>\n"), the
    // backend sends that slice in SIZES-sized writes, then the client uploads the same slice
    // and the backend answers with the hash of what it received.
    const uploads: string[] = [];
    const server = await tcpServer((s) => {
      let head = '';
      const onHead = (d: Buffer): void => {
        head += d.toString('latin1');
        const nl = head.indexOf('\n');
        if (nl < 0) return;
        s.off('data', onHead);
        const offset = Number(head.slice(0, nl));
        const rest = Buffer.from(head.slice(nl + 1), 'latin1');
        const hash = createHash('sha256').update(rest);
        s.on('data', (c: Buffer) => hash.update(c));
        s.on('end', () => {
          const digest = hash.digest('hex');
          uploads.push(digest);
          s.end(`\n${digest}`);
        });
        let at = offset;
        let i = offset % SIZES.length;
        const end = offset + SLICE;
        const pump = (): void => {
          while (at < end) {
            const size = Math.min(SIZES[i++ % SIZES.length] as number, end - at);
            const more = s.write(source.subarray(at, at + size));
            at += size;
            if (!more) return;
          }
        };
        s.on('drain', pump);
        pump();
      };
      s.on('data', onHead);
    });
    cleanups.push(() => server.close());
    const { proxy } = await proxyTo(server, shared);
    let mostOwn = 0;
    const watch = setInterval(() => (mostOwn = Math.max(mostOwn, shared.ownBuffers)), 5);
    const one = (k: number): Promise<{ got: string; want: string; uploaded: string }> =>
      new Promise((resolve, reject) => {
        const offset = k * 1_000_003;
        const want = source.subarray(offset, offset + SLICE);
        const c: Socket = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
        const chunks: Buffer[] = [];
        let received = 0;
        c.on('error', reject);
        c.on('connect', () => c.write(`${offset}\n`));
        c.on('data', (d: Buffer) => {
          chunks.push(d);
          received += d.length;
          // Stop reading until the proxy has had to hold a backend read back for a slow client
          // (its writes queued on a buffer the next read must not reuse), then go on.
          if (chunks.length === 1) {
            c.pause();
            void until(() => shared.waits > 0, 'a read held back for a slow client', 10_000).finally(() => c.resume());
          }
          if (received === want.length) c.end(want); // then the upload, from a fresh buffer
        });
        c.on('close', () => {
          const all = Buffer.concat(chunks);
          resolve({ got: sha(all.subarray(0, want.length)), want: sha(want), uploaded: all.subarray(want.length + 1).toString() });
        });
      });
    const results = await Promise.all(Array.from({ length: 4 }, (_, k) => one(k)));
    clearInterval(watch);
    for (const [k, r] of results.entries()) {
      expect(r.got, `download ${k}`).toBe(r.want);
      expect(r.uploaded, `upload ${k}`).toBe(r.want);
    }
    expect(uploads).toHaveLength(4);
    expect(shared.waits).toBeGreaterThan(0);
    await until(() => proxy.stats.active === 0 && shared.ownBuffers === 0, 'connections closed, own buffers given back');
    return { mostOwn };
  }

  it('delivers every byte intact both ways while connections move between the shared buffer and their own', async () => {
    const { mostOwn } = await transfer(new SharedReadBuffer());
    expect(mostOwn).toBeGreaterThan(0);
  }, 60_000);

  it('delivers every byte intact when every read is copied out of the shared buffer', async () => {
    // Reads of at most 4 KB never move a connection to its own buffer: four connections
    // interleave their reads in one buffer while their writes queue.
    const { mostOwn } = await transfer(new SharedReadBuffer(4096));
    expect(mostOwn).toBe(0);
  }, 60_000);

  it('gives a connection\'s own buffer back when its reads turn small, while it stays open', async () => {
    const chunk = Buffer.alloc(64 * 1024, 5);
    let written = 0;
    let pumping = true;
    let backendSocket: Socket | undefined;
    const server = await tcpServer((s) => {
      backendSocket = s;
      s.on('end', () => s.end());
      const pump = (): void => {
        while (pumping && s.write(chunk)) written += chunk.length;
        if (!pumping) return;
        written += chunk.length; // the write that returned false was queued all the same
      };
      s.on('drain', pump);
      pump();
    });
    cleanups.push(() => server.close());
    const { proxy, shared } = await proxyTo(server);
    const c = connect({ port: proxy.port, host: '127.0.0.1' });
    c.on('error', () => undefined);
    let received = 0;
    let tail = '';
    c.on('data', (d: Buffer) => {
      if (!pumping && received >= written) tail += d.toString();
      else received += d.length;
    });
    // Full reads while the backend streams: the connection reads into a buffer of its own.
    await until(() => shared.ownBuffers === 1, 'a buffer of its own while bulk flows');
    pumping = false;
    await until(() => received === written, 'the bulk bytes');
    backendSocket?.write('tail');
    await until(() => tail === 'tail', 'the small write after the bulk');
    expect(shared.ownBuffers).toBe(0);
    expect(c.destroyed).toBe(false);
    c.destroy();
    await until(() => proxy.stats.active === 0, 'no active connection');
  });
});
