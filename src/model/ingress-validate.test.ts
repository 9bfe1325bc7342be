import { describe, expect, it } from 'vitest';
import type { Ingress } from './ingress-types.js';
import { validateObject } from './validate.js';

function ingress(spec: unknown, annotations: Record<string, string> = {}, apiVersion = 'networking.k8s.io/v1'): unknown {
  return { apiVersion, kind: 'Ingress', metadata: { name: 'web', namespace: 'shop', annotations }, spec };
}

function valid(raw: unknown): Ingress {
  const result = validateObject(raw, 'ing.yaml:1');
  expect(result.errors.map((e) => e.message)).toEqual([]);
  const [object] = result.objects;
  if (object?.kind !== 'Ingress') throw new Error('no Ingress');
  return object.value;
}

function errorsOf(raw: unknown): string[] {
  const result = validateObject(raw, 'ing.yaml:1');
  expect(result.objects).toEqual([]);
  return result.errors.map((e) => `${e.ref.kind} ${e.ref.namespace}/${e.ref.name} ${e.field}: ${e.reason}`);
}

const v1Path = (path: string, pathType = 'Prefix', service = 'web', port: unknown = { number: 80 }): unknown => ({ path, pathType, backend: { service: { name: service, port } } });

describe('Ingress validation', () => {
  it('reads a v1 Ingress with class, TLS, a default backend and named ports', () => {
    const value = valid({
      ...(ingress({
        ingressClassName: 'svcplane',
        defaultBackend: { service: { name: 'fallback', port: { name: 'http' } } },
        tls: [{ hosts: ['*.example.com'], secretName: 'wild' }],
        rules: [{ host: 'a.example.com', http: { paths: [v1Path('/api', 'Exact'), v1Path('/', 'Prefix', 'web', { name: 'http' })] } }],
      }) as object),
    });
    expect(value).toMatchObject({
      ingressClassName: 'svcplane',
      defaultBackend: { service: 'fallback', port: 'http' },
      tls: [{ hosts: ['*.example.com'], secretName: 'wild', field: 'spec.tls[0]' }],
      rules: [{ host: 'a.example.com', paths: [{ path: '/api', pathType: 'Exact', backend: { service: 'web', port: 80 } }, { path: '/', pathType: 'Prefix', backend: { service: 'web', port: 'http' } }] }],
    });
  });

  it('converts the legacy shape: serviceName/servicePort, spec.backend, optional pathType and path', () => {
    const value = valid(
      ingress(
        { backend: { serviceName: 'testsvc', servicePort: 80 }, rules: [{ http: { paths: [{ backend: { serviceName: 'a', servicePort: 'http' } }] } }] },
        { 'kubernetes.io/ingress.class': 'svcplane' },
        'extensions/v1beta1',
      ),
    );
    expect(value.defaultBackend).toEqual({ service: 'testsvc', port: 80 });
    expect(value.ingressClassName).toBe('svcplane');
    expect(value.rules).toEqual([{ host: '', field: 'spec.rules[0]', paths: [{ path: '/', pathType: 'ImplementationSpecific', backend: { service: 'a', port: 'http' }, field: 'spec.rules[0].http.paths[0]' }] }]);
  });

  it('rewrite-target makes paths regular expressions, as in ingress-nginx', () => {
    const value = valid(ingress({ rules: [{ http: { paths: [v1Path('/something(/|$)(.*)', 'ImplementationSpecific')] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' }));
    expect(value.options).toEqual({ useRegex: true, rewriteTarget: '/$2', appRoot: undefined, sslRedirect: undefined, serviceUpstream: undefined });
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown pathType', ingress({ rules: [{ http: { paths: [v1Path('/a', 'Regex')] } }] }), /spec\.rules\[0\]\.http\.paths\[0\]\.pathType: unsupported value "Regex"/],
    ['a v1 path without pathType', ingress({ rules: [{ http: { paths: [{ path: '/a', backend: { service: { name: 'w', port: { number: 1 } } } }] } }] }), /pathType: required value/],
    ['a relative path', ingress({ rules: [{ http: { paths: [v1Path('a')] } }] }), /path: invalid value "a": must be an absolute path/],
    ['a ; in a path', ingress({ rules: [{ http: { paths: [v1Path('/a;return 200 x')] } }] }), /path: invalid value .*may contain only/],
    ['a { in a path', ingress({ rules: [{ http: { paths: [v1Path('/a{')] } }] }), /path: invalid value .*may contain only/],
    ['a } in a path', ingress({ rules: [{ http: { paths: [v1Path('/a}')] } }] }), /path: invalid value .*may contain only/],
    ['a quote in a path', ingress({ rules: [{ http: { paths: [v1Path('/a"')] } }] }), /path: invalid value .*may contain only/],
    ['a $ in a path', ingress({ rules: [{ http: { paths: [v1Path('/$host')] } }] }), /path: invalid value .*may contain only/],
    ['a newline in a regex path', ingress({ rules: [{ http: { paths: [v1Path('/a\n}', 'ImplementationSpecific')] } }] }, { 'nginx.ingress.kubernetes.io/use-regex': 'true' }), /control characters/],
    ['an invalid regex', ingress({ rules: [{ http: { paths: [v1Path('/a(', 'ImplementationSpecific')] } }] }, { 'nginx.ingress.kubernetes.io/use-regex': 'true' }), /not a valid regular expression/],
    ['a rewrite target reading a variable', ingress({ rules: [{ http: { paths: [v1Path('/a')] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$host' }), /rewrite-target\]: invalid value "\/\$host"/],
    ['a rewrite target with a ;', ingress({ rules: [{ http: { paths: [v1Path('/a')] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/; return 200' }), /rewrite-target\]: invalid value/],
    ['a capture the path does not have', ingress({ rules: [{ http: { paths: [v1Path('/a(.*)', 'ImplementationSpecific')] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' }), /uses \$2 but "\/a\(\.\*\)" has 1 capture groups/],
    ['an app-root with a $', ingress({ rules: [{ http: { paths: [v1Path('/a')] } }] }, { 'nginx.ingress.kubernetes.io/app-root': '/$request_uri' }), /app-root\]: invalid value/],
    ['a boolean annotation that is not', ingress({ rules: [{ http: { paths: [v1Path('/a')] } }] }, { 'nginx.ingress.kubernetes.io/use-regex': 'yes' }), /use-regex\]: unsupported value "yes"/],
    ['a host with a ;', ingress({ rules: [{ host: 'a.com;', http: { paths: [v1Path('/')] } }] }), /spec\.rules\[0\]\.host: invalid value "a\.com;"/],
    ['a wildcard inside a host', ingress({ rules: [{ host: 'a.*.com', http: { paths: [v1Path('/')] } }] }), /wildcard must be the whole first label/],
    ['an IP as host', ingress({ rules: [{ host: '10.0.0.1', http: { paths: [v1Path('/')] } }] }), /must be a DNS name, not an IP address/],
    ['a resource backend', ingress({ defaultBackend: { resource: { kind: 'Bucket', name: 'b' } } }), /spec\.defaultBackend\.resource: resource backends are not supported/],
    ['a port both named and numbered', ingress({ rules: [{ http: { paths: [v1Path('/', 'Prefix', 'w', { name: 'http', number: 80 })] } }] }), /may not specify both name and number/],
    ['a port out of range', ingress({ rules: [{ http: { paths: [v1Path('/', 'Prefix', 'w', { number: 70000 })] } }] }), /port: invalid value 70000/],
    ['a service name with a quote', ingress({ rules: [{ http: { paths: [v1Path('/', 'Prefix', 'w"x')] } }] }), /backend\.service\.name: invalid value "w\\"x"/],
    ['neither rules nor default backend', ingress({}), /spec: either spec.defaultBackend or spec.rules must be specified/],
    ['an unsupported apiVersion', { apiVersion: 'networking.k8s.io/v2', kind: 'Ingress', metadata: { name: 'x' } }, /apiVersion: unsupported value "networking.k8s.io\/v2"/],
  ])('reports %s, naming the object and field', (_what, raw, reason) => {
    const errors = errorsOf(raw);
    expect(errors.join('\n')).toMatch(reason);
    expect(errors[0]).toMatch(/^Ingress (shop\/web|default\/x) /);
  });
});

describe('IngressClass validation', () => {
  it('reads the controller and the default-class annotation', () => {
    const result = validateObject({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'svcplane', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'svcplane.io/ingress' },
    });
    expect(result.objects).toEqual([{ kind: 'IngressClass', value: { name: 'svcplane', controller: 'svcplane.io/ingress', isDefault: true } }]);
  });

  it('reports a missing controller', () => {
    const result = validateObject({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'x' }, spec: {} });
    expect(result.errors.map((e) => e.message)).toEqual(['IngressClass x: spec.controller: required value']);
  });
});
