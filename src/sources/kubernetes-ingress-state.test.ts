import { describe, expect, it } from 'vitest';
import { KubernetesIngressState } from './kubernetes-ingress-state.js';

function ingress(name: string, rv: string, host: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { name, namespace: 'default', resourceVersion: rv },
    spec: { rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    ...extra,
  };
}

describe('KubernetesIngressState', () => {
  it('reads listed Ingresses (no apiVersion in list items) as v1, and skips the same resourceVersion', () => {
    const state = new KubernetesIngressState();
    const first = state.replace('Ingress', [ingress('a', '1', 'a.example')]);
    expect(first.errors).toEqual([]);
    expect(first.events).toMatchObject([{ type: 'ingress-upsert', ingress: { name: 'a', rules: [{ host: 'a.example' }] } }]);
    expect(state.upsert('Ingress', ingress('a', '1', 'a.example')).events).toEqual([]);
  });

  it('keeps the last good version of an Ingress that turns invalid, and diffs a relist', () => {
    const state = new KubernetesIngressState();
    state.replace('Ingress', [ingress('a', '1', 'a.example'), ingress('b', '2', 'b.example')]);
    const bad = state.upsert('Ingress', ingress('a', '3', 'a.example', { spec: { rules: [{ host: 'a.example', http: { paths: [{ path: '/', pathType: 'Sometimes', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } }));
    expect(bad.events).toEqual([]);
    expect(bad.errors.map((e) => e.message).join()).toMatch(/Ingress default\/a.*pathType/);
    expect(state.count('Ingress')).toBe(2);
    const relist = state.replace('Ingress', [ingress('b', '2', 'b.example'), ingress('c', '4', 'c.example')]);
    expect(relist.events.map((e) => e.type)).toEqual(['ingress-upsert', 'ingress-delete']);
    expect(state.snapshot().map((e) => (e.type === 'ingress-upsert' ? e.ingress.name : ''))).toEqual(['b', 'c']);
  });

  it('keeps every Ingress\'s resourceVersion and status for the status writer, valid or not', () => {
    const state = new KubernetesIngressState();
    state.replace('Ingress', [ingress('a', '7', 'a.example', { status: { loadBalancer: { ingress: [{ ip: '10.0.0.5' }] } } }), ingress('bad', '8', 'Not A Host')]);
    expect([...state.ingressObjects()].map((o) => [o.name, o.resourceVersion, o.loadBalancer])).toEqual([
      ['a', '7', [{ ip: '10.0.0.5' }]],
      ['bad', '8', []],
    ]);
  });

  it('drops a Secret that is no longer of type kubernetes.io/tls', () => {
    const state = new KubernetesIngressState();
    const invalid = state.upsert('Secret', { metadata: { name: 's', namespace: 'default', resourceVersion: '1' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } });
    expect(invalid.errors.length).toBeGreaterThan(0);
    expect(state.upsert('Secret', { metadata: { name: 's', namespace: 'default', resourceVersion: '2' }, type: 'Opaque' })).toEqual({ events: [], errors: [], cleared: [] });
  });
});
