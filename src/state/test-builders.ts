// Builders for model objects in the state tests: complete objects with defaults, overridable.
import type { Endpoint, EndpointSlice, Service } from '../model/types.js';
import { DEFAULT_AFFINITY_TIMEOUT_SECONDS } from '../model/types.js';

export function makeService(overrides: Partial<Service> = {}): Service {
  return {
    namespace: 'default',
    name: 'web',
    type: 'ClusterIP',
    clusterIPs: ['10.96.0.10'],
    headless: false,
    ipFamilies: ['IPv4'],
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 }],
    selector: { app: 'web' },
    sessionAffinity: 'None',
    affinityTimeoutSeconds: DEFAULT_AFFINITY_TIMEOUT_SECONDS,
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

export function makeEndpoint(address: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    addresses: [address],
    ready: true,
    serving: overrides.ready ?? true,
    terminating: false,
    nodeName: undefined,
    zone: undefined,
    hintsForZones: [],
    hintsForNodes: [],
    ...overrides,
  };
}

export function makeSlice(overrides: Partial<EndpointSlice> = {}): EndpointSlice {
  return {
    namespace: 'default',
    name: 'web-abc',
    serviceName: 'web',
    addressType: 'IPv4',
    endpoints: [makeEndpoint('10.0.0.1')],
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    origin: 'EndpointSlice',
    ...overrides,
  };
}
