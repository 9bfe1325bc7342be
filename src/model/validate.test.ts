import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateObject } from './validate.js';

const service = (name: string, port: unknown = 80): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { clusterIP: '10.96.0.20', ports: [{ port }] },
});

describe('validateObject: dispatch', () => {
  it('validates a Service', () => {
    const result = validateObject(service('web'), 'a.yaml:1', 'team-a');
    expect(result.errors).toEqual([]);
    expect(result.ignored).toBe(false);
    expect(result.objects.map((o) => [o.kind, o.value.name])).toEqual([['Service', 'web']]);
    const [first] = result.objects;
    expect(first?.kind === 'Service' && first.value.namespace).toBe('team-a');
  });

  it('validates an EndpointSlice', () => {
    const result = validateObject({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'] }],
    });
    expect(result.errors).toEqual([]);
    expect(result.objects.map((o) => o.kind)).toEqual(['EndpointSlice']);
  });

  it('converts legacy Endpoints to slices', () => {
    const result = validateObject({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'my-service' },
      subsets: [{ addresses: [{ ip: '192.0.2.42' }, { ip: '2001:db8::42' }], ports: [{ port: 9376 }] }],
    });
    expect(result.errors).toEqual([]);
    expect(result.objects.map((o) => `${o.kind} ${o.value.name}`)).toEqual([
      'EndpointSlice my-service-endpoints-0-v4',
      'EndpointSlice my-service-endpoints-0-v6',
    ]);
  });

  it('validates a Node', () => {
    const result = validateObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
    expect(result.objects).toEqual([{ kind: 'Node', value: { name: 'node-a', addresses: [], zone: undefined, labels: {} } }]);
  });

  it.each([
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: 'anything' },
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
    { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 's' } },
    { apiVersion: 'v1', kind: 'PodList', items: [{ nonsense: true }] },
    null,
    undefined,
  ])('ignores %j', (raw) => {
    expect(validateObject(raw)).toEqual({ objects: [], errors: [], ignored: true });
  });

  it.each<[unknown, string, RegExp]>([
    [{ apiVersion: 'v1', metadata: { name: 'x' } }, 'kind', /required/],
    [{ apiVersion: 'v1', kind: 3, metadata: { name: 'x' } }, 'kind', /expected a string/],
    [{ kind: 'Service', metadata: { name: 'x' } }, 'apiVersion', /required/],
    [{ apiVersion: 'discovery.k8s.io/v1beta1', kind: 'EndpointSlice', metadata: { name: 'x' } }, 'apiVersion', /unsupported value "discovery.k8s.io\/v1beta1"/],
    [{ apiVersion: 'v2', kind: 'Service', metadata: { name: 'x' } }, 'apiVersion', /supported values: "v1"/],
    ['just a string', '<root>', /expected an object/],
    [[1, 2], '<root>', /expected an object, got a list/],
    [{ apiVersion: 'v1', kind: 'List', items: 'nope' }, 'items', /expected a list/],
  ])('reports %j', (raw, field, reason) => {
    const result = validateObject(raw, 'bad.yaml:4');
    expect(result.ignored).toBe(false);
    expect(result.objects).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.field).toBe(field);
    expect(result.errors[0]?.reason).toMatch(reason);
    expect(result.errors[0]?.source).toBe('bad.yaml:4');
  });

  it('names the object in a kind/apiVersion error', () => {
    const [error] = validateObject({ kind: 'Service', metadata: { name: 'web', namespace: 'prod' } }).errors;
    expect(error?.ref).toEqual({ kind: 'Service', namespace: 'prod', name: 'web' });
  });
});

describe('validateObject: lists', () => {
  it('expands a v1 List; a bad port does not prevent the other objects from validating', () => {
    const result = validateObject(
      { apiVersion: 'v1', kind: 'List', items: [service('good'), service('bad', 70000), { apiVersion: 'v1', kind: 'Pod' }, service('also-good')] },
      'list.yaml:1',
    );
    expect(result.ignored).toBe(false);
    expect(result.objects.map((o) => o.value.name)).toEqual(['good', 'also-good']);
    expect(result.errors.map((e) => `${e.ref.name} ${e.field}`)).toEqual(['bad spec.ports[0].port']);
  });

  it('expands typed lists whose items carry no kind (as the API returns them)', () => {
    const { kind: _kind, apiVersion: _apiVersion, ...item } = service('web');
    const result = validateObject({ apiVersion: 'v1', kind: 'ServiceList', items: [item] }, undefined, 'team-b');
    expect(result.errors).toEqual([]);
    expect(result.objects.map((o) => `${o.kind} ${o.value.name}`)).toEqual(['Service web']);
  });

  it('a list of ignored kinds is ignored', () => {
    expect(validateObject({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap' }] }).ignored).toBe(true);
  });
});

describe('validateObject: YAML streams', () => {
  it('validates each document independently', () => {
    const text = [
      'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}',
      '# only a comment',
      'apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: "80", protocol: SCTPX}]}',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}',
      'apiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}',
    ].join('\n---\n');
    const results = parseAllDocuments(text).map((doc, i) => {
      if (!('toJS' in doc)) throw new Error('not a document');
      return validateObject(doc.toJS(), `stream.yaml#${i}`);
    });
    expect(results.map((r) => r.ignored)).toEqual([false, true, false, true, false]);
    expect(results.flatMap((r) => r.objects.map((o) => o.value.name))).toEqual(['a', 'c']);
    expect(results.flatMap((r) => r.errors.map((e) => e.message))).toEqual([
      'stream.yaml#2: Service default/b: spec.ports[0].protocol: unsupported value "SCTPX": supported values: "TCP", "UDP", "SCTP"',
      'stream.yaml#2: Service default/b: spec.ports[0].port: expected an integer, got string "80"',
    ]);
  });
});

describe('validateObject: hostile input', () => {
  it('treats Object.prototype names as ordinary strings', () => {
    expect(validateObject({ apiVersion: 'v1', kind: 'constructor' }).ignored).toBe(true);
    expect(validateObject({ apiVersion: 'v1', kind: 'toStringList', items: [1] }).ignored).toBe(true);
    const result = validateObject({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: JSON.parse('{"__proto__": "x"}') as unknown },
      spec: { ports: [{ port: 80, protocol: 'constructor' }], externalTrafficPolicy: 'toString' },
    });
    expect(result.errors.map((e) => e.field)).toEqual(['spec.ports[0].protocol', 'spec.externalTrafficPolicy']);
  });

  it('keeps a "__proto__" label as data', () => {
    const result = validateObject({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n', labels: JSON.parse('{"__proto__": "x"}') as unknown },
    });
    const [node] = result.objects;
    expect(node?.kind === 'Node' && Object.keys(node.value.labels)).toEqual(['__proto__']);
  });
});

describe('Namespace', () => {
  it('is read with its name (cluster-scoped: a namespace in its metadata is ignored)', () => {
    expect(validateObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quiet', namespace: 'x' } }).objects).toEqual([{ kind: 'Namespace', value: { name: 'quiet' } }]);
  });

  it('names the object and field of a bad name', () => {
    const r = validateObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Not_A_Label' } }, 'ns.yaml:1');
    expect(r.objects).toEqual([]);
    expect(r.errors.map((e) => `${e.ref.kind} ${e.ref.name} ${e.field}`)).toEqual(['Namespace Not_A_Label metadata.name']);
  });
});
