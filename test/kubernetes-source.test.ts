// The Kubernetes source against the fake API server over real HTTP on
// 127.0.0.1: initial sync gate, change events, label filters, invalid objects,
// and recovery from dropped watches, compacted history and a down API server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LABEL_HEADLESS, LABEL_SERVICE_PROXY_NAME, type EndpointSlice, type Node, type Service } from '../src/model/types.js';
import { validateEndpointSlice } from '../src/model/validate-endpoints.js';
import { validateNode } from '../src/model/validate-node.js';
import { validateService } from '../src/model/validate-service.js';
import { buildKubeConfig } from '../src/sources/kubernetes-config.js';
import { KubernetesSource } from '../src/sources/kubernetes-source.js';
import { apiNode, apiService, apiSlice, FakeApiServer, type Json } from './lib/fake-apiserver/index.js';
import { SourceRecorder } from './lib/source-recorder.js';

const NODE = 'node-a';
const PROXY_NAME = 'svcplane';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What the agent should hold, computed from the fixture's objects with the validators alone. */
function truth(server: FakeApiServer): { services: Map<string, Service>; slices: Map<string, EndpointSlice>; nodes: Map<string, Node> } {
  const ours = (o: Json): boolean => {
    const labels = ((o['metadata'] as Json)['labels'] ?? {}) as Record<string, string>;
    if (LABEL_HEADLESS in labels) return false;
    return !(LABEL_SERVICE_PROXY_NAME in labels) || labels[LABEL_SERVICE_PROXY_NAME] === PROXY_NAME;
  };
  const services = new Map<string, Service>();
  for (const raw of server.store.list('services').filter(ours)) {
    const r = validateService(raw, 'kubernetes');
    if (r.ok) services.set(`${r.value.namespace}/${r.value.name}`, r.value);
  }
  const slices = new Map<string, EndpointSlice>();
  for (const raw of server.store.list('endpointslices').filter(ours)) {
    const r = validateEndpointSlice(raw, 'kubernetes');
    if (r.ok) slices.set(`${r.value.namespace}/${r.value.name}`, r.value);
  }
  const nodes = new Map<string, Node>();
  for (const raw of server.store.list('nodes')) {
    const r = validateNode(raw, 'kubernetes');
    if (r.ok && r.value.name === NODE) nodes.set(r.value.name, r.value);
  }
  return { services, slices, nodes };
}

function sinces(detail: string): string[] {
  return [...detail.matchAll(/since (\d{4}-\d\d-\d\dT[\d:.]+Z)/g)].map((m) => m[1] ?? '');
}

function converged(recorder: SourceRecorder, server: FakeApiServer): boolean {
  const want = truth(server);
  const same = <T>(a: Map<string, T>, b: Map<string, T>): boolean => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
  return same(recorder.services, want.services) && same(recorder.slices, want.slices) && same(recorder.nodes, want.nodes);
}

describe('KubernetesSource', () => {
  let server: FakeApiServer;
  let source: KubernetesSource | undefined;
  let recorder: SourceRecorder;

  beforeEach(async () => {
    server = new FakeApiServer({ historyLimit: 50 });
    await server.start();
    server.create('nodes', apiNode(NODE, '192.0.2.10', 'zone-a'));
    server.create('nodes', apiNode('node-b', '192.0.2.11', 'zone-b'));
    server.create('services', apiService('web', { clusterIP: '10.96.0.10' }));
    server.create('endpointslices', apiSlice('web-abc', 'web', ['10.244.0.5']));
    recorder = new SourceRecorder();
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await server.stop();
  });

  function makeSource(): KubernetesSource {
    source = new KubernetesSource({
      kubeConfig: buildKubeConfig({ master: server.url, env: {} }),
      nodeName: NODE,
      serviceProxyName: PROXY_NAME,
      relistBackoff: { initialMs: 100, maxMs: 400 },
    });
    return source;
  }

  it('holds everything until all three resources are listed, then delivers one complete batch ending in synced', async () => {
    const release = server.holdLists('endpointslices');
    const s = makeSource();
    let started = false;
    const starting = s.start(recorder.sink).then(() => {
      started = true;
    });
    await recorder.waitFor(() => server.requests.filter((r) => r.watch).length >= 2, 'the services and node watches');
    server.create('services', apiService('api', { clusterIP: '10.96.0.20' }));
    await sleep(300);
    expect(recorder.batches).toEqual([]);
    expect(started).toBe(false);
    expect(s.status().healthy).toBe(false);
    expect(s.status().detail).toContain('endpointslices not listed yet');

    release();
    await starting;
    expect(recorder.batches).toHaveLength(1);
    expect(recorder.describe()).toEqual([
      'node-upsert node-a',
      'service-upsert default/api',
      'service-upsert default/web',
      'slice-upsert default/web-abc',
      'synced',
    ]);
    const node = recorder.nodes.get(NODE);
    expect(node?.zone).toBe('zone-a');
    expect(node?.addresses).toContainEqual({ type: 'InternalIP', address: '192.0.2.10' });
    expect(recorder.services.get('default/web')?.clusterIPs).toEqual(['10.96.0.10']);
    expect(recorder.slices.get('default/web-abc')?.endpoints[0]?.addresses).toEqual(['10.244.0.5']);
    // The node is watched by name; the list asked for it so.
    const nodeRequests = server.requests.filter((r) => r.path === '/api/v1/nodes');
    expect(nodeRequests.every((r) => r.query['fieldSelector'] === `metadata.name=${NODE}`)).toBe(true);
    await recorder.waitFor(() => s.status().healthy, 'all watches established');
  });

  it('turns adds, updates and deletes of services, slices and the node into small batches', async () => {
    const s = makeSource();
    await s.start(recorder.sink);
    const from = recorder.batches.length;

    server.create('services', apiService('api', { clusterIP: '10.96.0.20' }));
    await recorder.waitFor(() => recorder.services.has('default/api'), 'api added');
    server.update('services', apiService('web', { clusterIP: '10.96.0.10', port: 8443 }));
    await recorder.waitFor(() => recorder.services.get('default/web')?.ports[0]?.port === 8443, 'web updated');
    server.update('endpointslices', apiSlice('web-abc', 'web', ['10.244.0.5', '10.244.0.6']));
    await recorder.waitFor(() => recorder.slices.get('default/web-abc')?.endpoints.length === 2, 'slice updated');
    server.create('endpointslices', apiSlice('api-xyz', 'api', ['10.244.1.1']));
    server.delete('endpointslices', 'default', 'web-abc');
    server.delete('services', 'default', 'web');
    await recorder.waitFor(() => !recorder.services.has('default/web'), 'web deleted');
    server.update('nodes', apiNode(NODE, '192.0.2.99', 'zone-c'));
    server.update('nodes', apiNode('node-b', '192.0.2.98'));
    await recorder.waitFor(() => recorder.nodes.get(NODE)?.zone === 'zone-c', 'node updated');

    expect(recorder.describe(from)).toEqual([
      'service-upsert default/api',
      'service-upsert default/web',
      'slice-upsert default/web-abc',
      'slice-upsert default/api-xyz',
      'slice-delete default/web-abc',
      'service-delete default/web',
      'node-upsert node-a',
    ]);
    expect(recorder.nodes.get(NODE)?.addresses).toContainEqual({ type: 'InternalIP', address: '192.0.2.99' });
    expect(recorder.events.filter((e) => e.type === 'synced')).toHaveLength(1);
    // An update that changes nothing the model holds (a status field) reaches nobody.
    const before = recorder.batches.length;
    server.update('services', { ...apiService('api', { clusterIP: '10.96.0.20' }), status: { loadBalancer: {}, conditions: [] } });
    await sleep(200);
    expect(recorder.batches.length).toBe(before);
    expect(converged(recorder, server)).toBe(true);
  });

  it('ignores services for another proxy and headless ones, and deletes a delivered service that gains such a label', async () => {
    server.create('services', apiService('other-proxy', { clusterIP: '10.96.0.30', labels: { [LABEL_SERVICE_PROXY_NAME]: 'someone-else' } }));
    server.create('services', apiService('mine', { clusterIP: '10.96.0.31', labels: { [LABEL_SERVICE_PROXY_NAME]: PROXY_NAME } }));
    server.create('services', apiService('headless', { clusterIP: '10.96.0.32', labels: { [LABEL_HEADLESS]: '' } }));
    const s = makeSource();
    await s.start(recorder.sink);
    expect([...recorder.services.keys()].sort()).toEqual(['default/mine', 'default/web']);

    const from = recorder.batches.length;
    server.update('services', apiService('web', { clusterIP: '10.96.0.10', labels: { [LABEL_SERVICE_PROXY_NAME]: 'someone-else' } }));
    await recorder.waitFor(() => !recorder.services.has('default/web'), 'web handed to another proxy');
    server.update('services', apiService('web', { clusterIP: '10.96.0.10' }));
    await recorder.waitFor(() => recorder.services.has('default/web'), 'web back');
    server.update('services', apiService('other-proxy', { clusterIP: '10.96.0.30', port: 81, labels: { [LABEL_SERVICE_PROXY_NAME]: 'someone-else' } }));
    server.update('services', apiService('mine', { clusterIP: '10.96.0.31', labels: { [LABEL_HEADLESS]: '' } }));
    await recorder.waitFor(() => !recorder.services.has('default/mine'), 'mine labelled headless');
    expect(recorder.describe(from)).toEqual(['service-delete default/web', 'service-upsert default/web', 'service-delete default/mine']);
  });

  it('reports an invalid object once per version, skips it, and keeps the last good version in force', async () => {
    server.create('services', { ...apiService('bad', { clusterIP: '10.96.0.40', port: 70000 }) });
    const s = makeSource();
    await s.start(recorder.sink);
    const first = recorder.batches[0] ?? [];
    const invalid = first.find((e) => e.type === 'invalid');
    expect(invalid?.type === 'invalid' && invalid.errors.map((e) => [e.ref.kind, e.ref.namespace, e.ref.name, e.field, e.source])).toEqual([
      ['Service', 'default', 'bad', 'spec.ports[0].port', 'kubernetes'],
    ]);
    expect(recorder.services.has('default/bad')).toBe(false);
    expect(first.at(-1)?.type).toBe('synced');

    const from = recorder.batches.length;
    server.update('services', apiService('web', { clusterIP: '10.96.0.10', port: 70000 }));
    await recorder.waitFor(() => recorder.events.filter((e) => e.type === 'invalid').length === 2, 'web reported invalid');
    expect(recorder.describe(from)).toEqual(['invalid Service default/web']);
    expect(recorder.services.get('default/web')?.ports[0]?.port).toBe(80);

    // A relist sees the same versions again: nothing is reported twice.
    server.compact();
    server.dropWatches();
    server.create('services', apiService('after-relist', { clusterIP: '10.96.0.41' }));
    await recorder.waitFor(() => recorder.services.has('default/after-relist'), 'relist');
    expect(recorder.describe(from)).toEqual(['invalid Service default/web', 'service-upsert default/after-relist']);

    server.update('services', apiService('web', { clusterIP: '10.96.0.10', port: 8080 }));
    await recorder.waitFor(() => recorder.services.get('default/web')?.ports[0]?.port === 8080, 'web fixed');
  });

  it('recovers from a watch dropped mid-stream by resuming, without losing or duplicating changes', async () => {
    const s = makeSource();
    await s.start(recorder.sink);
    await recorder.waitFor(() => server.openWatchCount === 3 && s.status().healthy, 'three watches');
    const lists = server.requests.filter((r) => !r.watch).length;
    const from = recorder.batches.length;

    server.dropWatches();
    // Changes while no watch is open.
    server.create('services', apiService('api', { clusterIP: '10.96.0.20' }));
    server.update('endpointslices', apiSlice('web-abc', 'web', ['10.244.0.7']));
    server.create('endpointslices', apiSlice('api-1', 'api', ['10.244.1.1']));
    server.delete('endpointslices', 'default', 'api-1');
    await recorder.waitFor(() => !s.status().healthy, 'the drop noticed');
    expect(s.status().detail).toMatch(/watch disconnected since \d{4}-/);
    await recorder.waitFor(() => converged(recorder, server) && s.status().healthy, 'convergence after the drop');

    // Each resource's changes arrive once and in order (the resources reconnect independently).
    const changes = recorder.describe(from);
    expect(changes.filter((e) => e.startsWith('service-'))).toEqual(['service-upsert default/api']);
    expect(changes.filter((e) => e.startsWith('slice-'))).toEqual(['slice-upsert default/web-abc', 'slice-upsert default/api-1', 'slice-delete default/api-1']);
    expect(changes).toHaveLength(4);
    // Resumed from the last resourceVersion: no relist.
    expect(server.requests.filter((r) => !r.watch).length).toBe(lists);
    const resumed = server.requests.filter((r) => r.watch).slice(3);
    expect(resumed.length).toBeGreaterThanOrEqual(3);
    for (const r of resumed) {
      expect(r.query['allowWatchBookmarks']).toBe('true');
      expect(Number(r.query['resourceVersion'])).toBeGreaterThan(1000);
    }
  });

  it('resumes a cleanly closed watch from the last bookmark', async () => {
    const s = makeSource();
    await s.start(recorder.sink);
    await recorder.waitFor(() => server.openWatchCount === 3, 'three watches');
    server.create('endpointslices', apiSlice('unrelated', 'x', ['10.244.9.9'], { labels: { [LABEL_HEADLESS]: '' } }));
    server.create('services', apiService('api', { clusterIP: '10.96.0.20' }));
    await recorder.waitFor(() => recorder.services.has('default/api'), 'api');
    const bookmark = server.store.resourceVersion;
    server.sendBookmarks();
    await sleep(100);
    const watchesBefore = server.requests.filter((r) => r.watch).length;
    server.closeWatches();
    await recorder.waitFor(() => server.requests.filter((r) => r.watch).length >= watchesBefore + 3, 'reconnects');
    const nodeWatch = server.requests.filter((r) => r.watch && r.path === '/api/v1/nodes').at(-1);
    // The node saw no change since the first list: only the bookmark moved its resume point.
    expect(nodeWatch?.query['resourceVersion']).toBe(String(bookmark));
    expect(recorder.events.filter((e) => e.type === 'synced')).toHaveLength(1);
  });

  it('relists after 410 Gone and diffs: deletes for what vanished, upserts for what changed, nothing for the rest', async () => {
    server.create('services', apiService('stays', { clusterIP: '10.96.0.50' }));
    server.create('services', apiService('goes', { clusterIP: '10.96.0.51' }));
    server.create('endpointslices', apiSlice('goes-1', 'goes', ['10.244.2.1']));
    const s = makeSource();
    await s.start(recorder.sink);
    await recorder.waitFor(() => server.openWatchCount === 3, 'three watches');
    const lists = server.requests.filter((r) => !r.watch).length;
    const from = recorder.batches.length;

    server.dropWatches();
    server.delete('services', 'default', 'goes');
    server.delete('endpointslices', 'default', 'goes-1');
    server.update('services', apiService('web', { clusterIP: '10.96.0.10', port: 9090 }));
    server.create('services', apiService('new', { clusterIP: '10.96.0.52' }));
    server.compact();

    await recorder.waitFor(() => converged(recorder, server) && s.status().healthy, 'convergence after the relist');
    expect(server.requests.filter((r) => !r.watch).length).toBe(lists + 3);
    expect(server.requests.some((r) => r.watch && r.status === 200 && Number(r.query['resourceVersion']) < server.store.resourceVersion)).toBe(true);
    const events = recorder.describe(from).sort();
    expect(events).toEqual(['service-delete default/goes', 'service-upsert default/new', 'service-upsert default/web', 'slice-delete default/goes-1'].sort());
    // The services relist arrived as one batch.
    const serviceBatches = recorder.batches.slice(from).filter((b) => b.some((e) => e.type.startsWith('service-')));
    expect(serviceBatches).toHaveLength(1);
  });

  it('deletes nothing while the API server is down and converges when it is back', async () => {
    server.create('services', apiService('kept', { clusterIP: '10.96.0.60' }));
    const s = makeSource();
    await s.start(recorder.sink);
    await recorder.waitFor(() => s.status().healthy, 'healthy');
    const from = recorder.batches.length;

    await server.stop();
    await recorder.waitFor(() => sinces(s.status().detail).length === 3, 'all three disconnected');
    const outageStart = s.status().detail;
    // Changes the agent cannot see yet.
    server.delete('services', 'default', 'kept');
    server.create('services', apiService('born', { clusterIP: '10.96.0.61' }));
    await sleep(1200); // several reconnect attempts (100, 200, 400, 400 ms)
    expect(recorder.batches.length).toBe(from);
    expect(recorder.services.has('default/kept')).toBe(true);
    const down = s.status();
    expect(down.healthy).toBe(false);
    expect(down.detail).toMatch(/^services watch disconnected since \d{4}-\d\d-\d\dT[\d:.]+Z \(.*ECONNREFUSED.*\); endpointslices .*; node node-a /);
    // "since" is when the outage began, not the last retry.
    expect(sinces(down.detail)).toEqual(sinces(outageStart));

    await server.restart();
    await recorder.waitFor(() => converged(recorder, server) && s.status().healthy, 'convergence after the restart');
    expect(recorder.describe(from).sort()).toEqual(['service-delete default/kept', 'service-upsert default/born']);
  });

  it('rejects a pending start when stopped before the first sync', async () => {
    const release = server.holdLists('services');
    const s = makeSource();
    const starting = s.start(recorder.sink);
    await recorder.waitFor(() => server.openWatchCount === 2, 'the other two watches');
    await s.stop();
    await expect(starting).rejects.toThrow(/stopped before the initial sync/);
    // The list answered after stop() starts no watch; the open ones were closed.
    release();
    await sleep(300);
    expect(server.requests.filter((r) => r.watch && r.path === '/api/v1/services')).toEqual([]);
    expect(server.openWatchCount).toBe(0);
    expect(recorder.batches).toEqual([]);
  });
});
