import { describe, expect, it } from 'vitest';
import type { Ingress } from '../model/ingress-types.js';
import { IngressStore } from './ingress-store.js';

function ingress(name: string, ingressClassName: string | undefined): Ingress {
  return {
    namespace: 'default', name, ingressClassName, defaultBackend: { service: 'web', port: 80 }, rules: [], tls: [], createdAt: undefined, annotations: {},
    options: { useRegex: false, rewriteTarget: undefined, appRoot: undefined, sslRedirect: undefined, serviceUpstream: undefined },
  };
}

function served(store: IngressStore, watchWithoutClass: boolean): string[] {
  return store.served({ className: 'svcplane', watchWithoutClass }).map((i) => i.name).sort();
}

describe('IngressStore class selection', () => {
  const store = new IngressStore();
  store.apply([
    { type: 'ingress-upsert', ingress: ingress('ours-by-name', 'svcplane') },
    { type: 'ingress-upsert', ingress: ingress('ours-by-controller', 'edge') },
    { type: 'ingress-upsert', ingress: ingress('theirs', 'nginx') },
    { type: 'ingress-upsert', ingress: ingress('classless', undefined) },
    { type: 'ingress-class-upsert', ingressClass: { name: 'edge', controller: 'svcplane.io/ingress', isDefault: false } },
    { type: 'ingress-class-upsert', ingressClass: { name: 'nginx', controller: 'k8s.io/ingress-nginx', isDefault: true } },
  ]);

  it('serves its class by name or by controller, and class-less Ingresses when asked to', () => {
    expect(served(store, true)).toEqual(['classless', 'ours-by-controller', 'ours-by-name']);
    expect(served(store, false)).toEqual(['ours-by-controller', 'ours-by-name']);
  });

  it('serves class-less Ingresses when its IngressClass is the default', () => {
    const s = new IngressStore();
    s.apply([
      { type: 'ingress-upsert', ingress: ingress('classless', undefined) },
      { type: 'ingress-class-upsert', ingressClass: { name: 'svcplane', controller: 'svcplane.io/ingress', isDefault: true } },
    ]);
    expect(served(s, false)).toEqual(['classless']);
  });

  it('reports no change for an identical upsert, a change for a delete', () => {
    expect(store.apply([{ type: 'ingress-upsert', ingress: ingress('theirs', 'nginx') }])).toBe(false);
    expect(store.apply([{ type: 'ingress-delete', namespace: 'default', name: 'theirs' }])).toBe(true);
  });
});
