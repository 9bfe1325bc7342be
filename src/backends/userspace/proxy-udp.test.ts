// The UDP proxy against real sockets on 127.0.0.1.
import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { UdpProxy } from './proxy-udp.js';
import { socketCleanups, until } from '../../../test/integration/userspace-kit.js';
import { backendKey, RoundRobin, type Backend } from './round-robin.js';

/** Answers every datagram with `name:payload`. */
async function udpIdentity(name: string): Promise<{ backend: Backend; peers: string[]; close(): Promise<void> }> {
  const s = createSocket('udp4');
  const peers: string[] = [];
  s.on('message', (m, r) => {
    peers.push(`${r.address}:${r.port}`);
    s.send(`${name}:${m.toString()}`, r.port, r.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  return { backend: { ip: '127.0.0.1', port, key: backendKey('127.0.0.1', port) }, peers, close: () => new Promise((r) => s.close(() => r())) };
}

async function client(): Promise<Socket> {
  const c = createSocket('udp4');
  await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
  return c;
}

function ask(c: Socket, port: number, payload: string, timeoutMs = 1000): Promise<{ reply: string; from: string } | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      c.off('message', on);
      resolve(undefined);
    }, timeoutMs);
    const on = (m: Buffer, r: { address: string; port: number }): void => {
      clearTimeout(timer);
      c.off('message', on);
      resolve({ reply: m.toString(), from: `${r.address}:${r.port}` });
    };
    c.on('message', on);
    c.send(payload, port, '127.0.0.1');
  });
}

describe('UdpProxy', () => {
  const cleanups = socketCleanups();

  async function setup(names: string[], idleTimeoutMs = 250): Promise<{ proxy: UdpProxy; rr: RoundRobin; servers: Awaited<ReturnType<typeof udpIdentity>>[]; c: Socket }> {
    const servers = [];
    for (const n of names) {
      const s = await udpIdentity(n);
      cleanups.push(() => s.close());
      servers.push(s);
    }
    const rr = new RoundRobin();
    rr.update(servers.map((s) => s.backend), 0);
    const proxy = await UdpProxy.open({ name: 'udp', host: '127.0.0.1', port: 0, balancer: rr, idleTimeoutMs });
    cleanups.push(() => proxy.close());
    const c = await client();
    cleanups.push(() => new Promise((r) => c.close(() => r())));
    return { proxy, rr, servers, c };
  }

  it('keeps a client on one backend for its session and answers from the service port', async () => {
    const { proxy, c } = await setup(['a', 'b']);
    const first = await ask(c, proxy.port, 'q1');
    expect(first?.from).toBe(`127.0.0.1:${proxy.port}`);
    const second = await ask(c, proxy.port, 'q2');
    expect(second?.reply.split(':')[0]).toBe(first?.reply.split(':')[0]);
    expect(second?.reply).toMatch(/:q2$/);
    expect(proxy.sessions).toBe(1);
  });

  it('closes an idle session after the UDP timeout; the next datagram picks the next backend', async () => {
    const { proxy, c } = await setup(['a', 'b'], 100);
    const first = (await ask(c, proxy.port, 'x'))?.reply;
    await until(() => proxy.sessions === 0, 'the session to expire', 2000);
    const second = (await ask(c, proxy.port, 'x'))?.reply;
    expect(new Set([first, second])).toEqual(new Set(['a:x', 'b:x']));
  });

  it('spreads different clients over the backends', async () => {
    const { proxy } = await setup(['a', 'b']);
    const replies = new Set<string | undefined>();
    for (let i = 0; i < 4; i++) {
      const c = await client();
      replies.add((await ask(c, proxy.port, 'x'))?.reply);
      await new Promise<void>((r) => c.close(() => r()));
    }
    expect(replies).toEqual(new Set(['a:x', 'b:x']));
  });

  it('drops datagrams when the service has no endpoints, and keeps running', async () => {
    const { proxy, rr, c } = await setup(['a']);
    rr.update([], 0);
    expect(await ask(c, proxy.port, 'x', 300)).toBeUndefined();
    expect(proxy.stats.dropped).toBe(1);
  });

  it('moves a session off a removed endpoint at once', async () => {
    const { proxy, rr, servers, c } = await setup(['a', 'b'], 5000);
    const first = (await ask(c, proxy.port, 'x'))?.reply;
    const [other, keep] = first === 'a:x' ? ['b', servers[1]] : ['a', servers[0]];
    rr.update([keep?.backend as Backend], 0);
    proxy.dropSessionsNotIn(new Set([keep?.backend.key as string]));
    expect((await ask(c, proxy.port, 'x'))?.reply).toBe(`${other}:x`);
  });
});
