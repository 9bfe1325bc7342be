// What kube-proxy's service health server must answer, derived from the desired state:
// one health check per service with a health-check node port (LoadBalancer with
// externalTrafficPolicy Local), counting the service's ready endpoints on this node,
// and the node addresses its listeners bind to.
import { nodeFamilyEnv } from '../state/service-policy.js';
import type { NodeContext } from '../state/node-context.js';
import type { DesiredState } from '../state/types.js';

export interface ServiceHealthCheck {
  readonly namespace: string;
  readonly name: string;
  /** Ready endpoints of the service on this node, each address counted once (kube-proxy's count). */
  readonly localEndpoints: number;
}

export interface HealthCheckConflict {
  readonly port: number;
  readonly kept: string;
  readonly refused: string;
}

export interface HealthCheckPlan {
  /** By health-check node port. */
  readonly checks: ReadonlyMap<number, ServiceHealthCheck>;
  /** A second service naming a port another holds (the API server forbids it; manifests may not). */
  readonly conflicts: readonly HealthCheckConflict[];
}

/** The health checks of a desired state; both families of a dual-stack service make one check. */
export function planHealthChecks(state: DesiredState): HealthCheckPlan {
  const byService = new Map<string, { namespace: string; name: string; port: number; local: Set<string> }>();
  const ports = [...state.IPv4.values(), ...state.IPv6.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const sp of ports) {
    if (sp.healthCheckNodePort <= 0) continue;
    const key = `${sp.namespace}/${sp.serviceName}`;
    let entry = byService.get(key);
    if (entry === undefined) {
      entry = { namespace: sp.namespace, name: sp.serviceName, port: sp.healthCheckNodePort, local: new Set() };
      byService.set(key, entry);
    }
    // localEndpoints falls back to terminating ones when none is ready; kube-proxy counts ready ones only.
    for (const ep of sp.localEndpoints) if (ep.ready) entry.local.add(ep.ip);
  }
  const checks = new Map<number, ServiceHealthCheck>();
  const owner = new Map<number, string>();
  const conflicts: HealthCheckConflict[] = [];
  for (const [key, e] of [...byService].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const kept = owner.get(e.port);
    if (kept !== undefined) {
      conflicts.push({ port: e.port, kept, refused: key });
      continue;
    }
    owner.set(e.port, key);
    checks.set(e.port, { namespace: e.namespace, name: e.name, localEndpoints: e.local.size });
  }
  return { checks, conflicts };
}

/** The node addresses health-check node ports listen on: the node IPs inside nodePortAddresses. */
export function healthCheckAddresses(ctx: NodeContext): string[] {
  return [...nodeFamilyEnv('IPv4', ctx).nodePortIPs, ...nodeFamilyEnv('IPv6', ctx).nodePortIPs];
}
