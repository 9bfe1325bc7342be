import { describe, expect, it } from 'vitest';
import type { ValidationError } from './errors.js';
import type { Endpoint, EndpointPort, EndpointSlice } from './types.js';
import { validateEndpoints, validateEndpointSlice } from './validate-endpoints.js';

type Raw = Record<string, unknown>;

function slice(fields: Raw, metadata: Raw = {}): Raw {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc12', namespace: 'prod', labels: { 'kubernetes.io/service-name': 'web' }, ...metadata },
    addressType: 'IPv4',
    ...fields,
  };
}

function endpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    addresses: ['10.244.1.5'],
    ready: true,
    serving: true,
    terminating: false,
    nodeName: undefined,
    zone: undefined,
    hintsForZones: [],
    hintsForNodes: [],
    ...overrides,
  };
}

function expectedSlice(overrides: Partial<EndpointSlice> = {}): EndpointSlice {
  return {
    namespace: 'prod',
    name: 'web-abc12',
    serviceName: 'web',
    addressType: 'IPv4',
    endpoints: [],
    ports: [],
    origin: 'EndpointSlice',
    ...overrides,
  };
}

function errorsOf(result: { ok: true } | { ok: false; errors: readonly ValidationError[] }): readonly ValidationError[] {
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

describe('validateEndpointSlice: valid slices', () => {
  it.each<[string, Raw, Partial<EndpointSlice>]>([
    ['no endpoints, no ports', slice({}), {}],
    ['null endpoints and ports', slice({ endpoints: null, ports: null }), {}],
    [
      'conditions default: ready unset = true, serving follows ready, terminating false',
      slice({
        endpoints: [
          { addresses: ['10.244.1.5'] },
          { addresses: ['10.244.1.6'], conditions: { ready: false } },
          { addresses: ['10.244.1.7'], conditions: { ready: null, terminating: true, serving: false } },
          { addresses: ['10.244.1.8'], conditions: { ready: false, serving: true, terminating: true } },
        ],
      }),
      {
        endpoints: [
          endpoint(),
          endpoint({ addresses: ['10.244.1.6'], ready: false, serving: false }),
          endpoint({ addresses: ['10.244.1.7'], ready: true, serving: false, terminating: true }),
          endpoint({ addresses: ['10.244.1.8'], ready: false, serving: true, terminating: true }),
        ],
      },
    ],
    [
      'topology: node, zone, hints',
      slice({
        endpoints: [
          {
            addresses: ['10.244.2.9'],
            nodeName: 'node-b',
            zone: 'zone-b',
            hints: { forZones: [{ name: 'zone-b' }, { name: 'zone-c' }], forNodes: [{ name: 'node-b' }] },
            hostname: 'pod-1',
            targetRef: { kind: 'Pod', name: 'web-1' },
          },
        ],
      }),
      {
        endpoints: [
          endpoint({ addresses: ['10.244.2.9'], nodeName: 'node-b', zone: 'zone-b', hintsForZones: ['zone-b', 'zone-c'], hintsForNodes: ['node-b'], hostname: 'pod-1' }),
        ],
      },
    ],
    [
      'ports: unnamed, named, protocol default, port 0 and unset kept as 0',
      slice({
        ports: [
          { name: '', port: 9376 },
          { name: 'dns', protocol: 'UDP', port: 53 },
          { name: 'any', port: 0 },
          { name: 'unset', protocol: 'SCTP' },
        ],
      }),
      {
        ports: [
          { name: '', protocol: 'TCP', port: 9376 },
          { name: 'dns', protocol: 'UDP', port: 53 },
          { name: 'any', protocol: 'TCP', port: 0 },
          { name: 'unset', protocol: 'SCTP', port: 0 },
        ],
      },
    ],
    [
      'IPv6 addresses, canonicalised',
      slice({ addressType: 'IPv6', endpoints: [{ addresses: ['FD00:10:244::0005'] }] }),
      { addressType: 'IPv6', endpoints: [endpoint({ addresses: ['fd00:10:244::5'] })] },
    ],
    [
      'FQDN addresses',
      slice({ addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com'] }] }),
      { addressType: 'FQDN', endpoints: [endpoint({ addresses: ['db.example.com'] })] },
    ],
  ])('%s', (_name, raw, overrides) => {
    const result = validateEndpointSlice(raw);
    if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
    expect(result.value).toEqual(expectedSlice(overrides));
  });

  it('uses the default namespace', () => {
    const raw = slice({}, { namespace: undefined });
    const result = validateEndpointSlice(raw, undefined, 'team-a');
    expect(result.ok && result.value.namespace).toBe('team-a');
    const fallback = validateEndpointSlice(raw);
    expect(fallback.ok && fallback.value.namespace).toBe('default');
  });
});

describe('validateEndpointSlice: invalid fields', () => {
  it.each<[string, Raw, string, RegExp]>([
    ['missing service-name label', slice({}, { labels: { app: 'web' } }), 'metadata.labels[kubernetes.io/service-name]', /required/],
    ['missing name', slice({}, { name: undefined }), 'metadata.name', /required/],
    ['bad name', slice({}, { name: 'Web_1' }), 'metadata.name', /subdomain/],
    ['missing addressType', slice({ addressType: undefined }), 'addressType', /required/],
    ['unknown addressType', slice({ addressType: 'IPv5' }), 'addressType', /unsupported value "IPv5": supported values: "IPv4", "IPv6", "FQDN"/],
    ['endpoints not a list', slice({ endpoints: {} }), 'endpoints', /expected a list/],
    ['endpoint without addresses', slice({ endpoints: [{ addresses: [] }] }), 'endpoints[0].addresses', /at least 1/],
    ['endpoint with addresses unset', slice({ endpoints: [{ nodeName: 'node-a' }] }), 'endpoints[0].addresses', /at least 1/],
    ['invalid address', slice({ endpoints: [{ addresses: ['10.244.1.5'] }, { addresses: ['10.244.1'] }] }), 'endpoints[1].addresses[0]', /valid IP/],
    ['IPv6 address in an IPv4 slice', slice({ endpoints: [{ addresses: ['fd00::5'] }] }), 'endpoints[0].addresses[0]', /must be an IPv4 address/],
    ['IPv4 address in an IPv6 slice', slice({ addressType: 'IPv6', endpoints: [{ addresses: ['10.0.0.1'] }] }), 'endpoints[0].addresses[0]', /IPv6/],
    ['loopback endpoint', slice({ endpoints: [{ addresses: ['127.0.0.1'] }] }), 'endpoints[0].addresses[0]', /loopback/],
    ['bad FQDN', slice({ addressType: 'FQDN', endpoints: [{ addresses: ['DB!'] }] }), 'endpoints[0].addresses[0]', /subdomain/],
    ['ready a string', slice({ endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: 'true' } }] }), 'endpoints[0].conditions.ready', /expected a boolean/],
    ['bad nodeName', slice({ endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'Node A' }] }), 'endpoints[0].nodeName', /subdomain/],
    ['bad hostname', slice({ endpoints: [{ addresses: ['10.244.1.5'], hostname: 'pod.1' }] }), 'endpoints[0].hostname', /label/],
    ['hint without a name', slice({ endpoints: [{ addresses: ['10.244.1.5'], hints: { forZones: [{}] } }] }), 'endpoints[0].hints.forZones[0].name', /required/],
    ['port out of range', slice({ ports: [{ port: 65536 }] }), 'ports[0].port', /must be between 1 and 65535, inclusive/],
    ['negative port', slice({ ports: [{ port: -1 }] }), 'ports[0].port', /between 1 and 65535/],
    ['port a string', slice({ ports: [{ port: 'http' }] }), 'ports[0].port', /expected an integer/],
    ['unsupported protocol', slice({ ports: [{ port: 80, protocol: 'ICMP' }] }), 'ports[0].protocol', /unsupported value "ICMP"/],
    ['bad port name', slice({ ports: [{ name: 'HTTP', port: 80 }] }), 'ports[0].name', /RFC 1123 label/],
    ['duplicate port name', slice({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'ports[1].name', /duplicate/],
  ])('%s -> %s', (_name, raw, field, reason) => {
    const errors = errorsOf(validateEndpointSlice(raw, 'slices.yaml:3'));
    const error = errors.find((e) => e.field === field);
    expect(error, errors.map((e) => e.message).join('; ')).toBeDefined();
    expect(error?.reason).toMatch(reason);
    expect(error?.ref.kind).toBe('EndpointSlice');
    expect(error?.ref.namespace).toBe('prod');
    expect(error?.source).toBe('slices.yaml:3');
  });

  it('never throws on garbage', () => {
    for (const raw of [null, 'slice', 3, [], { metadata: 'x' }, slice({ endpoints: [null, 4, { addresses: 'x', conditions: [] }] })]) {
      expect(errorsOf(validateEndpointSlice(raw)).length).toBeGreaterThan(0);
    }
  });
});

describe('validateEndpoints (legacy)', () => {
  const seed = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'my-service' },
    subsets: [{ addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 9376 }] }],
  };

  it("converts the seed's selector-less example", () => {
    const result = validateEndpoints(seed);
    if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
    expect(result.value).toEqual<EndpointSlice[]>([
      {
        namespace: 'default',
        name: 'my-service-endpoints-0-v4',
        serviceName: 'my-service',
        addressType: 'IPv4',
        endpoints: [endpoint({ addresses: ['192.0.2.42'] })],
        ports: [{ name: '', protocol: 'TCP', port: 9376 }],
        origin: 'Endpoints',
      },
    ]);
  });

  it('splits subsets per family, keeps not-ready addresses as not ready', () => {
    const result = validateEndpoints(
      {
        ...seed,
        metadata: { name: 'db', namespace: 'prod' },
        subsets: [
          {
            addresses: [{ ip: '10.244.1.5', nodeName: 'node-a', hostname: 'db-0' }, { ip: '2001:DB8::5' }],
            notReadyAddresses: [{ ip: '10.244.2.6', nodeName: 'node-b' }],
            ports: [
              { name: 'pg', port: 5432 },
              { name: 'metrics', port: 9187, protocol: 'TCP' },
            ],
          },
          { addresses: [], ports: [{ port: 1 }] },
          { notReadyAddresses: [{ ip: '10.244.1.9' }], ports: [{ port: 53, protocol: 'UDP' }] },
        ],
      },
      'db.yaml:1',
      'ignored-default',
    );
    if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
    const ports: EndpointPort[] = [
      { name: 'pg', protocol: 'TCP', port: 5432 },
      { name: 'metrics', protocol: 'TCP', port: 9187 },
    ];
    expect(result.value).toEqual<EndpointSlice[]>([
      {
        namespace: 'prod',
        name: 'db-endpoints-0-v4',
        serviceName: 'db',
        addressType: 'IPv4',
        endpoints: [
          endpoint({ addresses: ['10.244.1.5'], nodeName: 'node-a', hostname: 'db-0' }),
          endpoint({ addresses: ['10.244.2.6'], nodeName: 'node-b', ready: false, serving: false }),
        ],
        ports,
        origin: 'Endpoints',
      },
      {
        namespace: 'prod',
        name: 'db-endpoints-0-v6',
        serviceName: 'db',
        addressType: 'IPv6',
        endpoints: [endpoint({ addresses: ['2001:db8::5'] })],
        ports,
        origin: 'Endpoints',
      },
      {
        namespace: 'prod',
        name: 'db-endpoints-2-v4',
        serviceName: 'db',
        addressType: 'IPv4',
        endpoints: [endpoint({ addresses: ['10.244.1.9'], ready: false, serving: false })],
        ports: [{ name: '', protocol: 'UDP', port: 53 }],
        origin: 'Endpoints',
      },
    ]);
  });

  it('no subsets: no slices', () => {
    const result = validateEndpoints({ ...seed, subsets: undefined });
    expect(result.ok && result.value).toEqual([]);
  });

  it.each<[string, Raw, string, RegExp]>([
    ['missing ip', { addresses: [{ nodeName: 'node-a' }], ports: [{ port: 80 }] }, 'subsets[0].addresses[0].ip', /required/],
    ['invalid ip', { addresses: [{ ip: '192.0.2' }], ports: [{ port: 80 }] }, 'subsets[0].addresses[0].ip', /valid IP/],
    ['unspecified ip', { notReadyAddresses: [{ ip: '0.0.0.0' }], ports: [{ port: 80 }] }, 'subsets[0].notReadyAddresses[0].ip', /unspecified/],
    ['port 0', { addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 0 }] }, 'subsets[0].ports[0].port', /between 1 and 65535/],
    ['port missing', { addresses: [{ ip: '192.0.2.42' }], ports: [{ name: 'x' }] }, 'subsets[0].ports[0].port', /required/],
    ['unnamed second port', { addresses: [{ ip: '192.0.2.42' }], ports: [{ name: 'a', port: 1 }, { port: 2 }] }, 'subsets[0].ports[1].name', /required/],
    ['bad protocol', { addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 1, protocol: 'udp' }] }, 'subsets[0].ports[0].protocol', /unsupported value "udp"/],
  ])('%s -> %s', (_name, subset, field, reason) => {
    const errors = errorsOf(validateEndpoints({ ...seed, metadata: { name: 'my-service', namespace: 'ns1' }, subsets: [subset] }));
    const error = errors.find((e) => e.field === field);
    expect(error, errors.map((e) => e.message).join('; ')).toBeDefined();
    expect(error?.reason).toMatch(reason);
    expect(error?.ref).toEqual({ kind: 'Endpoints', namespace: 'ns1', name: 'my-service' });
  });
});
