import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import type { Service } from './types.js';
import { validateService } from './validate-service.js';

type Raw = Record<string, unknown>;

function manifest(spec: Raw, metadata: Raw = {}, extra: Raw = {}): Raw {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod', ...metadata }, spec, ...extra };
}

const PORT_80 = { port: 80 };

/** The model of `manifest({ ports: [{ port: 80 }] })` with every default spelled out. */
function expected(overrides: Partial<Service> = {}): Service {
  return {
    namespace: 'prod',
    name: 'web',
    type: 'ClusterIP',
    clusterIPs: [],
    headless: false,
    ipFamilies: ['IPv4'],
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }],
    selector: undefined,
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800,
    externalIPs: [],
    loadBalancerIP: undefined,
    loadBalancerIngressIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
    publishNotReadyAddresses: false,
    externalName: undefined,
    trafficDistribution: undefined,
    labels: {},
    annotations: {},
    ...overrides,
  };
}

function valid(raw: unknown, defaultNamespace?: string): Service {
  const result = validateService(raw, 'test.yaml:1', defaultNamespace);
  if (!result.ok) throw new Error(`unexpected errors:\n${result.errors.map((e) => e.message).join('\n')}`);
  return result.value;
}

function errorsOf(raw: unknown): readonly ValidationError[] {
  const result = validateService(raw, 'test.yaml:7');
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

describe('validateService: valid services', () => {
  it.each<[string, Raw, Partial<Service>]>([
    ['defaults everything', manifest({ ports: [PORT_80] }), {}],
    [
      'the seed service: selector, TCP 80 -> 9376, cluster IP',
      manifest({ selector: { app: 'MyApp' }, clusterIP: '10.96.0.10', ports: [{ protocol: 'TCP', port: 80, targetPort: 9376 }] }),
      {
        selector: { app: 'MyApp' },
        clusterIPs: ['10.96.0.10'],
        ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 9376, nodePort: 0 }],
      },
    ],
    [
      'clusterIPs derive the families, in order',
      manifest({ clusterIP: 'fd00::A', clusterIPs: ['fd00::A', '10.96.0.1'], ports: [PORT_80] }),
      { clusterIPs: ['fd00::a', '10.96.0.1'], ipFamilies: ['IPv6', 'IPv4'] },
    ],
    [
      'ipFamilies without cluster IPs (allocated later)',
      manifest({ ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack', ports: [PORT_80] }),
      { ipFamilies: ['IPv6', 'IPv4'] },
    ],
    ['empty clusterIP is unset', manifest({ clusterIP: '', ports: [PORT_80] }), {}],
    ['headless via clusterIP None, no ports', manifest({ clusterIP: 'None' }), { headless: true, ports: [] }],
    [
      'headless via the label',
      manifest({ clusterIP: '10.96.0.3', ports: [PORT_80] }, { labels: { 'service.kubernetes.io/headless': '' } }),
      { headless: true, clusterIPs: ['10.96.0.3'], labels: { 'service.kubernetes.io/headless': '' } },
    ],
    [
      'multi-port with named and numeric target ports',
      manifest({
        ports: [
          { name: 'http', port: 80, targetPort: 'http-web' },
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
          { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 0 },
        ],
      }),
      {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http-web', nodePort: 0 },
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 0 },
          { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53, nodePort: 0 },
        ],
      },
    ],
    [
      'NodePort with a nodePort outside the default range',
      manifest({ type: 'NodePort', ports: [{ port: 80, nodePort: 8080, protocol: 'SCTP' }] }),
      { type: 'NodePort', ports: [{ name: '', protocol: 'SCTP', port: 80, targetPort: 80, nodePort: 8080 }] },
    ],
    [
      'LoadBalancer with ingress, source ranges and Local policy',
      manifest(
        {
          type: 'LoadBalancer',
          ports: [{ port: 80, nodePort: 30080 }],
          loadBalancerIP: '146.148.47.155',
          loadBalancerSourceRanges: [' 10.0.0.0/8', '192.168.1.7/24', '203.0.113.9', '2001:db8::/32 '],
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 32000,
        },
        {},
        { status: { loadBalancer: { ingress: [{ ip: '146.148.47.155' }, { hostname: 'lb.example.com' }, { ip: '2001:db8::5' }] } } },
      ),
      {
        type: 'LoadBalancer',
        ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30080 }],
        loadBalancerIP: '146.148.47.155',
        loadBalancerSourceRanges: ['10.0.0.0/8', '192.168.1.0/24', '203.0.113.9/32', '2001:db8::/32'],
        loadBalancerIngressIPs: ['146.148.47.155', '2001:db8::5'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
      },
    ],
    [
      'source ranges from the annotation',
      manifest(
        { type: 'LoadBalancer', ports: [PORT_80] },
        { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.1.0.0/16, 10.2.0.0/16,' } },
      ),
      {
        type: 'LoadBalancer',
        loadBalancerSourceRanges: ['10.1.0.0/16', '10.2.0.0/16'],
        annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.1.0.0/16, 10.2.0.0/16,' },
      },
    ],
    [
      'ClientIP affinity with a timeout',
      manifest({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } }, ports: [PORT_80] }),
      { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 600 },
    ],
    ['ClientIP affinity, default timeout', manifest({ sessionAffinity: 'ClientIP', ports: [PORT_80] }), { sessionAffinity: 'ClientIP' }],
    [
      'Global is the old name of Cluster; Local internal policy',
      manifest({ type: 'NodePort', externalTrafficPolicy: 'Global', internalTrafficPolicy: 'Local', ports: [PORT_80] }),
      { type: 'NodePort', internalTrafficPolicy: 'Local' },
    ],
    [
      'Local external policy on a ClusterIP service is kept',
      manifest({ externalTrafficPolicy: 'Local', ports: [PORT_80] }),
      { externalTrafficPolicy: 'Local' },
    ],
    [
      'ExternalName (ports allowed, no families)',
      manifest({ type: 'ExternalName', externalName: 'my.database.example.com.', ports: [PORT_80] }),
      { type: 'ExternalName', externalName: 'my.database.example.com.', ipFamilies: [] },
    ],
    [
      'ExternalName without ports',
      manifest({ type: 'ExternalName', externalName: 'my.database.example.com' }),
      { type: 'ExternalName', externalName: 'my.database.example.com', ipFamilies: [], ports: [] },
    ],
    [
      'externalIPs, publishNotReadyAddresses, trafficDistribution, labels and annotations',
      manifest(
        {
          externalIPs: ['198.51.100.1', '2001:DB8::1', '198.51.100.1'],
          publishNotReadyAddresses: true,
          trafficDistribution: 'PreferClose',
          selector: {},
          ports: [PORT_80],
        },
        { labels: { app: 'web' }, annotations: { note: 'x' } },
      ),
      {
        externalIPs: ['198.51.100.1', '2001:db8::1'],
        publishNotReadyAddresses: true,
        trafficDistribution: 'PreferClose',
        labels: { app: 'web' },
        annotations: { note: 'x' },
      },
    ],
    ['null fields mean unset', manifest({ type: null, clusterIP: null, selector: null, ports: [{ port: 80, protocol: null }] }), {}],
  ])('%s', (_name, raw, overrides) => {
    expect(valid(raw)).toEqual(expected(overrides));
  });

  it('uses the default namespace when metadata.namespace is absent', () => {
    const raw = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [PORT_80] } };
    expect(valid(raw).namespace).toBe('default');
    expect(valid(raw, 'team-a').namespace).toBe('team-a');
  });
});

describe('validateService: invalid fields', () => {
  it.each<[string, Raw, string, RegExp]>([
    ['bad name', manifest({ ports: [PORT_80] }, { name: '1web' }), 'metadata.name', /DNS-1035/],
    ['missing name', manifest({ ports: [PORT_80] }, { name: undefined }), 'metadata.name', /required/],
    ['bad namespace', manifest({ ports: [PORT_80] }, { namespace: 'Prod' }), 'metadata.namespace', /RFC 1123/],
    ['label of the wrong type', manifest({ ports: [PORT_80] }, { labels: { tier: 3 } }), 'metadata.labels[tier]', /expected a string/],
    ['spec not an object', manifest([] as unknown as Raw), 'spec', /expected an object, got a list/],
    ['unknown type', manifest({ type: 'Magic', ports: [PORT_80] }), 'spec.type', /unsupported value "Magic"/],
    ['no ports', manifest({}), 'spec.ports', /required/],
    ['ports not a list', manifest({ ports: 'http' }), 'spec.ports', /expected a list/],
    ['port entry not an object', manifest({ ports: [80] }), 'spec.ports[0]', /expected an object/],
    ['port out of range', manifest({ ports: [{ port: 70000 }] }), 'spec.ports[0].port', /must be between 1 and 65535, inclusive/],
    ['port zero', manifest({ ports: [{ port: 0 }] }), 'spec.ports[0].port', /must be between 1 and 65535/],
    ['port as a string', manifest({ ports: [{ port: '80' }] }), 'spec.ports[0].port', /expected an integer, got string "80"/],
    ['port not an integer', manifest({ ports: [{ port: 80.5 }] }), 'spec.ports[0].port', /expected an integer/],
    ['port missing', manifest({ ports: [{ name: 'x' }] }), 'spec.ports[0].port', /required/],
    [
      'unsupported protocol',
      manifest({ ports: [{ port: 80, protocol: 'SCTPX' }] }),
      'spec.ports[0].protocol',
      /unsupported value "SCTPX": supported values: "TCP", "UDP", "SCTP"/,
    ],
    ['lowercase protocol', manifest({ ports: [{ port: 80, protocol: 'tcp' }] }), 'spec.ports[0].protocol', /unsupported value "tcp"/],
    ['second port unnamed', manifest({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }), 'spec.ports[1].name', /required/],
    ['bad port name', manifest({ ports: [{ name: 'Web_1', port: 80 }] }), 'spec.ports[0].name', /RFC 1123 label/],
    ['duplicate port name', manifest({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'spec.ports[1].name', /duplicate/],
    [
      'duplicate port and protocol',
      manifest({ ports: [{ name: 'a', port: 53, protocol: 'UDP' }, { name: 'b', port: 53, protocol: 'UDP' }] }),
      'spec.ports[1]',
      /duplicate value "53\/UDP"/,
    ],
    ['targetPort out of range', manifest({ ports: [{ port: 80, targetPort: 65536 }] }), 'spec.ports[0].targetPort', /between 1 and 65535/],
    ['numeric string targetPort', manifest({ ports: [{ port: 80, targetPort: '8080' }] }), 'spec.ports[0].targetPort', /at least one letter/],
    ['targetPort name too long', manifest({ ports: [{ port: 80, targetPort: 'a-very-long-port-name' }] }), 'spec.ports[0].targetPort', /no more than 15/],
    ['targetPort with --', manifest({ ports: [{ port: 80, targetPort: 'a--b' }] }), 'spec.ports[0].targetPort', /consecutive hyphens/],
    ['targetPort ending in -', manifest({ ports: [{ port: 80, targetPort: 'http-' }] }), 'spec.ports[0].targetPort', /hyphen/],
    ['targetPort a boolean', manifest({ ports: [{ port: 80, targetPort: true }] }), 'spec.ports[0].targetPort', /integer or a port name/],
    ['nodePort on ClusterIP', manifest({ ports: [{ port: 80, nodePort: 30080 }] }), 'spec.ports[0].nodePort', /ClusterIP/],
    ['nodePort out of range', manifest({ type: 'NodePort', ports: [{ port: 80, nodePort: 70000 }] }), 'spec.ports[0].nodePort', /between 1 and 65535/],
    [
      'duplicate nodePort',
      manifest({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 81, nodePort: 30080 }] }),
      'spec.ports[1].nodePort',
      /duplicate/,
    ],
    ['invalid cluster IP', manifest({ clusterIP: '10.96.0.300', ports: [PORT_80] }), 'spec.clusterIP', /valid IP/],
    ['invalid clusterIPs entry', manifest({ clusterIPs: ['10.96.0.1', 'x'], ports: [PORT_80] }), 'spec.clusterIPs[1]', /valid IP/],
    ['clusterIP and clusterIPs disagree', manifest({ clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.2'], ports: [PORT_80] }), 'spec.clusterIPs[0]', /must match/],
    ['two IPs of one family', manifest({ clusterIPs: ['10.96.0.1', '10.96.0.2'], ports: [PORT_80] }), 'spec.clusterIPs[1]', /one IP for each IP family/],
    ['three cluster IPs', manifest({ clusterIPs: ['10.96.0.1', 'fd00::1', '10.96.0.2'], ports: [PORT_80] }), 'spec.clusterIPs', /at most 2/],
    ['None with another IP', manifest({ clusterIPs: ['None', '10.96.0.1'] }), 'spec.clusterIPs', /more than one value/],
    ['ipFamilies disagree', manifest({ clusterIP: '10.96.0.1', ipFamilies: ['IPv6'], ports: [PORT_80] }), 'spec.ipFamilies[0]', /must match/],
    ['unknown ipFamily', manifest({ ipFamilies: ['IPv5'], ports: [PORT_80] }), 'spec.ipFamilies[0]', /unsupported value "IPv5"/],
    ['duplicate ipFamily', manifest({ ipFamilies: ['IPv4', 'IPv4'], ports: [PORT_80] }), 'spec.ipFamilies[1]', /duplicate/],
    ['unknown ipFamilyPolicy', manifest({ ipFamilyPolicy: 'DualStack', ports: [PORT_80] }), 'spec.ipFamilyPolicy', /unsupported value/],
    [
      'SingleStack with two families',
      manifest({ ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'], ports: [PORT_80] }),
      'spec.ipFamilyPolicy',
      /DualStack/,
    ],
    ['IPv4-mapped cluster IP', manifest({ clusterIP: '::ffff:10.96.0.1', ports: [PORT_80] }), 'spec.clusterIP', /IPv4-mapped/],
    ['unknown affinity', manifest({ sessionAffinity: 'Cookie', ports: [PORT_80] }), 'spec.sessionAffinity', /unsupported value "Cookie"/],
    [
      'affinity timeout too long',
      manifest({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } }, ports: [PORT_80] }),
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      /between 1 and 86400/,
    ],
    [
      'affinity timeout zero',
      manifest({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } }, ports: [PORT_80] }),
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      /between 1 and 86400/,
    ],
    [
      'affinity config without affinity',
      manifest({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [PORT_80] }),
      'spec.sessionAffinityConfig',
      /session affinity is None/,
    ],
    ['invalid externalIP', manifest({ externalIPs: ['1.2.3'], ports: [PORT_80] }), 'spec.externalIPs[0]', /valid IP/],
    ['loopback externalIP', manifest({ externalIPs: ['198.51.100.1', '127.0.0.1'], ports: [PORT_80] }), 'spec.externalIPs[1]', /loopback/],
    ['externalIPs not a list', manifest({ externalIPs: '198.51.100.1', ports: [PORT_80] }), 'spec.externalIPs', /expected a list/],
    ['invalid loadBalancerIP', manifest({ type: 'LoadBalancer', loadBalancerIP: 'lb', ports: [PORT_80] }), 'spec.loadBalancerIP', /valid IP/],
    [
      'invalid ingress IP',
      manifest({ type: 'LoadBalancer', ports: [PORT_80] }, {}, { status: { loadBalancer: { ingress: [{ ip: '1.2.3.999' }] } } }),
      'status.loadBalancer.ingress[0].ip',
      /valid IP/,
    ],
    [
      'invalid source range',
      manifest({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.0/33'], ports: [PORT_80] }),
      'spec.loadBalancerSourceRanges[1]',
      /CIDR/,
    ],
    [
      'invalid source range in the annotation',
      manifest(
        { type: 'LoadBalancer', ports: [PORT_80] },
        { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8,everyone' } },
      ),
      'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]',
      /"everyone"/,
    ],
    ['source ranges on ClusterIP', manifest({ loadBalancerSourceRanges: ['10.0.0.0/8'], ports: [PORT_80] }), 'spec.loadBalancerSourceRanges', /LoadBalancer/],
    ['unknown traffic policy', manifest({ externalTrafficPolicy: 'Nearby', ports: [PORT_80] }), 'spec.externalTrafficPolicy', /supported values: "Cluster", "Local"/],
    ['unknown internal policy', manifest({ internalTrafficPolicy: 'local', ports: [PORT_80] }), 'spec.internalTrafficPolicy', /unsupported value "local"/],
    ['healthCheckNodePort without Local', manifest({ type: 'LoadBalancer', healthCheckNodePort: 32000, ports: [PORT_80] }), 'spec.healthCheckNodePort', /Local/],
    ['healthCheckNodePort as a string', manifest({ healthCheckNodePort: 'x', ports: [PORT_80] }), 'spec.healthCheckNodePort', /expected an integer/],
    ['publishNotReadyAddresses a string', manifest({ publishNotReadyAddresses: 'yes', ports: [PORT_80] }), 'spec.publishNotReadyAddresses', /expected a boolean/],
    ['ExternalName without a name', manifest({ type: 'ExternalName' }), 'spec.externalName', /required/],
    ['ExternalName not a DNS name', manifest({ type: 'ExternalName', externalName: 'My_DB' }), 'spec.externalName', /subdomain/],
    ['ExternalName with a cluster IP', manifest({ type: 'ExternalName', externalName: 'db.example.com', clusterIP: '10.96.0.1' }), 'spec.clusterIP', /ExternalName/],
    ['selector value not a string', manifest({ selector: { app: 1 }, ports: [PORT_80] }), 'spec.selector[app]', /expected a string/],
  ])('%s -> %s', (_name, raw, field, reason) => {
    const errors = errorsOf(raw);
    const error = errors.find((e) => e.field === field);
    expect(error, `errors: ${errors.map((e) => e.message).join('; ')}`).toBeDefined();
    if (!error) return;
    expect(error.reason).toMatch(reason);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('SVCPLANE_INVALID_OBJECT');
    expect(error.ref.kind).toBe('Service');
    expect(error.ref.namespace).toBe(raw['metadata'] && (raw['metadata'] as Raw)['namespace'] === 'Prod' ? 'Prod' : 'prod');
    expect(error.source).toBe('test.yaml:7');
    expect(error.message).toContain(`test.yaml:7: Service ${error.ref.namespace}/${error.ref.name}: ${field}: `);
  });
});

describe('validateService: robustness', () => {
  it('collects every error of an object, not just the first', () => {
    const errors = errorsOf(
      manifest({ type: 'Magic', clusterIP: 'x', ports: [{ port: 0, protocol: 'SCTPX' }, { name: 'b', port: 'http' }] }),
    );
    expect(errors.map((e) => e.field).sort()).toEqual(
      ['spec.clusterIP', 'spec.ports[0].name', 'spec.ports[0].port', 'spec.ports[0].protocol', 'spec.ports[1].port', 'spec.type'].sort(),
    );
  });

  it.each([null, undefined, 'Service', 42, [], [{ kind: 'Service' }]])('never throws on %j and names the object <unnamed>', (raw) => {
    const errors = errorsOf(raw);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.ref).toEqual({ kind: 'Service', namespace: 'default', name: '<unnamed>' });
  });

  it('reports an unnamed service under <unnamed>', () => {
    const errors = errorsOf({ apiVersion: 'v1', kind: 'Service', metadata: { name: 7 }, spec: { ports: [PORT_80] } });
    expect(errors.map((e) => [e.ref.name, e.field])).toEqual([['<unnamed>', 'metadata.name']]);
  });

  it('reports a missing metadata', () => {
    const errors = errorsOf({ apiVersion: 'v1', kind: 'Service', spec: { ports: [PORT_80] } });
    expect(errors.map((e) => e.field)).toEqual(['metadata']);
  });

  it('does not share state between calls', () => {
    const bad = validateService(manifest({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 80 }] }));
    expect(bad.ok).toBe(false);
    expect(validateService(manifest({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] })).ok).toBe(true);
  });
});
