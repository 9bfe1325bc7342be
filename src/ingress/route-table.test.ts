import { describe, expect, it } from 'vitest';
import type { Ingress } from '../model/ingress-types.js';
import type { Service } from '../model/types.js';
import { validateObject } from '../model/validate.js';
import { makeService } from '../state/test-builders.js';
import { buildRouteTable, type RouteTable } from './route-table.js';
import type { ServiceLookup } from './upstreams.js';

interface PathSpec {
  readonly path: string;
  readonly pathType?: string;
  readonly service?: string;
}

function ing(name: string, host: string | undefined, paths: readonly PathSpec[], extra: { created?: string; annotations?: Record<string, string>; spec?: object } = {}): Ingress {
  const raw = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default', annotations: extra.annotations ?? {}, ...(extra.created ? { creationTimestamp: extra.created } : {}) },
    spec: {
      ...(paths.length > 0 ? { rules: [{ ...(host ? { host } : {}), http: { paths: paths.map((p) => ({ path: p.path, pathType: p.pathType ?? 'Prefix', backend: { service: { name: p.service ?? 'web', port: { number: 80 } } } })) } }] } : {}),
      ...extra.spec,
    },
  };
  const result = validateObject(raw);
  const object = result.objects[0];
  if (object?.kind !== 'Ingress') throw new Error(result.errors.map((e) => e.message).join('; '));
  return object.value;
}

const services = new Map<string, Service>(
  ['web', 'api', 'old', 'new', 'fallback'].map((name, i) => [`default/${name}`, makeService({ name, clusterIPs: [`10.96.0.${i + 10}`], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 }] })]),
);
const lookup: ServiceLookup = { service: (key) => services.get(key), slices: () => [] };

function table(ingresses: readonly Ingress[]): RouteTable {
  return buildRouteTable(ingresses, lookup, { secret: () => undefined });
}

function routesOf(t: RouteTable, host: string): string[] {
  return (t.servers.find((s) => s.host === host)?.routes ?? []).map((r) => `${r.match} ${r.path} -> ${r.upstream ?? '503'}`);
}

describe('route table', () => {
  it('orders Exact before Prefix, then the longest path, whatever the YAML order', () => {
    const t = table([ing('a', 'x.com', [{ path: '/' }, { path: '/foo', service: 'api' }, { path: '/foo', pathType: 'Exact', service: 'old' }, { path: '/foo/bar/', service: 'new' }])]);
    expect(routesOf(t, 'x.com')).toEqual([
      'exact /foo -> cip_default_old_80',
      'prefix /foo/bar -> cip_default_new_80',
      'prefix /foo -> cip_default_api_80',
      'prefix / -> cip_default_web_80',
    ]);
  });

  it('merges several Ingresses of one host; the oldest wins a conflict, which is reported', () => {
    const older = ing('older', 'x.com', [{ path: '/app', service: 'old' }], { created: '2024-01-01T00:00:00Z' });
    const newer = ing('newer', 'x.com', [{ path: '/app/', service: 'new' }, { path: '/other', service: 'new' }], { created: '2025-01-01T00:00:00Z' });
    for (const order of [[older, newer], [newer, older]]) {
      const t = table(order);
      expect(routesOf(t, 'x.com')).toEqual(['prefix /other -> cip_default_new_80', 'prefix /app -> cip_default_old_80']);
      expect(t.problems.map((p) => p.message)).toEqual([
        'Ingress default/newer: spec.rules[0].http.paths[0].path: prefix path "/app" on x.com is already routed by Ingress default/older (the oldest wins); left out',
      ]);
    }
  });

  it('without creation times, namespace/name decides, deterministically', () => {
    const t = table([ing('b', undefined, [{ path: '/', service: 'new' }]), ing('a', undefined, [{ path: '/', service: 'old' }])]);
    expect(routesOf(t, '')).toEqual(['prefix / -> cip_default_old_80']);
    expect(t.problems).toHaveLength(1);
  });

  it('reports a missing service or port and leaves that path out; the rest keeps routing', () => {
    const t = table([ing('a', 'x.com', [{ path: '/gone', service: 'missing' }, { path: '/ok' }]), ing('b', 'y.com', [{ path: '/' }])]);
    expect(routesOf(t, 'x.com')).toEqual(['prefix /ok -> cip_default_web_80']);
    expect(routesOf(t, 'y.com')).toEqual(['prefix / -> cip_default_web_80']);
    expect(t.problems.map((p) => p.message)).toEqual(['Ingress default/a: spec.rules[0].http.paths[0].backend: service default/missing not found; left out']);
  });

  it('the oldest default backend wins; the others are reported', () => {
    const t = table([
      ing('b', undefined, [], { created: '2025-01-01T00:00:00Z', spec: { defaultBackend: { service: { name: 'new', port: { number: 80 } } } } }),
      ing('a', undefined, [], { created: '2024-01-01T00:00:00Z', spec: { defaultBackend: { service: { name: 'old', port: { number: 80 } } } } }),
    ]);
    expect(t.defaultUpstream).toBe('cip_default_old_80');
    expect(t.problems.map((p) => p.field)).toEqual(['spec.defaultBackend']);
  });

  it('falls back to the --default-backend, else none (a built-in 404)', () => {
    const withFlag = buildRouteTable([], lookup, { secret: () => undefined, defaultBackend: { namespace: 'default', backend: { service: 'fallback', port: 80 } } });
    expect(withFlag.defaultUpstream).toBe('cip_default_fallback_80');
    expect(table([]).defaultUpstream).toBeUndefined();
  });

  it('a regex Ingress turns its host into a regex server; literal prefixes stay element-wise', () => {
    const t = table([ing('r', 'x.com', [{ path: '/api/v[0-9]+', pathType: 'ImplementationSpecific', service: 'api' }], { annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' } }), ing('p', 'x.com', [{ path: '/static' }])]);
    const server = t.servers.find((s) => s.host === 'x.com');
    expect(server?.regex).toBe(true);
    expect(routesOf(t, 'x.com')).toEqual(['regex /api/v[0-9]+ -> cip_default_api_80', 'prefix /static -> cip_default_web_80']);
  });

  it('uses endpoints directly with service-upstream "false"', () => {
    const t = buildRouteTable([ing('a', 'x.com', [{ path: '/' }], { annotations: { 'nginx.ingress.kubernetes.io/service-upstream': 'false' } })], lookup, { secret: () => undefined });
    expect(routesOf(t, 'x.com')).toEqual(['prefix / -> 503']);
    expect(t.upstreams.get('ep_default_web_80')?.servers).toEqual([]);
  });

  it('a TLS host without a Secret serves the default certificate and is reported', () => {
    const t = table([ing('a', 'x.com', [{ path: '/' }], { spec: { tls: [{ hosts: ['x.com'], secretName: 'nope' }] } })]);
    const server = t.servers.find((s) => s.host === 'x.com');
    expect(server?.tls).toEqual({ secret: undefined });
    expect(server?.routes[0]?.sslRedirect).toBe(true);
    expect(t.problems.map((p) => p.message)).toEqual([
      'Ingress default/a: spec.tls[0].secretName: Secret default/nope is missing or not a valid kubernetes.io/tls Secret; serving the default certificate',
    ]);
  });

  it('ssl-redirect "false" keeps plain HTTP', () => {
    const t = table([ing('a', 'x.com', [{ path: '/' }], { annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }, spec: { tls: [{ hosts: ['x.com'] }] } })]);
    expect(t.servers.find((s) => s.host === 'x.com')?.routes[0]?.sslRedirect).toBe(false);
  });
});
