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

  const start = async (): Promise<void> => {
    source = new KubernetesIngressSource({ kubeConfig: buildKubeConfig({ master: server.url, env: {} }), relistBackoff: { initialMs: 50, maxMs: 200 } });
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
});
