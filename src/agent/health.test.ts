import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { Metrics } from './metrics.js';
import { BindAddressError, boundPort, HealthTracker, parseBindAddress, startHealthServer, startMetricsServer } from './health.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('HealthTracker', () => {
  it('is unhealthy before the first sync, healthy after, unhealthy once stale', () => {
    let t = 1_000_000;
    const h = new HealthTracker(60_000, () => t);
    expect(h.report().healthy).toBe(false);
    h.recordSuccess();
    expect(h.report().healthy).toBe(true);
    t += 30_000;
    h.recordFailure(new Error('iptables-restore: line 3 failed'));
    expect(h.report().healthy).toBe(true);
    expect(h.report().body.lastError).toMatch(/line 3/);
    t += 31_000;
    expect(h.report().healthy).toBe(false);
  });
});

describe('parseBindAddress', () => {
  it('parses IPv4, IPv6 and empty hosts', () => {
    expect(parseBindAddress('0.0.0.0:10256', 'x')).toEqual({ host: '0.0.0.0', port: 10256 });
    expect(parseBindAddress('[::1]:10249', 'x')).toEqual({ host: '::1', port: 10249 });
    expect(parseBindAddress(':8080', 'x')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(() => parseBindAddress('localhost', 'healthzBindAddress')).toThrow(BindAddressError);
  });
});

describe('HTTP endpoints', () => {
  it('serves /healthz, /livez with 200/503 and /metrics in Prometheus text', async () => {
    const h = new HealthTracker(60_000);
    const hs = await startHealthServer({ host: '127.0.0.1', port: 0 }, h);
    servers.push(hs);
    const url = `http://127.0.0.1:${boundPort(hs)}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(503);
    h.recordSuccess();
    const ok = await fetch(`${url}/livez`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { lastUpdated: string }).lastUpdated).toMatch(/^\d{4}-/);
    expect((await fetch(`${url}/nope`)).status).toBe(404);

    const m = new Metrics();
    m.restoreFailures.inc();
    const ms = await startMetricsServer({ host: '127.0.0.1', port: 0 }, m.registry);
    servers.push(ms);
    const text = await (await fetch(`http://127.0.0.1:${boundPort(ms)}/metrics`)).text();
    expect(text).toContain('kubeproxy_sync_proxy_rules_iptables_restore_failures_total 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket');
    expect(text).toContain('svcplane_invalid_objects_total');
  });
});
