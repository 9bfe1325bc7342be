// Hand-built node-local state for backend tests: complete ServicePortState and
// EndpointInfo objects with defaults, so each test states only what it is about.
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState } from '../../src/state/types.js';
import { familyOf } from '../../src/state/node-context.js';

export function endpoint(ip: string, port: number, partial: Partial<EndpointInfo> = {}): EndpointInfo {
  return {
    ip,
    port,
    ready: true,
    serving: true,
    terminating: false,
    isLocal: false,
    nodeName: partial.isLocal === true ? 'localhost' : 'other-node',
    zone: undefined,
    ...partial,
  };
}

/**
 * A service port; defaults: `default/web:http`, TCP 80, cluster IP 10.96.0.10.
 * Derived unless given: key, family (from the cluster IP), localEndpoints
 * (the local ones among clusterEndpoints) and hasEndpoints.
 */
export function servicePort(partial: Partial<ServicePortState> = {}): ServicePortState {
  const namespace = partial.namespace ?? 'default';
  const serviceName = partial.serviceName ?? 'web';
  const portName = partial.portName ?? 'http';
  const clusterIP = 'clusterIP' in partial ? partial.clusterIP : '10.96.0.10';
  const clusterEndpoints = partial.clusterEndpoints ?? [];
  const localEndpoints = partial.localEndpoints ?? clusterEndpoints.filter((e) => e.isLocal);
  return {
    key: `${namespace}/${serviceName}:${portName}`,
    namespace,
    serviceName,
    portName,
    family: clusterIP === undefined ? 'IPv4' : familyOf(clusterIP),
    protocol: 'TCP',
    port: 80,
    clusterIP,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    nodePort: 0,
    healthCheckNodePort: 0,
    affinityTimeoutSeconds: 0,
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    clusterEndpoints,
    localEndpoints,
    hasEndpoints: clusterEndpoints.length > 0 || localEndpoints.length > 0,
    ...partial,
  };
}

/** Service port `name` at IPv4 cluster IP `ip` with `count` remote endpoints 10.244.<ip's last octet>.1… on port 8080. */
export function numberedServicePort(name: string, ip: string, count: number, extra: Partial<ServicePortState> = {}): ServicePortState {
  const clusterEndpoints = Array.from({ length: count }, (_, i) => endpoint(`10.244.${ip.split('.')[3]}.${i + 1}`, 8080));
  return servicePort({ serviceName: name, clusterIP: ip, clusterEndpoints, ...extra });
}

/** A FamilyState keyed by each port's key. */
export function familyState(...ports: readonly ServicePortState[]): FamilyState {
  return new Map(ports.map((p) => [p.key, p]));
}

/** A DesiredState holding each port in its family's map. */
export function desiredState(...ports: readonly ServicePortState[]): DesiredState {
  return { IPv4: familyState(...ports.filter((p) => p.family === 'IPv4')), IPv6: familyState(...ports.filter((p) => p.family === 'IPv6')) };
}
