// The Kubernetes source lists in pages of 500 (limit/continue, as client-go's
// pager) against the fake API server over real HTTP on 127.0.0.1, and starts a
// list over when its continue token expires mid-list (410 Expired after etcd
// compaction), ending with exactly the objects the server holds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildKubeConfig } from '../src/sources/kubernetes-config.js';
import { KubernetesSource } from '../src/sources/kubernetes-source.js';
import { apiNode, apiService, apiSlice, FakeApiServer, type RequestRecord } from './lib/fake-apiserver/index.js';
import { SourceRecorder } from './lib/source-recorder.js';

const NODE = 'node-a';

/** svc-0000 .. svc-NNNN with distinct cluster IPs in 10.96.0.0/16. */
function createServices(server: FakeApiServer, count: number): void {
  for (let i = 0; i < count; i++) {
    server.create('services', apiService(`svc-${String(i).padStart(4, '0')}`, { clusterIP: `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
  }
}

function serviceLists(server: FakeApiServer): RequestRecord[] {
  return server.requests.filter((r) => r.path === '/api/v1/services' && !r.watch);
}

describe('KubernetesSource list pagination', () => {
  let server: FakeApiServer;
  let source: KubernetesSource | undefined;
  let recorder: SourceRecorder;

  beforeEach(async () => {
    server = new FakeApiServer({ historyLimit: 50 });
    await server.start();
    server.create('nodes', apiNode(NODE, '192.0.2.10', 'zone-a'));
    server.create('endpointslices', apiSlice('svc-0000-abc', 'svc-0000', ['10.244.0.5']));
    recorder = new SourceRecorder();
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await server.stop();
  });

  function makeSource(): KubernetesSource {
    source = new KubernetesSource({ kubeConfig: buildKubeConfig({ master: server.url, env: {} }), nodeName: NODE, relistBackoff: { initialMs: 100, maxMs: 400 } });
    return source;
  }

  it('lists 1,203 services in pages of 500 following continue tokens and delivers every one', async () => {
    createServices(server, 1203);
    await makeSource().start(recorder.sink);

    expect(recorder.services.size).toBe(1203);
    expect(recorder.services.get('default/svc-1202')?.clusterIPs).toEqual(['10.96.4.203']);
    const lists = serviceLists(server);
    expect(lists.map((r) => [r.query['limit'], r.query['continue'] !== undefined, r.status])).toEqual([
      ['500', false, 200],
      ['500', true, 200],
      ['500', true, 200],
    ]);
    // Every resource is paginated, the node's field selector kept on each page.
    const nodeList = server.requests.find((r) => r.path === '/api/v1/nodes' && !r.watch);
    expect(nodeList?.query).toMatchObject({ limit: '500', fieldSelector: `metadata.name=${NODE}` });
    const sliceList = server.requests.find((r) => r.path === '/apis/discovery.k8s.io/v1/endpointslices' && !r.watch);
    expect(sliceList?.query['limit']).toBe('500');
  });

  it('starts the list over from the first page when the continue token expires mid-list', async () => {
    createServices(server, 700);
    const release = server.holdContinuedLists('services');
    const s = makeSource();
    const starting = s.start(recorder.sink);
    await recorder.waitFor(() => serviceLists(server).length === 1, 'the first page of services');

    // Between the pages the cluster changes and etcd compacts: the first page's snapshot is gone.
    server.delete('services', 'default', 'svc-0001');
    server.update('services', apiService('svc-0002', { clusterIP: '10.96.0.3', port: 8443 }));
    server.create('services', apiService('svc-late', { clusterIP: '10.96.9.9' }));
    server.compact();
    release();
    await starting;

    const lists = serviceLists(server);
    expect(lists.map((r) => [r.query['continue'] !== undefined, r.status])).toEqual([
      [false, 200],
      [true, 410],
      [false, 200],
      [true, 200],
    ]);
    // The first batch holds the cluster as it is now, not a mix of the two snapshots.
    expect(recorder.services.size).toBe(700);
    expect(recorder.services.has('default/svc-0001')).toBe(false);
    expect(recorder.services.get('default/svc-0002')?.ports[0]?.port).toBe(8443);
    expect(recorder.services.has('default/svc-late')).toBe(true);
    expect(recorder.events.filter((e) => e.type === 'synced')).toHaveLength(1);
    await recorder.waitFor(() => s.status().healthy, 'all watches established');
  });

  it('gives up after three restarts, reports the list as failed and lists again after the backoff', async () => {
    createServices(server, 600);
    // The first attempt and its three restarts all expire; the backoff retry's pages do not.
    server.expireNextContinues('services', 4);
    const s = makeSource();
    const starting = s.start(recorder.sink);
    await recorder.waitFor(() => serviceLists(server).filter((r) => r.status === 410).length === 4, 'four expiries');
    await recorder.waitFor(() => /services not listed yet.*HTTP 410/.test(s.status().detail), 'the failure in status');
    await starting;
    expect(serviceLists(server).map((r) => [r.query['continue'] !== undefined, r.status])).toEqual([
      ...Array.from({ length: 4 }, () => [[false, 200], [true, 410]]).flat(),
      [false, 200],
      [true, 200],
    ]);
    expect(recorder.services.size).toBe(600);
  });
});
