// Synthetic clusters for benchmarks: N services x M endpoints, as model objects or as YAML.
import type { EndpointSlice, Service } from '../model/types.js';
import { NO_HINTS } from '../model/validate-endpoints.js';
import type { SourceEvent } from '../sources/source.js';

function ipv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const SERVICE_BASE = (10 << 24) | (96 << 16); // 10.96.0.0/12
const POD_BASE = (10 << 24) | (128 << 16); // 10.128.0.0/9

export function serviceIP(i: number): string {
  return ipv4(SERVICE_BASE + 256 + i);
}

export function endpointIP(i: number, j: number, generation = 0): string {
  return ipv4(POD_BASE + (i * 16 + j) + generation * 0x200000);
}

export function syntheticService(i: number): Service {
  return {
    namespace: `ns-${i % 50}`, name: `svc-${i}`, type: i % 10 === 0 ? 'NodePort' : 'ClusterIP', clusterIPs: [serviceIP(i)], headless: false, ipFamilies: ['IPv4'],
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: i % 10 === 0 ? 30000 + (i / 10) % 2768 : 0 }],
    selector: { app: `svc-${i}` }, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalIPs: [], loadBalancerIP: undefined,
    loadBalancerIngressIPs: [], loadBalancerSourceRanges: [], externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0, publishNotReadyAddresses: false, externalName: undefined, trafficDistribution: undefined, labels: {}, annotations: {},
  };
}

export function syntheticSlice(i: number, endpoints: number, generation = 0): EndpointSlice {
  const eps = [];
  for (let j = 0; j < endpoints; j++) {
    eps.push({ addresses: [endpointIP(i, j, j === 0 ? generation : 0)], ready: true, serving: true, terminating: false, nodeName: `node-${j % 3}`, zone: undefined, hintsForZones: NO_HINTS, hintsForNodes: NO_HINTS });
  }
  return { namespace: `ns-${i % 50}`, name: `svc-${i}-abcde`, serviceName: `svc-${i}`, addressType: 'IPv4', origin: 'EndpointSlice', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }], endpoints: eps };
}

export function syntheticEvents(services: number, endpoints: number): SourceEvent[] {
  const out: SourceEvent[] = [];
  for (let i = 0; i < services; i++) {
    out.push({ type: 'service-upsert', service: syntheticService(i) }, { type: 'slice-upsert', slice: syntheticSlice(i, endpoints) });
  }
  out.push({ type: 'synced' });
  return out;
}

/** The same service and slice as manifest YAML (one file per service keeps a one-service edit cheap to reload). */
export function syntheticYaml(i: number, endpoints: number, generation = 0): string {
  const s = syntheticService(i);
  const sl = syntheticSlice(i, endpoints, generation);
  const port = s.ports[0] as Service['ports'][number];
  return [
    'apiVersion: v1', 'kind: Service', 'metadata:', `  name: ${s.name}`, `  namespace: ${s.namespace}`, 'spec:', `  type: ${s.type}`, `  clusterIP: ${s.clusterIPs[0]}`,
    '  selector:', `    app: ${s.name}`, '  ports:', `  - name: http`, '    protocol: TCP', '    port: 80', '    targetPort: 8080', ...(port.nodePort ? [`    nodePort: ${port.nodePort}`] : []),
    '---', 'apiVersion: discovery.k8s.io/v1', 'kind: EndpointSlice', 'metadata:', `  name: ${sl.name}`, `  namespace: ${sl.namespace}`, '  labels:', `    kubernetes.io/service-name: ${s.name}`,
    'addressType: IPv4', 'ports:', '- name: http', '  protocol: TCP', '  port: 8080', 'endpoints:',
    ...sl.endpoints.flatMap((e) => [`- addresses: [${e.addresses[0]}]`, '  conditions: {ready: true}', `  nodeName: ${e.nodeName}`]),
    '',
  ].join('\n');
}
