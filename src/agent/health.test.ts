import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { Metrics } from './metrics.js';
import { BindAddressError, boundPort, HealthTracker, nodeEligibility, parseBindAddress, startHealthServer, startMetricsServer } from './health.js';

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

describe('HealthTracker components', () => {
  it('shows a component (the Ingress controller) in full in the detailed report and only its verdict publicly, never failing the proxy for it', () => {
    const h = new HealthTracker(60_000);
    h.recordSuccess();
    h.addComponent('ingress', () => ({ healthy: false, reason: 'a change has waited 61 s for nginx', lastError: 'nginx -t: /tmp/x' }));
    expect(h.detailReport()).toMatchObject({ healthy: true, body: { ingress: { healthy: false, reason: 'a change has waited 61 s for nginx', lastError: 'nginx -t: /tmp/x' } } });
    const pub = h.publicReport();
    expect(pub.healthy).toBe(true);
    expect(pub.body['ingress']).toEqual({ healthy: false });
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

describe('what /healthz tells whom', () => {
  const secretError = new Error('iptables-restore --noflush -w 5: exit 2: stderr: line 7: KUBE-SVC-SECRET does not exist');
  const sourceDetail = { healthy: false, detail: 'cannot read manifest paths (ENOENT: /etc/secret-path/services)' };

  it('the public address: status, a fixed reason and timestamps; never the error, the source detail or fallback reasons', async () => {
    let t = 1_000_000;
    const h = new HealthTracker(60_000, () => t, () => sourceDetail, { requested: 'ipvs', using: 'iptables', fallbacks: [{ mode: 'ipvs', reason: 'genl: ENOENT /proc/secret' }] });
    const hs = await startHealthServer({ host: '127.0.0.1', port: 0 }, h);
    servers.push(hs);
    const url = `http://127.0.0.1:${boundPort(hs)}/healthz`;

    const waiting = await fetch(url);
    expect(waiting.status).toBe(503);
    expect(await waiting.json()).toEqual({
      status: 'unhealthy', reason: 'waiting for the source: nothing programmed yet',
      lastUpdated: null, currentTime: new Date(t).toISOString(), lastAttempt: null, nodeEligible: true,
      source: { healthy: false }, mode: { requested: 'ipvs', using: 'iptables' },
    });

    h.recordSuccess();
    t += 1000;
    h.recordFailure(secretError);
    const failing = await fetch(url);
    expect(failing.status).toBe(200);
    const text = await failing.text();
    for (const leak of ['SECRET', 'iptables-restore', 'secret-path', '/proc/secret', 'lastError', 'detail', 'fallbacks']) expect(text).not.toContain(leak);
    expect(JSON.parse(text)).toMatchObject({ status: 'ok', lastUpdated: new Date(t - 1000).toISOString(), lastAttempt: new Date(t).toISOString() });

    t += 61_000;
    const stale = await fetch(url);
    expect(stale.status).toBe(503);
    expect(await stale.json()).toMatchObject({ status: 'unhealthy', reason: 'no successful sync within the allowed time' });
  });

  it('the metrics address (localhost) serves the detail', async () => {
    const h = new HealthTracker(60_000, Date.now, () => sourceDetail, { requested: 'ipvs', using: 'iptables', fallbacks: [{ mode: 'ipvs', reason: 'no IPVS' }] });
    h.recordFailure(secretError);
    const ms = await startMetricsServer({ host: '127.0.0.1', port: 0 }, new Metrics().registry, h);
    servers.push(ms);
    const res = await fetch(`http://127.0.0.1:${boundPort(ms)}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      lastError: secretError.message,
      source: sourceDetail,
      mode: { fallbacks: [{ mode: 'ipvs', reason: 'no IPVS' }] },
    });
  });
});

describe('a node that is being deleted (kube-proxy\'s SyncNode)', () => {
  const base = { name: 'node-a', addresses: [], zone: undefined, labels: {} };

  it('decides eligibility from deletionTimestamp and the autoscaler\'s taint', () => {
    expect(nodeEligibility(base)).toEqual({ eligible: true });
    expect(nodeEligibility({ ...base, taintKeys: ['node.kubernetes.io/unschedulable'] })).toEqual({ eligible: true });
    expect(nodeEligibility({ ...base, deletionTimestamp: '2026-12-04T09:00:00.000Z' })).toEqual({ eligible: false, reason: 'node is being deleted' });
    expect(nodeEligibility({ ...base, taintKeys: ['ToBeDeletedByClusterAutoscaler'] })).toEqual({ eligible: false, reason: 'node is tainted ToBeDeletedByClusterAutoscaler' });
  });

  it('/healthz answers 503 with the reason while syncs still succeed; /livez and the proxy\'s own health stay 200', async () => {
    const h = new HealthTracker(60_000);
    h.recordSuccess();
    const hs = await startHealthServer({ host: '127.0.0.1', port: 0 }, h);
    const ms = await startMetricsServer({ host: '127.0.0.1', port: 0 }, new Metrics().registry, h);
    servers.push(hs, ms);
    const url = `http://127.0.0.1:${boundPort(hs)}`;
    const eligible = await fetch(`${url}/healthz`);
    expect(eligible.status).toBe(200);
    expect(await eligible.json()).toMatchObject({ status: 'ok', nodeEligible: true });

    h.recordNode({ ...base, deletionTimestamp: '2026-12-04T09:00:00.000Z' });
    const leaving = await fetch(`${url}/healthz`);
    expect(leaving.status).toBe(503);
    expect(await leaving.json()).toMatchObject({ status: 'unhealthy', reason: 'node is being deleted', nodeEligible: false });
    const live = await fetch(`${url}/livez`);
    expect(live.status).toBe(200);
    expect(await live.json()).not.toHaveProperty('nodeEligible');
    // The service health server's serviceProxyHealthy is about the proxy, as kube-proxy's IsHealthy.
    expect(h.report().healthy).toBe(true);
    const detail = await fetch(`http://127.0.0.1:${boundPort(ms)}/healthz`);
    expect(detail.status).toBe(503);
    expect(await detail.json()).toMatchObject({ node: { eligible: false, reason: 'node is being deleted', deletionTimestamp: '2026-12-04T09:00:00.000Z' } });

    h.recordNode(base); // the deletion was cancelled (a finalizer's owner gave up): eligible again
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('a stale sync still reports the sync as the reason', () => {
    let t = 0;
    const h = new HealthTracker(1000, () => t);
    h.recordSuccess();
    h.recordNode({ ...base, taintKeys: ['ToBeDeletedByClusterAutoscaler'] });
    expect(h.publicReport().body['reason']).toBe('node is tainted ToBeDeletedByClusterAutoscaler');
    t = 5000;
    expect(h.publicReport().body['reason']).toBe('no successful sync within the allowed time');
  });
});
