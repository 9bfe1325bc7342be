import { describe, expect, it } from 'vitest';
import { LABEL_SERVICE_PROXY_NAME } from '../model/types.js';
import { ObjectStore, changedServiceKeys } from './object-store.js';
import { makeEndpoint, makeService, makeSlice } from './test-builders.js';

describe('ObjectStore', () => {
  it('reports added, modified and deleted services', () => {
    const store = new ObjectStore();
    expect([...store.apply([{ type: 'service-upsert', service: makeService() }]).services]).toEqual(['default/web']);
    expect(store.getService('default/web')?.name).toBe('web');
    const modified = makeService({ clusterIPs: ['10.96.0.11'] });
    expect([...store.apply([{ type: 'service-upsert', service: modified }]).services]).toEqual(['default/web']);
    expect(store.getService('default/web')?.clusterIPs).toEqual(['10.96.0.11']);
    const del = store.apply([{ type: 'service-delete', namespace: 'default', name: 'web' }]);
    expect([...del.services]).toEqual(['default/web']);
    expect(store.getService('default/web')).toBeUndefined();
    expect(store.apply([{ type: 'service-delete', namespace: 'default', name: 'web' }]).services.size).toBe(0);
  });

  it('treats structurally identical re-upserts as no change', () => {
    const store = new ObjectStore();
    store.apply([
      { type: 'service-upsert', service: makeService() },
      { type: 'slice-upsert', slice: makeSlice() },
      { type: 'node-upsert', node: { name: 'n1', addresses: [], zone: 'a', labels: {} } },
    ]);
    // Fresh objects, same content: as a relist delivers them.
    const again = store.apply([
      { type: 'service-upsert', service: makeService() },
      { type: 'slice-upsert', slice: makeSlice() },
      { type: 'node-upsert', node: { name: 'n1', addresses: [], zone: 'a', labels: {} } },
    ]);
    expect(again.services.size + again.endpoints.size + again.nodes.size).toBe(0);
    const changedEp = store.apply([
      { type: 'slice-upsert', slice: makeSlice({ endpoints: [makeEndpoint('10.0.0.1', { ready: false })] }) },
    ]);
    expect([...changedEp.endpoints]).toEqual(['default/web']);
    expect(changedEp.services.size).toBe(0);
  });

  it('indexes slices by service and follows a slice moving to another service', () => {
    const store = new ObjectStore();
    store.apply([
      { type: 'slice-upsert', slice: makeSlice({ name: 'web-b' }) },
      { type: 'slice-upsert', slice: makeSlice({ name: 'web-a' }) },
    ]);
    expect(store.slicesForService('default/web').map((s) => s.name)).toEqual(['web-a', 'web-b']);
    const moved = store.apply([{ type: 'slice-upsert', slice: makeSlice({ name: 'web-a', serviceName: 'api' }) }]);
    expect([...moved.endpoints].sort()).toEqual(['default/api', 'default/web']);
    expect(store.slicesForService('default/web').map((s) => s.name)).toEqual(['web-b']);
    expect(store.slicesForService('default/api').map((s) => s.name)).toEqual(['web-a']);
    const del = store.apply([{ type: 'slice-delete', namespace: 'default', name: 'web-b' }]);
    expect([...del.endpoints]).toEqual(['default/web']);
    expect(store.slicesForService('default/web')).toEqual([]);
    expect(store.sliceCount).toBe(1);
  });

  it('ignores services labelled for another proxy, unless the label names this one', () => {
    const other = makeService({ labels: { [LABEL_SERVICE_PROXY_NAME]: 'other-proxy' } });
    const plain = new ObjectStore();
    expect(plain.apply([{ type: 'service-upsert', service: other }]).services.size).toBe(0);
    expect(plain.getService('default/web')).toBeUndefined();

    // An owned service gaining the label disappears.
    plain.apply([{ type: 'service-upsert', service: makeService() }]);
    expect([...plain.apply([{ type: 'service-upsert', service: other }]).services]).toEqual(['default/web']);
    expect(plain.getService('default/web')).toBeUndefined();

    const named = new ObjectStore({ serviceProxyName: 'other-proxy' });
    named.apply([{ type: 'service-upsert', service: other }]);
    expect(named.getService('default/web')).toBeDefined();
    named.apply([{ type: 'service-upsert', service: makeService({ labels: { [LABEL_SERVICE_PROXY_NAME]: 'third' } }) }]);
    expect(named.getService('default/web')).toBeUndefined();
  });

  it('sets hasSynced on synced and ignores invalid events', () => {
    const store = new ObjectStore();
    expect(store.hasSynced).toBe(false);
    const r = store.apply([{ type: 'invalid', errors: [] }]);
    expect(r.services.size + r.endpoints.size).toBe(0);
    expect(store.hasSynced).toBe(false);
    store.apply([{ type: 'synced' }]);
    expect(store.hasSynced).toBe(true);
  });

  it('tracks nodes', () => {
    const store = new ObjectStore();
    const node = { name: 'n1', addresses: [{ type: 'InternalIP', address: '192.0.2.1' }], zone: 'a', labels: {} };
    expect([...store.apply([{ type: 'node-upsert', node }]).nodes]).toEqual(['n1']);
    expect(store.getNode('n1')?.zone).toBe('a');
    expect([...store.apply([{ type: 'node-delete', name: 'n1' }]).nodes]).toEqual(['n1']);
    expect(store.getNode('n1')).toBeUndefined();
  });

  it('changedServiceKeys unions service and endpoint changes', () => {
    expect([...changedServiceKeys({ services: new Set(['a/x']), endpoints: new Set(['a/x', 'a/y']), nodes: new Set() })].sort()).toEqual([
      'a/x',
      'a/y',
    ]);
  });
});
