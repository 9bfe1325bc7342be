// The TCP proxy against real sockets on 127.0.0.1, including backends that fail on purpose.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TcpProxy } from './proxy-tcp.js';
import { blackholeBackend, halfCloseEcho, identity, refusingBackend, request, socketCleanups, tcpServer, type TestServer, until } from '../../../test/integration/userspace-kit.js';
import { RoundRobin, type Backend } from './round-robin.js';

describe('TcpProxy', () => {
  const cleanups = socketCleanups();

  async function proxyTo(backends: Backend[], affinitySeconds = 0, dialTimeoutsMs?: number[]): Promise<{ proxy: TcpProxy; rr: RoundRobin; errors: Error[] }> {
    const rr = new RoundRobin();
    rr.update(backends, affinitySeconds);
    const errors: Error[] = [];
    const proxy = await TcpProxy.open({ name: 'test', host: '127.0.0.1', port: 0, balancer: rr, events: { socketError: (e) => errors.push(e) }, ...(dialTimeoutsMs ? { dialTimeoutsMs } : {}) });
    cleanups.push(() => proxy.close(true));
    return { proxy, rr, errors };
  }

  async function server(s: Promise<TestServer>): Promise<TestServer> {
    const t = await s;
    cleanups.push(() => t.close());
    return t;
  }

  it('round-robins connections over every backend', async () => {
    const servers = [await server(identity('a')), await server(identity('b')), await server(identity('c'))];
    const { proxy } = await proxyTo(servers.map((s) => s.backend));
    const got = [];
    for (let i = 0; i < 6; i++) got.push(await request(proxy.port));
    expect(got.map((g) => g.data)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('keeps a client on one backend under ClientIP affinity', async () => {
    const servers = [await server(identity('a')), await server(identity('b'))];
    const { proxy } = await proxyTo(servers.map((s) => s.backend), 60);
    const got = new Set<string>();
    for (let i = 0; i < 5; i++) got.add((await request(proxy.port)).data);
    expect(got.size).toBe(1);
  });

  it('refuses with a RST when the service has no endpoints', async () => {
    const { proxy } = await proxyTo([]);
    const t0 = Date.now();
    const r = await request(proxy.port, 'hi');
    expect(r).toMatchObject({ ok: false, error: 'ECONNRESET' });
    expect(Date.now() - t0).toBeLessThan(200);
    expect(proxy.stats.refused).toBe(1);
  });

  it('tries the next backend when one refuses', async () => {
    const good = await server(identity('good'));
    const { proxy } = await proxyTo([await refusingBackend(), good.backend]);
    expect(await request(proxy.port)).toEqual({ ok: true, data: 'good' });
    expect(proxy.stats.dialFailures).toBe(1);
  });

  it('gives up on a backend that never answers after 250 ms and uses the next', async () => {
    const hole = await blackholeBackend();
    cleanups.push(() => hole.close());
    const good = await server(identity('good'));
    const { proxy } = await proxyTo([hole.backend, good.backend]);
    const t0 = Date.now();
    expect(await request(proxy.port)).toEqual({ ok: true, data: 'good' });
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(ms).toBeLessThan(1500);
  });

  it('escalates its timeouts (250, 500, 1000, 2000 ms) and resets the client when every backend is down', async () => {
    const hole = await blackholeBackend();
    cleanups.push(() => hole.close());
    const { proxy } = await proxyTo([hole.backend]);
    const t0 = Date.now();
    expect(await request(proxy.port, 'x')).toMatchObject({ ok: false, error: 'ECONNRESET' });
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(3700);
    expect(ms).toBeLessThan(5500);
    expect(proxy.stats.dialFailures).toBe(4);
  }, 10_000);

  it('resets the client when every backend refuses, quickly', async () => {
    const { proxy } = await proxyTo([await refusingBackend(), await refusingBackend()]);
    expect(await request(proxy.port, 'x')).toMatchObject({ ok: false, error: 'ECONNRESET' });
    expect(proxy.stats.dialFailures).toBe(4);
  });

  it('passes a reset from a backend that accepts then resets on to the client, and keeps serving', async () => {
    const resetter = await server(tcpServer((s) => setTimeout(() => s.resetAndDestroy(), 20)));
    const good = await server(identity('good'));
    const { proxy } = await proxyTo([resetter.backend, good.backend]);
    expect(await request(proxy.port, 'hello', false)).toMatchObject({ ok: false, error: 'ECONNRESET' });
    expect(await request(proxy.port)).toEqual({ ok: true, data: 'good' });
    await until(() => proxy.stats.active === 0, 'no active connection');
  });

  it('passes a client half-close through: the backend answers after the client\'s FIN', async () => {
    const echo = await server(halfCloseEcho());
    const { proxy } = await proxyTo([echo.backend]);
    expect(await request(proxy.port, 'hello, half-closed', true)).toEqual({ ok: true, data: 'HELLO, HALF-CLOSED' });
  });

  it('passes a backend half-close through: the client may keep sending after the backend\'s FIN', async () => {
    let received = '';
    const sink = await server(tcpServer((s) => {
      s.end('bye');
      s.on('data', (c: Buffer) => (received += c.toString()));
    }));
    const { proxy } = await proxyTo([sink.backend]);
    const s = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    const closed = new Promise((r) => s.once('close', r));
    const ended = new Promise<string>((resolve) => {
      let data = '';
      s.on('data', (c: Buffer) => (data += c.toString()));
      s.on('end', () => resolve(data));
    });
    expect(await ended).toBe('bye');
    s.end('still here');
    await until(() => received === 'still here', 'the client\'s bytes after the backend\'s FIN');
    await closed;
  });

  it('closes the backend side when a client vanishes mid-stream', async () => {
    let backendClosed = false;
    const streamer = await server(tcpServer((s) => {
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = (): void => {
        while (!s.destroyed && s.write(chunk));
      };
      s.on('drain', pump);
      s.on('close', () => (backendClosed = true));
      pump();
    }));
    const { proxy } = await proxyTo([streamer.backend]);
    const client = connect(proxy.port, '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => client.once('data', () => resolve()));
    client.resetAndDestroy();
    await until(() => backendClosed, 'the backend connection to close');
    await until(() => proxy.stats.active === 0, 'no active connection');
  });

  it('applies back-pressure: a client that stops reading stops the proxy reading from the backend', async () => {
    let written = 0;
    let writer: (() => void) | undefined;
    const streamer = await server(tcpServer((s) => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      writer = () => {
        while (!s.destroyed && written < 256 * 1024 * 1024 && s.write(chunk)) written += chunk.length;
      };
      s.on('drain', () => writer?.());
      writer();
    }));
    const { proxy } = await proxyTo([streamer.backend]);
    const client = connect(proxy.port, '127.0.0.1');
    let read = 0;
    client.on('data', (c: Buffer) => {
      read += c.length;
      client.pause();
    });
    await until(() => read > 0, 'the first bytes');
    await new Promise((r) => setTimeout(r, 500));
    // Only socket buffers (a few MB at most) sit between a paused reader and the backend.
    expect(written).toBeLessThan(32 * 1024 * 1024);
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(64 * 1024 * 1024);
    client.destroy();
    await until(() => proxy.stats.active === 0, 'no active connection');
  });

  it('stops accepting on close; established connections may finish', async () => {
    const echo = await server(halfCloseEcho());
    const { proxy } = await proxyTo([echo.backend]);
    const s = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => s.once('connect', r));
    await until(() => echo.sockets.size === 1, 'the backend connection');
    const port = proxy.port;
    const closed = proxy.close();
    expect((await request(port)).ok).toBe(false);
    const reply = new Promise<string>((resolve) => {
      let d = '';
      s.on('data', (c: Buffer) => (d += c.toString()));
      s.on('end', () => resolve(d));
    });
    s.end('finish');
    expect(await reply).toBe('FINISH');
    s.destroy();
    await closed;
  });
});
