// API-shaped objects for tests, as a real cluster would store them.
import type { Json } from './selectors.js';

export interface ServiceOptions {
  readonly namespace?: string;
  readonly clusterIP?: string;
  readonly port?: number;
  readonly targetPort?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

export function apiService(name: string, options: ServiceOptions = {}): Json {
  const clusterIP = options.clusterIP ?? '10.96.0.10';
  return {
    metadata: { name, namespace: options.namespace ?? 'default', ...(options.labels ? { labels: { ...options.labels } } : {}) },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: options.port ?? 80, targetPort: options.targetPort ?? 8080 }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

export interface SliceOptions {
  readonly namespace?: string;
  readonly port?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

export function apiSlice(name: string, service: string, ips: readonly string[], options: SliceOptions = {}): Json {
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', ...options.labels },
    },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-a' })),
    ports: [{ name: 'http', protocol: 'TCP', port: options.port ?? 8080 }],
  };
}

export function apiNode(name: string, ip: string, zone?: string): Json {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(zone ? { 'topology.kubernetes.io/zone': zone } : {}) } },
    spec: { podCIDR: '10.244.0.0/24' },
    status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
  };
}
