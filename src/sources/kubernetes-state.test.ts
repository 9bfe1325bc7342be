import { describe, expect, it } from 'vitest';
import { LABEL_HEADLESS, LABEL_SERVICE_PROXY_NAME } from '../model/types.js';
import { KubernetesState, type StateChange } from './kubernetes-state.js';

function service(name: string, rv: string, opts: { port?: number; labels?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    metadata: { name, namespace: 'default', resourceVersion: rv, ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: opts.port ?? 80, protocol: 'TCP', targetPort: 8080 }] },
  };
}

function slice(name: string, rv: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    metadata: { name, namespace: 'default', resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'web', ...labels } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.0.1'] }],
    ports: [{ port: 8080, protocol: 'TCP', name: '' }],
  };
}

function node(name: string, rv: string): Record<string, unknown> {
  return { metadata: { name, resourceVersion: rv }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.1' }] } };
}

function kinds(change: StateChange): string[] {
  return change.events.map((e) => {
    switch (e.type) {
      case 'service-upsert':
        return `${e.type} ${e.service.name}:${e.service.ports[0]?.port}`;
      case 'slice-upsert':
        return `${e.type} ${e.slice.name}`;
      case 'node-upsert':
        return `${e.type} ${e.node.name}`;
      case 'service-delete':
      case 'slice-delete':
      case 'node-delete':
        return `${e.type} ${e.name}`;
      default:
        return e.type;
    }
  });
}

describe('KubernetesState', () => {
  it('processes each resourceVersion once: the same version again is no change and no new report', () => {
    const state = new KubernetesState({ nodeName: 'n1' });
    expect(kinds(state.upsert('Service', service('web', '5')))).toEqual(['service-upsert web:80']);
    expect(kinds(state.upsert('Service', service('web', '5')))).toEqual([]);
    const bad = state.upsert('Service', service('web', '6', { port: 0 }));
    expect(bad.events).toEqual([]);
    expect(bad.errors.map((e) => `${e.source}: ${e.ref.name} ${e.field}`)).toEqual(['kubernetes: web spec.ports[0].port']);
    expect(bad.kept).toEqual(['Service/default/web']);
    expect(state.upsert('Service', service('web', '6', { port: 0 })).errors).toEqual([]);
    expect(state.upsert('Service', service('web', '7', { port: 0 })).errors).toHaveLength(1);
    expect(state.snapshot().map((e) => e.type === 'service-upsert' && e.service.ports[0]?.port)).toEqual([80]);
  });

  it('delivers nothing for a new version that changes nothing in the model', () => {
    const state = new KubernetesState({ nodeName: 'n1' });
    state.upsert('Service', service('web', '5'));
    expect(state.upsert('Service', service('web', '9')).events).toEqual([]);
    expect(kinds(state.upsert('Service', service('web', '10', { port: 81 })))).toEqual(['service-upsert web:81']);
  });

  it('diffs a relist against what was delivered', () => {
    const state = new KubernetesState({ nodeName: 'n1' });
    state.replace('Service', [service('a', '1'), service('b', '2'), service('c', '3'), service('bad', '4', { port: 0 })]);
    const change = state.replace('Service', [service('a', '1'), service('c', '8', { port: 81 }), service('d', '9')]);
    expect(kinds(change)).toEqual(['service-upsert c:81', 'service-upsert d:80', 'service-delete b']);
    expect(change.errors).toEqual([]);
    // 'bad' vanished without ever being delivered: nothing to delete, and it is forgotten.
    expect(state.upsert('Service', service('bad', '4', { port: 0 })).errors).toHaveLength(1);
  });

  it('ignores other proxies, headless objects and other nodes; deletes what becomes ignored', () => {
    const state = new KubernetesState({ nodeName: 'n1' });
    expect(state.upsert('Service', service('x', '1', { labels: { [LABEL_SERVICE_PROXY_NAME]: 'svcplane' } })).events).toEqual([]);
    expect(state.upsert('EndpointSlice', slice('h', '2', { [LABEL_HEADLESS]: '' })).events).toEqual([]);
    expect(kinds(state.upsert('EndpointSlice', slice('s', '3')))).toEqual(['slice-upsert s']);
    expect(kinds(state.upsert('EndpointSlice', slice('s', '4', { [LABEL_SERVICE_PROXY_NAME]: 'other' })))).toEqual(['slice-delete s']);
    expect(state.upsert('Node', node('n2', '5')).events).toEqual([]);
    expect(kinds(state.upsert('Node', node('n1', '6')))).toEqual(['node-upsert n1']);
    expect(kinds(state.remove('Node', node('n1', '7')))).toEqual(['node-delete n1']);

    const named = new KubernetesState({ nodeName: 'n1', serviceProxyName: 'svcplane' });
    expect(kinds(named.upsert('Service', service('x', '1', { labels: { [LABEL_SERVICE_PROXY_NAME]: 'svcplane' } })))).toEqual(['service-upsert x:80']);
    expect(named.upsert('Service', service('y', '2', { labels: { [LABEL_SERVICE_PROXY_NAME]: 'other' } })).events).toEqual([]);
  });

  it('orders the first batch nodes, services, slices', () => {
    const state = new KubernetesState({ nodeName: 'n1' });
    state.upsert('EndpointSlice', slice('s', '1'));
    state.upsert('Service', service('b', '2'));
    state.upsert('Service', service('a', '3'));
    state.upsert('Node', node('n1', '4'));
    expect(state.snapshot().map((e) => e.type)).toEqual(['node-upsert', 'service-upsert', 'service-upsert', 'slice-upsert']);
    expect(state.count('Service')).toBe(2);
  });

  it('lists as cleared every object seen valid (also a revert to the version in force) or no longer ours', () => {
    const state = new KubernetesState({ nodeName: 'node-a', serviceProxyName: 'svcplane' });
    expect(state.upsert('Service', service('web', '1')).cleared).toEqual(['default/web']);
    const bad = state.upsert('Service', service('web', '2', { port: 70000 }));
    expect([bad.cleared, bad.kept, bad.errors.length]).toEqual([[], ['Service/default/web'], 1]);
    const revert = state.upsert('Service', service('web', '3'));
    expect([revert.events, revert.cleared]).toEqual([[], ['default/web']]);
    expect(state.upsert('Service', service('web', '3')).cleared).toEqual([]);
    expect(state.upsert('Service', service('web', '4', { labels: { [LABEL_SERVICE_PROXY_NAME]: 'other' } })).cleared).toEqual(['default/web']);
  });
});
