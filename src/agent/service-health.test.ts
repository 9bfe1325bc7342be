import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceHealthCheck } from './service-health-plan.js';
import { ServiceHealthServer, type HealthCheckHandler, type Listen } from './service-health.js';

const logger = pino({ level: 'silent' });

/** Records opens and closes; a host:port in `refuse` fails to bind as EADDRINUSE would. */
function fakeListen(refuse = new Set<string>()): { listen: Listen; open: Map<string, HealthCheckHandler>; log: string[] } {
  const open = new Map<string, HealthCheckHandler>();
  const log: string[] = [];
  const listen: Listen = async (host, port, handler) => {
    const key = `${host}:${port}`;
    if (refuse.has(key)) throw new Error(`listen EADDRINUSE: address already in use ${key}`);
    if (open.has(key)) throw new Error(`double listen on ${key}`);
    open.set(key, handler);
    log.push(`open ${key}`);
    return { close: async () => void (open.delete(key), log.push(`close ${key}`)) };
  };
  return { listen, open, log };
}

function checks(...entries: [number, string, number][]): Map<number, ServiceHealthCheck> {
  return new Map(entries.map(([port, name, n]) => [port, { namespace: 'default', name, localEndpoints: n }]));
}

describe('ServiceHealthServer bookkeeping', () => {
  it('opens one listener per port and address, keeps them across count changes, closes removed ports', async () => {
    const f = fakeListen();
    const s = new ServiceHealthServer({ logger, proxyHealthy: () => true, listen: f.listen });
    await s.update(checks([31000, 'web', 1], [31001, 'api', 0]), ['192.168.77.1', 'fd77::1']);
    expect([...f.open.keys()].sort()).toEqual(['192.168.77.1:31000', '192.168.77.1:31001', 'fd77::1:31000', 'fd77::1:31001']);
    f.log.length = 0;
    await s.update(checks([31000, 'web', 2], [31001, 'api', 1]), ['fd77::1', '192.168.77.1']);
    expect(f.log).toEqual([]);
    await s.update(checks([31000, 'web', 2]), ['192.168.77.1', 'fd77::1']);
    expect(f.log.sort()).toEqual(['close 192.168.77.1:31001', 'close fd77::1:31001']);
    await s.close();
    expect(f.open.size).toBe(0);
    await s.update(checks([31000, 'web', 2]), ['192.168.77.1']);
    expect(f.open.size).toBe(0);
  });

  it('reopens on new node addresses and when a port changes hands', async () => {
    const f = fakeListen();
    const s = new ServiceHealthServer({ logger, proxyHealthy: () => true, listen: f.listen });
    await s.update(checks([31000, 'web', 1]), ['192.168.77.1']);
    await s.update(checks([31000, 'web', 1]), ['192.168.77.9']);
    expect([...f.open.keys()]).toEqual(['192.168.77.9:31000']);
    f.log.length = 0;
    await s.update(checks([31000, 'other', 1]), ['192.168.77.9']);
    expect(f.log).toEqual(['close 192.168.77.9:31000', 'open 192.168.77.9:31000']);
    expect(s.status()[0]?.service).toBe('default/other');
  });

  it('reports a port that cannot bind for that service only and retries it at the next update', async () => {
    const refuse = new Set(['192.168.77.1:31000']);
    const f = fakeListen(refuse);
    const s = new ServiceHealthServer({ logger, proxyHealthy: () => true, listen: f.listen });
    await s.update(checks([31000, 'web', 1], [31001, 'api', 1]), ['192.168.77.1']);
    expect(s.status()).toEqual([
      { port: 31000, service: 'default/web', listening: [], failed: { '192.168.77.1': expect.stringContaining('EADDRINUSE') } },
      { port: 31001, service: 'default/api', listening: ['192.168.77.1'], failed: {} },
    ]);
    refuse.clear();
    await s.update(checks([31000, 'web', 1], [31001, 'api', 1]), ['192.168.77.1']);
    expect(s.status()[0]).toEqual({ port: 31000, service: 'default/web', listening: ['192.168.77.1'], failed: {} });
  });

  it('logs a port two services name once while the conflict lasts', async () => {
    const f = fakeListen();
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    const s = new ServiceHealthServer({ logger: log, proxyHealthy: () => true, listen: f.listen });
    const conflict = [{ port: 31000, kept: 'default/a', refused: 'default/b' }];
    await s.update(checks([31000, 'a', 1]), ['192.168.77.1'], conflict);
    await s.update(checks([31000, 'a', 1]), ['192.168.77.1'], conflict);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('SVCPLANE_HEALTH_CHECK_LISTENER');
    expect(lines[0]).toContain('default/b');
    await s.update(checks([31000, 'a', 1]), ['192.168.77.1']);
    await s.update(checks([31000, 'a', 1]), ['192.168.77.1'], conflict);
    expect(lines).toHaveLength(2);
  });

  it('says so when no node address is inside nodePortAddresses', async () => {
    const f = fakeListen();
    const s = new ServiceHealthServer({ logger, proxyHealthy: () => true, listen: f.listen });
    await s.update(checks([31000, 'web', 1]), []);
    expect(s.status()[0]?.failed).toEqual({ '': expect.stringContaining('nodePortAddresses') });
  });
});

describe('ServiceHealthServer over HTTP on loopback', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((x) => new Promise((r) => x.close(r))));
  });

  async function freePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    return port;
  }

  it('answers 200 with the count while local endpoints exist and the proxy is healthy, 503 otherwise', async () => {
    let healthy = true;
    const s = new ServiceHealthServer({ logger, proxyHealthy: () => healthy });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    try {
      await s.update(checks([port, 'web', 2]), ['127.0.0.1']);
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-load-balancing-endpoint-weight')).toBe('2');
      expect(await ok.json()).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });
      healthy = false;
      const stale = await fetch(url);
      expect(stale.status).toBe(503);
      expect(await stale.json()).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: false });
      healthy = true;
      await s.update(checks([port, 'web', 0]), ['127.0.0.1']);
      const none = await fetch(url);
      expect(none.status).toBe(503);
      expect(((await none.json()) as { localEndpoints: number }).localEndpoints).toBe(0);
      await s.update(new Map(), ['127.0.0.1']);
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      await s.close();
    }
  });

  it('reports a port taken by another process and keeps serving the others', async () => {
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const busy = (taken.address() as AddressInfo).port;
    const free = await freePort();
    const s = new ServiceHealthServer({ logger, proxyHealthy: () => true });
    try {
      await s.update(checks([busy, 'web', 1], [free, 'api', 1]), ['127.0.0.1']);
      const byPort = new Map(s.status().map((x) => [x.port, x]));
      expect(byPort.get(busy)?.failed['127.0.0.1']).toMatch(/EADDRINUSE/);
      expect((await fetch(`http://127.0.0.1:${free}/`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
