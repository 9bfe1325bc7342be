// Warning Events on invalid Services and EndpointSlices, against the fake API
// server over real HTTP on 127.0.0.1 (it validates Events as kube-apiserver
// does): one per object and reason while the object stays invalid, a new one
// once it was fixed and broke again or was recreated, none for valid objects,
// and a cluster that forbids Events changes nothing else.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildKubeConfig } from '../src/sources/kubernetes-config.js';
import { KubernetesSource, type KubernetesSourceLogger } from '../src/sources/kubernetes-source.js';
import { apiNode, apiService, apiSlice, FakeApiServer, type Json } from './lib/fake-apiserver/index.js';
import { SourceRecorder } from './lib/source-recorder.js';

const NODE = 'node-a';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function uidOf(object: Json | undefined): unknown {
  return (object?.['metadata'] as Json | undefined)?.['uid'];
}

/** [reason, regarding kind/namespace/name] of every Event the server holds. */
function eventsSeen(server: FakeApiServer): string[][] {
  return server.events.map((e) => {
    const r = e['regarding'] as Json;
    return [String(e['type']), String(e['reason']), `${String(r['kind'])}/${String(r['namespace'])}/${String(r['name'])}`];
  });
}

describe('KubernetesSource warning events', () => {
  let server: FakeApiServer;
  let source: KubernetesSource | undefined;
  let recorder: SourceRecorder;
  let warnings: string[];

  beforeEach(async () => {
    server = new FakeApiServer({ historyLimit: 50 });
    await server.start();
    server.create('nodes', apiNode(NODE, '192.0.2.10', 'zone-a'));
    server.create('services', apiService('web', { clusterIP: '10.96.0.10' }));
    server.create('endpointslices', apiSlice('web-abc', 'web', ['10.244.0.5']));
    recorder = new SourceRecorder();
    warnings = [];
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await server.stop();
  });

  function makeSource(): KubernetesSource {
    const logger: KubernetesSourceLogger = {
      info: () => undefined,
      debug: () => undefined,
      error: () => undefined,
      warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`),
    };
    source = new KubernetesSource({ kubeConfig: buildKubeConfig({ master: server.url, env: {} }), nodeName: NODE, relistBackoff: { initialMs: 100, maxMs: 400 }, logger });
    return source;
  }

  it('posts one Warning per invalid object and reason, naming the object, its uid and the field', async () => {
    server.create('services', apiService('bad', { namespace: 'shop', clusterIP: '10.96.0.40', port: 70000 }));
    // A port out of range concerns every endpoint: the slice cannot be programmed at all.
    const badSlice = apiSlice('web-bad', 'web', ['10.244.0.6'], { port: 70000 });
    server.create('endpointslices', badSlice);
    await makeSource().start(recorder.sink);
    await recorder.waitFor(() => server.events.length === 2, 'two events');

    expect(eventsSeen(server).sort()).toEqual([
      ['Warning', 'InvalidEndpointSlice', 'EndpointSlice/default/web-bad'],
      ['Warning', 'InvalidService', 'Service/shop/bad'],
    ]);
    const serviceEvent = server.events.find((e) => e['reason'] === 'InvalidService');
    expect(serviceEvent).toMatchObject({
      metadata: { namespace: 'shop' },
      reportingController: 'svcplane.io/svcplane',
      reportingInstance: `svcplane-${NODE}`,
      regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'bad', uid: uidOf(server.store.get('services', 'shop', 'bad')) },
    });
    expect(String(serviceEvent?.['note'])).toContain('spec.ports[0].port');
    expect(String(server.events.find((e) => e['reason'] === 'InvalidEndpointSlice')?.['note'])).toMatch(/ports\[0\]\.port/);
    // The valid objects are delivered; nothing about them was posted.
    expect(recorder.services.has('default/web')).toBe(true);
    expect(recorder.slices.has('default/web-abc')).toBe(true);

    // Another invalid version of the same object, and a relist that sees it again: no more Events.
    server.update('services', apiService('bad', { namespace: 'shop', clusterIP: '10.96.0.40', port: 70001 }));
    await recorder.waitFor(() => recorder.events.filter((e) => e.type === 'invalid').length >= 2, 'the second bad version reported');
    server.compact();
    server.dropWatches();
    server.create('services', apiService('after-relist', { clusterIP: '10.96.0.41' }));
    await recorder.waitFor(() => recorder.services.has('default/after-relist'), 'relist');
    await sleep(200);
    expect(server.events).toHaveLength(2);

    // Fixed, then broken again: news, so a second Event.
    server.update('services', apiService('bad', { namespace: 'shop', clusterIP: '10.96.0.40', port: 80 }));
    await recorder.waitFor(() => recorder.services.has('shop/bad'), 'bad fixed');
    server.update('services', apiService('bad', { namespace: 'shop', clusterIP: '10.96.0.40', port: 0 }));
    await recorder.waitFor(() => server.events.length === 3, 'an event for the new breakage');

    // Deleted and recreated invalid (a new uid): its own Event.
    server.delete('endpointslices', 'default', 'web-bad');
    server.create('endpointslices', badSlice);
    await recorder.waitFor(() => server.events.length === 4, 'an event for the recreated slice');
    const last = server.events.at(-1);
    expect((last?.['regarding'] as Json)['uid']).toBe(uidOf(server.store.get('endpointslices', 'default', 'web-bad')));
    expect(eventsSeen(server).filter(([, , object]) => object === 'Service/shop/bad')).toHaveLength(2);
  });

  it('programs an API object without the part it cannot use, with one InvalidServiceField Warning; ignores unused fields silently', async () => {
    // What kube-apiserver of this version refuses but a newer one might serve: a healthCheckNodePort
    // on a Cluster-policy service (unused), and an external IP svcplane cannot parse (dropped alone).
    const lenient = apiService('skew', { clusterIP: '10.96.0.50' });
    Object.assign(lenient['spec'] as Json, { healthCheckNodePort: 32100, externalTrafficPolicy: 'Cluster', externalIPs: ['203.0.113.7', '203.0.113.300'] });
    server.create('services', lenient);
    const slice = apiSlice('skew-1', 'skew', ['10.244.0.7']);
    (slice['endpoints'] as Json[]).push({ addresses: ['not-an-ip'], conditions: { ready: true } });
    server.create('endpointslices', slice);
    await makeSource().start(recorder.sink);
    await recorder.waitFor(() => server.events.length === 2, 'two events');

    expect(recorder.services.get('default/skew')).toMatchObject({ externalIPs: ['203.0.113.7'], healthCheckNodePort: 32100 });
    expect(recorder.slices.get('default/skew-1')?.endpoints.map((e) => e.addresses)).toEqual([['10.244.0.7']]);
    expect(eventsSeen(server).sort()).toEqual([
      ['Warning', 'InvalidEndpointSliceField', 'EndpointSlice/default/skew-1'],
      ['Warning', 'InvalidServiceField', 'Service/default/skew'],
    ]);
    const note = String(server.events.find((e) => e['reason'] === 'InvalidServiceField')?.['note']);
    expect(note).toContain('svcplane programs this Service without: spec.externalIPs[1]');
    expect(note).not.toContain('healthCheckNodePort');
    expect(warnings.some((w) => w.startsWith('programming an object without an invalid part') && w.includes('spec.externalIPs[1]'))).toBe(true);
    expect(recorder.events.some((e) => e.type === 'invalid')).toBe(false);

    // A new version still missing the part: no second Event; fixed then broken again: a new one.
    server.update('services', { ...lenient, metadata: { ...(lenient['metadata'] as Json), labels: { touched: 'yes' } } });
    await recorder.waitFor(() => recorder.services.get('default/skew')?.labels['touched'] === 'yes', 'the new version');
    await sleep(200);
    expect(server.events).toHaveLength(2);
    server.update('services', apiService('skew', { clusterIP: '10.96.0.50' }));
    await recorder.waitFor(() => recorder.services.get('default/skew')?.externalIPs.length === 0, 'the fixed version');
    server.update('services', lenient);
    await recorder.waitFor(() => server.events.length === 3, 'an event for the new breakage');
  });

  it('posts again for an object whose bad edit was reverted to the version in force and then broke again', async () => {
    const s = makeSource();
    await s.start(recorder.sink);
    server.update('services', apiService('web', { clusterIP: '10.96.0.10', port: 70000 }));
    await recorder.waitFor(() => server.events.length === 1, 'the event for the bad edit');
    const delivered = recorder.batches.length;
    // The revert changes nothing delivered (the good version stayed in force)...
    server.update('services', apiService('web', { clusterIP: '10.96.0.10' }));
    await sleep(200);
    expect(recorder.batches.length).toBe(delivered);
    // ...but the object was valid again, so the next breakage is news.
    server.update('services', apiService('web', { clusterIP: '10.96.0.10', port: 0 }));
    await recorder.waitFor(() => server.events.length === 2, 'an event for the second breakage');
    expect(eventsSeen(server)).toEqual([
      ['Warning', 'InvalidService', 'Service/default/web'],
      ['Warning', 'InvalidService', 'Service/default/web'],
    ]);
  });

  it('keeps working when the cluster forbids Events, and posts once they are allowed', async () => {
    server.rejectEvents();
    server.create('services', apiService('bad', { clusterIP: '10.96.0.40', port: 70000 }));
    const s = makeSource();
    await s.start(recorder.sink);
    await recorder.waitFor(() => warnings.some((w) => w.startsWith('cannot record a warning event')), 'the refusal logged');
    expect(warnings.find((w) => w.startsWith('cannot record'))).toContain('403');
    expect(server.events).toEqual([]);
    expect(recorder.services.has('default/web')).toBe(true);
    await recorder.waitFor(() => s.status().healthy, 'healthy without events');

    // The failed Event was not counted: the next bad version gets one.
    server.rejectEvents(false);
    server.update('services', apiService('bad', { clusterIP: '10.96.0.40', port: 70001 }));
    await recorder.waitFor(() => server.events.length === 1, 'the event once allowed');
    expect(eventsSeen(server)).toEqual([['Warning', 'InvalidService', 'Service/default/bad']]);
  });

  it('has at most 50 Events in flight: a burst of bad objects against a slow server drops the rest', async () => {
    for (let i = 0; i < 120; i++) server.create('services', apiService(`bad-${i}`, { clusterIP: `10.96.1.${i + 1}`, port: 70000 }));
    const release = server.holdEvents();
    await makeSource().start(recorder.sink);
    await recorder.waitFor(() => server.heldEventCount === 50, '50 events waiting');
    await sleep(300);
    expect(server.heldEventCount).toBe(50);
    release();
    await recorder.waitFor(() => server.events.length === 50, 'the 50 stored');
    await sleep(200);
    expect(server.events).toHaveLength(50);
    // A dropped one was not counted as reported: its next bad version gets its Event.
    const posted = new Set(eventsSeen(server).map(([, , object]) => object));
    const dropped = Array.from({ length: 120 }, (_, i) => `bad-${i}`).find((name) => !posted.has(`Service/default/${name}`)) ?? '';
    server.update('services', apiService(dropped, { clusterIP: '10.96.1.200', port: 70001 }));
    await recorder.waitFor(() => server.events.length === 51, 'the dropped object posted later');
    expect(eventsSeen(server).at(-1)).toEqual(['Warning', 'InvalidService', `Service/default/${dropped}`]);
  });

  it('posts nothing for an invalid Node, nor anything when events are turned off', async () => {
    server.update('nodes', { ...apiNode(NODE, '192.0.2.10'), status: { addresses: [{ type: 'InternalIP', address: 'bogus' }] } });
    await makeSource().start(recorder.sink);
    const invalid = recorder.events.flatMap((e) => (e.type === 'invalid' ? e.errors.map((x) => x.ref.kind) : []));
    expect(invalid).toEqual(['Node']);
    await sleep(300);
    expect(server.requests.filter((r) => r.method === 'POST')).toEqual([]);
    await source?.stop();

    server.create('services', apiService('bad', { clusterIP: '10.96.0.40', port: 70000 }));
    const quiet = new SourceRecorder();
    source = new KubernetesSource({ kubeConfig: buildKubeConfig({ master: server.url, env: {} }), nodeName: NODE, recordEvents: false });
    await source.start(quiet.sink);
    expect(quiet.events.some((e) => e.type === 'invalid' && e.errors.some((x) => x.ref.kind === 'Service'))).toBe(true);
    await sleep(300);
    expect(server.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});
