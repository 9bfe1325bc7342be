// A service port as an nginx upstream: its cluster IP by default (the node's L4
// dataplane balances, so endpoint changes never reload nginx), or its ready
// endpoints directly (nginx.ingress.kubernetes.io/service-upstream: "false").
import type { IngressBackend } from '../model/ingress-types.js';
import type { EndpointSlice, Service, ServicePort } from '../model/types.js';
import { computePortEndpoints } from '../state/endpoints.js';

export interface Upstream {
  /** Made of validated names only ([a-z0-9-] joined by _), unique per service port and mode. */
  readonly name: string;
  /** `ip:port` (`[ip]:port` for IPv6); empty when the service has no ready endpoint (nginx answers 503). */
  readonly servers: readonly string[];
  readonly viaClusterIP: boolean;
  /** `namespace/service:port`, for people. */
  readonly describe: string;
}

export interface ServiceLookup {
  service(key: string): Service | undefined;
  slices(key: string): readonly EndpointSlice[];
}

export type BackendResolution = { readonly ok: true; readonly upstream: Upstream } | { readonly ok: false; readonly reason: string };

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function findPort(service: Service, port: number | string): ServicePort | undefined {
  return service.ports.find((p) => p.protocol === 'TCP' && (typeof port === 'number' ? p.port === port : p.name === port));
}

export function resolveBackend(lookup: ServiceLookup, namespace: string, backend: IngressBackend, viaClusterIP: boolean, nodeName: string): BackendResolution {
  const key = `${namespace}/${backend.service}`;
  const service = lookup.service(key);
  if (service === undefined) return { ok: false, reason: `service ${key} not found` };
  if (service.type === 'ExternalName') return { ok: false, reason: `service ${key} is an ExternalName service, which the ingress does not proxy to` };
  const port = findPort(service, backend.port);
  if (port === undefined) {
    const known = service.ports.map((p) => (p.name === '' ? String(p.port) : `${p.name} (${p.port})`)).join(', ');
    return { ok: false, reason: `service ${key} has no TCP port ${JSON.stringify(backend.port)} (ports: ${known || 'none'})` };
  }
  const describe = `${key}:${port.name === '' ? port.port : port.name}`;
  const clusterIP = service.headless ? undefined : service.clusterIPs[0];
  if (viaClusterIP && clusterIP !== undefined) {
    return { ok: true, upstream: { name: `cip_${namespace}_${service.name}_${port.port}`, servers: [hostPort(clusterIP, port.port)], viaClusterIP: true, describe } };
  }
  const servers: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    const endpoints = computePortEndpoints(service, { name: port.name, protocol: 'TCP' }, family, lookup.slices(key), { nodeName, zone: undefined });
    for (const ep of endpoints.clusterEndpoints) servers.push(hostPort(ep.ip, ep.port));
  }
  return { ok: true, upstream: { name: `ep_${namespace}_${service.name}_${port.port}`, servers, viaClusterIP: false, describe } };
}
