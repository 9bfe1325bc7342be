// Service environment variables, by the kubelet's rules (pkg/kubelet/envvars and
// getServiceEnvVarMap): which services a pod sees, and the variables each one gives.
import type { Service } from '../model/types.js';

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

/** The API server's own service: its variables reach every pod, links or not. */
const MASTER_SERVICE_NAMESPACE = 'default';
const MASTER_SERVICE_NAME = 'kubernetes';

/** Headless and ExternalName services have no cluster IP and give no variables. */
function hasClusterIP(s: Service): boolean {
  return !s.headless && s.type !== 'ExternalName' && s.clusterIPs.length > 0 && s.ports.length > 0;
}

/**
 * The services a pod in `namespace` gets variables for: with service links, every
 * service of its namespace; always `default/kubernetes`, which a `kubernetes`
 * service of the pod's own namespace replaces only when links are on. Sorted by
 * name, since the kubelet's own order is a Go map's (unspecified).
 */
export function visibleServices(services: Iterable<Service>, namespace: string, enableServiceLinks: boolean): Service[] {
  const byName = new Map<string, Service>();
  for (const s of services) {
    if (!hasClusterIP(s)) continue;
    if (s.namespace === MASTER_SERVICE_NAMESPACE && s.name === MASTER_SERVICE_NAME) {
      if (!byName.has(s.name)) byName.set(s.name, s);
    } else if (s.namespace === namespace && enableServiceLinks) {
      byName.set(s.name, s);
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `redis-master` -> `REDIS_MASTER`; a leading digit gets a `_` (a variable cannot start with one). */
export function envVariableName(name: string): string {
  const upper = name.toUpperCase().replaceAll('-', '_').replaceAll('.', '_');
  return /^[0-9]/.test(upper) ? `_${upper}` : upper;
}

/** host:port, with an IPv6 host in brackets (as in a URL). */
function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** One service's variables, in the kubelet's order (envvars.FromServices). */
export function serviceEnvVars(service: Service): EnvVar[] {
  if (!hasClusterIP(service)) return [];
  const prefix = envVariableName(service.name);
  // The primary cluster IP (spec.clusterIP), the first of clusterIPs.
  const ip = service.clusterIPs[0] ?? '';
  const out: EnvVar[] = [{ name: `${prefix}_SERVICE_HOST`, value: ip }];
  const first = service.ports[0];
  if (first) out.push({ name: `${prefix}_SERVICE_PORT`, value: String(first.port) });
  for (const p of service.ports) {
    if (p.name !== '') out.push({ name: `${prefix}_SERVICE_PORT_${envVariableName(p.name)}`, value: String(p.port) });
  }
  // Docker links: the first port also as `{NAME}_PORT`.
  service.ports.forEach((p, i) => {
    const proto = p.protocol.toLowerCase();
    const url = `${proto}://${joinHostPort(ip, p.port)}`;
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
    const portPrefix = `${prefix}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    out.push(
      { name: portPrefix, value: url },
      { name: `${portPrefix}_PROTO`, value: proto },
      { name: `${portPrefix}_PORT`, value: String(p.port) },
      { name: `${portPrefix}_ADDR`, value: ip },
    );
  });
  return out;
}

/** Every service variable a pod in `namespace` gets, in order. */
export function serviceEnvironment(services: Iterable<Service>, namespace: string, enableServiceLinks: boolean): EnvVar[] {
  return visibleServices(services, namespace, enableServiceLinks).flatMap(serviceEnvVars);
}
