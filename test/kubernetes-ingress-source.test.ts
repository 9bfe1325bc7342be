// The Ingress kinds' source against the fake API server over real HTTP (no
// nginx): lists paged by 500 with continue tokens, the TLS field selector,
// watch events after the first batch, invalid objects skipped with the last
// good version kept, and a relist after compaction diffed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceEvent } from '../src/sources/source.js';
import { buildKubeConfig } from '../src/sources/kubernetes-config.js';
import { KubernetesIngressSource } from '../src/sources/kubernetes-ingress-source.js';
import { FakeApiServer, type Json } from './lib/fake-apiserver/index.js';

function ingress(name: string, host: string, pathType = 'Prefix'): Json {
  return {
    metadata: { name, namespace: 'default' },
    spec: { rules: [{ host, http: { paths: [{ path: '/', pathType, backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  };
}

describe('KubernetesIngressSource', () => {
  let server: FakeApiServer;
  let source: KubernetesIngressSource | undefined;
  const batches: SourceEvent[][] = [];

  beforeEach(async () => {
    server = new FakeApiServer({ historyLimit: 20 });
    await server.start();
    batches.length = 0;
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await server.stop();
  });

  const start = async (recordEvents = true): Promise<void> => {
    source = new KubernetesIngressSource({ kubeConfig: buildKubeConfig({ master: server.url, env: {} }), nodeName: 'node-a', recordEvents, relistBackoff: { initialMs: 50, maxMs: 200 } });
    await source.start((batch) => batches.push([...batch]));
  };
  const events = (): SourceEvent[] => batches.flat();
  const until = async (what: string, condition: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('lists 501 Ingresses in two pages and delivers them in one first batch ending in synced', async () => {
    for (let i = 0; i < 501; i++) server.create('ingresses', ingress(`i${i}`, `h${i}.example`));
    await start();
    const first = batches[0] ?? [];
    expect(first.filter((e) => e.type === 'ingress-upsert')).toHaveLength(501);
    expect(first.at(-1)).toEqual({ type: 'synced' });
    const lists = server.requests.filter((r) => r.path === '/apis/networking.k8s.io/v1/ingresses' && !r.watch);
    expect(lists.map((r) => [r.query['limit'], r.query['continue'] === undefined])).toEqual([['500', true], ['500', false]]);
    await until('the watches to be established', () => source?.status().healthy === true);
  });

  it('watches changes, skips an invalid edit keeping the last good version, and only sees TLS Secrets', async () => {
    server.create('ingresses', ingress('web', 'web.example'));
    server.create('secrets', { metadata: { name: 'opaque', namespace: 'default' }, type: 'Opaque', data: { x: 'eA==' } });
    await start();
    expect(events().filter((e) => e.type === 'secret-upsert')).toEqual([]);
    server.update('ingresses', ingress('web', 'web.example', 'Sometimes'));
    await until('the invalid edit', () => events().some((e) => e.type === 'invalid'));
    expect(events().filter((e) => e.type === 'ingress-delete')).toEqual([]);
    server.update('ingresses', ingress('web', 'moved.example'));
    await until('the fixed edit', () => events().some((e) => e.type === 'ingress-upsert' && e.ingress.rules[0]?.host === 'moved.example'));
    server.create('ingressclasses', { metadata: { name: 'mine' }, spec: { controller: 'svcplane.io/ingress' } });
    await until('the IngressClass', () => events().some((e) => e.type === 'ingress-class-upsert' && e.ingressClass.name === 'mine'));
    expect(server.requests.filter((r) => r.path === '/api/v1/secrets').every((r) => r.query['fieldSelector'] === 'type=kubernetes.io/tls')).toBe(true);
  });

  it('relists after compaction and delivers only the difference', async () => {
    server.create('ingresses', ingress('a', 'a.example'));
    server.create('ingresses', ingress('b', 'b.example'));
    await start();
    const before = events().length;
    // Cut first: the deletion is then only in the store, and its history is compacted away.
    server.dropWatches();
    server.delete('ingresses', 'default', 'a');
    server.compact();
    await until('the deletion after the relist', () => events().slice(before).some((e) => e.type === 'ingress-delete' && e.name === 'a'));
    expect(events().slice(before).filter((e) => e.type === 'ingress-upsert')).toEqual([]);
    expect(server.requests.filter((r) => r.path === '/apis/networking.k8s.io/v1/ingresses' && !r.watch)).toHaveLength(2);
  });

  it('posts one Warning Event per invalid Ingress and reason, again only once it was fixed and broke again, or was recreated', async () => {
    const warnings = (): Json[] => server.events.filter((e) => (e['regarding'] as Json)['kind'] === 'Ingress');
    server.create('ingresses', ingress('good', 'good.example'));
    server.create('ingresses', ingress('bad', 'bad.example', 'Sometimes'));
    await start();
    await until('the first Event', () => warnings().length === 1);
    expect(warnings()[0]).toMatchObject({
      type: 'Warning', reason: 'InvalidIngress', action: 'Validate', reportingController: 'svcplane.io/svcplane', reportingInstance: 'svcplane-node-a',
      metadata: { namespace: 'default' },
      regarding: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'default', name: 'bad', uid: (server.store.get('ingresses', 'default', 'bad')?.['metadata'] as Json)['uid'] },
    });
    expect(String(warnings()[0]?.['note'])).toMatch(/^svcplane skips this Ingress: spec\.rules\[0\]\.http\.paths\[0\]\.pathType: /);

    // Another bad version, and a relist that sees it again: no second Event.
    server.update('ingresses', ingress('bad', 'bad2.example', 'Never'));
    await until('the second bad version', () => events().filter((e) => e.type === 'invalid').length >= 1);
    server.dropWatches();
    server.compact();
    server.create('ingresses', ingress('later', 'later.example'));
    await until('the relist', () => events().some((e) => e.type === 'ingress-upsert' && e.ingress.name === 'later'));
    await source?.settledEvents();
    expect(warnings()).toHaveLength(1);

    // Fixed, then broken again: news.
    server.update('ingresses', ingress('bad', 'bad.example'));
    await until('the fix', () => events().some((e) => e.type === 'ingress-upsert' && e.ingress.name === 'bad'));
    server.update('ingresses', ingress('bad', 'bad.example', 'Often'));
    await until('an Event for the new breakage', () => warnings().length === 2);

    // Deleted and recreated invalid (a new uid): its own Event.
    server.delete('ingresses', 'default', 'bad');
    server.create('ingresses', ingress('bad', 'bad.example', 'Rarely'));
    await until('an Event for the recreated Ingress', () => warnings().length === 3);
    expect((warnings()[2]?.['regarding'] as Json)['uid']).toBe((server.store.get('ingresses', 'default', 'bad')?.['metadata'] as Json)['uid']);
    expect(warnings().every((e) => (e['regarding'] as Json)['name'] === 'bad')).toBe(true);
  });

  it('posts no Event with recordEvents false', async () => {
    await start(false);
    server.create('ingresses', ingress('bad', 'bad.example', 'Sometimes'));
    await until('the invalid Ingress reported', () => events().some((e) => e.type === 'invalid'));
    await source?.settledEvents();
    expect(server.events).toEqual([]);
  });
});
