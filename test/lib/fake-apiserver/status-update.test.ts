// The fake's status subresource behaves as kube-apiserver's: only status is
// taken, a stale resourceVersion is a 409, and watchers see the update.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeApiServer, type Json } from './index.js';

describe('fake API server: PUT NAME/status', () => {
  let server: FakeApiServer;
  beforeEach(async () => {
    server = new FakeApiServer();
    await server.start();
    server.create('ingresses', { metadata: { name: 'web', namespace: 'default' }, spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } });
  });
  afterEach(async () => server.stop());

  const put = (body: Json): Promise<Response> =>
    fetch(`${server.url}/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('replaces the status only, and a stale resourceVersion conflicts', async () => {
    const stored = server.store.get('ingresses', 'default', 'web') as Json;
    const rv = (stored['metadata'] as Json)['resourceVersion'];
    const ok = await put({ ...stored, spec: { changed: true }, status: { loadBalancer: { ingress: [{ ip: '10.0.0.5' }] } } });
    expect(ok.status).toBe(200);
    const now = server.store.get('ingresses', 'default', 'web') as Json;
    expect(now['status']).toEqual({ loadBalancer: { ingress: [{ ip: '10.0.0.5' }] } });
    expect(now['spec']).toEqual(stored['spec']);
    expect((now['metadata'] as Json)['resourceVersion']).not.toBe(rv);
    const stale = await put({ ...stored, status: {} });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as Json)['reason']).toBe('Conflict');
  });

  it('answers 404 for an unknown object and 405 for other verbs on status', async () => {
    const missing = await fetch(`${server.url}/apis/networking.k8s.io/v1/namespaces/default/ingresses/nope/status`, { method: 'PUT', body: '{}' });
    expect(missing.status).toBe(404);
    const get = await fetch(`${server.url}/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status`);
    expect(get.status).toBe(405);
  });
});
