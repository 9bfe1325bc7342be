// The fixture itself must speak the API server's protocol: raw HTTP checks of
// list and watch shapes, list pages, resume, 410 on compacted history, selectors, bookmarks.
import { get } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiNode, apiService, FakeApiServer, type Json } from './index.js';

interface WatchRead {
  readonly status: number;
  readonly events: Json[];
  /** true when the server ended the stream. */
  readonly ended: boolean;
}

/** Reads a watch until `count` events arrived or the server ended it. */
function readWatch(url: string, count: number, timeoutMs = 2000): Promise<WatchRead> {
  return new Promise((resolve, reject) => {
    const events: Json[] = [];
    let buffer = '';
    const req = get(url, (res) => {
      const finish = (ended: boolean): void => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, events, ended });
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, newline)) as Json);
          buffer = buffer.slice(newline + 1);
        }
        if (events.length >= count) finish(false);
      });
      res.on('end', () => finish(true));
    });
    req.on('error', reject);
  });
}

async function getJson(url: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Json };
}

function meta(object: unknown): Json {
  return (object as Json)['metadata'] as Json;
}

describe('fake API server', () => {
  let server: FakeApiServer;

  beforeEach(async () => {
    server = new FakeApiServer({ historyLimit: 5, bookmarkIntervalMs: 50 });
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('lists like the API: typed list, untyped items, list and item resourceVersions', async () => {
    server.create('services', apiService('b'));
    server.create('services', apiService('a', { namespace: 'other' }));
    const { status, body } = await getJson(`${server.url}/api/v1/services`);
    expect(status).toBe(200);
    expect(body['kind']).toBe('ServiceList');
    expect(body['apiVersion']).toBe('v1');
    expect(meta(body)['resourceVersion']).toBe(String(server.store.resourceVersion));
    const items = body['items'] as Json[];
    expect(items.map((i) => `${String(meta(i)['namespace'])}/${String(meta(i)['name'])}`)).toEqual(['default/b', 'other/a']);
    for (const item of items) {
      expect(item['kind']).toBeUndefined();
      expect(item['apiVersion']).toBeUndefined();
      expect(Number(meta(item)['resourceVersion'])).toBeGreaterThan(1000);
    }
    const namespaced = await getJson(`${server.url}/api/v1/namespaces/other/services`);
    expect((namespaced.body['items'] as Json[]).length).toBe(1);
    const slices = await getJson(`${server.url}/apis/discovery.k8s.io/v1/endpointslices`);
    expect(slices.body['kind']).toBe('EndpointSliceList');
    expect(slices.body['apiVersion']).toBe('discovery.k8s.io/v1');
  });

  it('filters by fieldSelector metadata.name and rejects unsupported fields with a 400 Status', async () => {
    server.create('nodes', apiNode('node-a', '192.0.2.1'));
    server.create('nodes', apiNode('node-b', '192.0.2.2'));
    const { body } = await getJson(`${server.url}/api/v1/nodes?fieldSelector=${encodeURIComponent('metadata.name=node-b')}`);
    expect((body['items'] as Json[]).map((i) => meta(i)['name'])).toEqual(['node-b']);
    const bad = await getJson(`${server.url}/api/v1/nodes?fieldSelector=spec.bogus%3Dx`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
  });

  it('resumes a watch after resourceVersion N with the changes since, then streams live ones', async () => {
    server.create('services', apiService('a'));
    const from = server.store.resourceVersion;
    server.update('services', apiService('a', { port: 81 }));
    server.create('services', apiService('b'));
    const deleted = server.delete('services', 'default', 'a');
    const pending = readWatch(`${server.url}/api/v1/services?watch=1&resourceVersion=${from}`, 4);
    await new Promise((r) => setTimeout(r, 50));
    server.create('services', apiService('c'));
    const { status, events } = await pending;
    expect(status).toBe(200);
    expect(events.map((e) => `${String(e['type'])} ${String(meta(e['object'])['name'])}`)).toEqual(['MODIFIED a', 'ADDED b', 'DELETED a', 'ADDED c']);
    for (const e of events) expect(e['object']).toMatchObject({ kind: 'Service', apiVersion: 'v1' });
    // A deleted object carries the deletion's resourceVersion.
    expect(meta(events[2]?.['object'])['resourceVersion']).toBe(meta(deleted)['resourceVersion']);
  });

  it('starts a watch without resourceVersion with synthetic ADDED events', async () => {
    server.create('services', apiService('a'));
    server.create('services', apiService('b'));
    const { events } = await readWatch(`${server.url}/api/v1/services?watch=true`, 2);
    expect(events.map((e) => [e['type'], meta(e['object'])['name']])).toEqual([['ADDED', 'a'], ['ADDED', 'b']]);
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired, then ends', async () => {
    server.create('services', apiService('a'));
    const old = server.store.resourceVersion - 1;
    server.compact();
    const { status, events, ended } = await readWatch(`${server.url}/api/v1/services?watch=1&resourceVersion=${old}`, 5);
    expect(status).toBe(200);
    expect(ended).toBe(true);
    expect(events).toEqual([
      {
        type: 'ERROR',
        object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${old} (${server.store.resourceVersion})`, reason: 'Expired', code: 410 },
      },
    ]);
  });

  it('expires watches older than the history window, not newer ones', async () => {
    for (let i = 0; i < 8; i++) server.create('services', apiService(`s${i}`));
    const rv = server.store.resourceVersion;
    const tooOld = await readWatch(`${server.url}/api/v1/services?watch=1&resourceVersion=${rv - 7}`, 5);
    expect(tooOld.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
    const inWindow = await readWatch(`${server.url}/api/v1/services?watch=1&resourceVersion=${rv - 5}`, 5);
    expect(inWindow.events.map((e) => e['type'])).toEqual(['ADDED', 'ADDED', 'ADDED', 'ADDED', 'ADDED']);
  });

  it('returns HTTP 410 for an exact list at a compacted resourceVersion and the old state within history', async () => {
    server.create('services', apiService('a'));
    const before = server.store.resourceVersion;
    server.delete('services', 'default', 'a');
    const past = await getJson(`${server.url}/api/v1/services?resourceVersion=${before}&resourceVersionMatch=Exact`);
    expect((past.body['items'] as Json[]).map((i) => meta(i)['name'])).toEqual(['a']);
    server.compact();
    const gone = await getJson(`${server.url}/api/v1/services?resourceVersion=${before}&resourceVersionMatch=Exact`);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
  });

  it('turns a change moving an object out of a label selector into DELETED, and into it into ADDED', async () => {
    server.create('services', apiService('a'));
    const from = server.store.resourceVersion;
    server.update('services', apiService('a', { labels: { 'service.kubernetes.io/headless': '' } }));
    server.update('services', apiService('a'));
    const selector = encodeURIComponent('!service.kubernetes.io/headless');
    const { events } = await readWatch(`${server.url}/api/v1/services?watch=1&resourceVersion=${from}&labelSelector=${selector}`, 2);
    expect(events.map((e) => e['type'])).toEqual(['DELETED', 'ADDED']);
  });

  it('sends BOOKMARKs carrying only the resourceVersion, and only when allowed', async () => {
    server.create('services', apiService('a'));
    const rv = server.store.resourceVersion;
    const { events } = await readWatch(`${server.url}/api/v1/services?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`, 1);
    expect(events[0]).toEqual({ type: 'BOOKMARK', object: { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } } });
    const without = await readWatch(`${server.url}/api/v1/services?watch=1&resourceVersion=${rv}`, 1, 300);
    expect(without.events).toEqual([]);
  });

  it('stops listening on stop() and comes back on the same port with the same objects', async () => {
    server.create('services', apiService('a'));
    const url = server.url;
    await server.stop();
    await expect(fetch(`${url}/api/v1/services`)).rejects.toThrow();
    await server.restart();
    expect(server.url).toBe(url);
    const { body } = await getJson(`${url}/api/v1/services`);
    expect((body['items'] as Json[]).length).toBe(1);
    expect(server.requests.map((r) => r.path)).toEqual(['/api/v1/services']);
  });

  it('serves lists in pages from one snapshot and expires a continue token once history is compacted', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) server.create('services', apiService(name));
    const first = await getJson(`${server.url}/api/v1/services?limit=2`);
    expect(first.status).toBe(200);
    expect((first.body['items'] as Json[]).map((o) => meta(o)['name'])).toEqual(['a', 'b']);
    expect(meta(first.body)['remainingItemCount']).toBe(3);
    const token = String(meta(first.body)['continue']);
    const rv = meta(first.body)['resourceVersion'];

    // A change after the first page does not show in the next ones: they are the first page's snapshot.
    server.delete('services', 'default', 'c');
    const second = await getJson(`${server.url}/api/v1/services?limit=2&continue=${encodeURIComponent(token)}`);
    expect((second.body['items'] as Json[]).map((o) => meta(o)['name'])).toEqual(['c', 'd']);
    expect(meta(second.body)['resourceVersion']).toBe(rv);
    const last = await getJson(`${server.url}/api/v1/services?limit=2&continue=${encodeURIComponent(String(meta(second.body)['continue']))}`);
    expect((last.body['items'] as Json[]).map((o) => meta(o)['name'])).toEqual(['e']);
    expect(meta(last.body)['continue']).toBeUndefined();

    server.compact();
    const expired = await getJson(`${server.url}/api/v1/services?limit=2&continue=${encodeURIComponent(token)}`);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    const garbage = await getJson(`${server.url}/api/v1/services?limit=2&continue=not-a-token`);
    expect(garbage.status).toBe(400);
    // No limit: one page, no token.
    const all = await getJson(`${server.url}/api/v1/services`);
    expect((all.body['items'] as Json[]).length).toBe(4);
    expect(meta(all.body)['continue']).toBeUndefined();
  });

  it('creates valid Events, refuses invalid ones with 422 and all of them with 403 when forbidden', async () => {
    const url = `${server.url}/apis/events.k8s.io/v1/namespaces/shop/events`;
    const post = async (body: Json): Promise<{ status: number; body: Json }> => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const event: Json = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'bad.18a2b3c4d5e6f708', namespace: 'shop' },
      eventTime: '2026-12-04T05:10:00.123000Z',
      reportingController: 'svcplane.io/svcplane',
      reportingInstance: 'svcplane-node-a',
      action: 'Validate',
      reason: 'InvalidService',
      note: 'spec.ports[0].port: out of range',
      type: 'Warning',
      regarding: { kind: 'Service', apiVersion: 'v1', namespace: 'shop', name: 'bad' },
    };
    expect((await post(event)).status).toBe(201);
    expect(server.events).toHaveLength(1);
    const invalid = await post({ ...event, eventTime: '2026-12-04T05:10:00Z', reportingController: 'svcplane', type: 'Error' });
    expect(invalid.status).toBe(422);
    expect(String(invalid.body['message'])).toMatch(/eventTime.*reportingController.*type/);
    expect((await post({ ...event, regarding: { kind: 'Service', namespace: 'other', name: 'bad' } })).status).toBe(422);
    server.rejectEvents();
    expect((await post(event)).status).toBe(403);
    expect(server.events).toHaveLength(1);
  });
});
