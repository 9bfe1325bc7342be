// The userspace mode's pure planner: desired state -> the listeners wanted (one per
// service port, protocol and path, with its backends and affinity) and which frontends
// each one serves. Endpoints, affinity, frontends and contested addresses all come
// from the policy step and the claim book; nothing is re-derived here.
import type { IPFamily, Protocol } from '../../model/types.js';
import { ClaimBook } from '../../state/claims.js';
import type { NodeContext } from '../../state/node-context.js';
import { nodeFamilyEnv, servicePortPolicy, type Frontend, type NoEndpoints, type ServicePortPolicy } from '../../state/service-policy.js';
import type { DesiredState, ServicePortState } from '../../state/types.js';
import { backendKey, type Backend } from './round-robin.js';

/**
 * internal: the cluster IP (internalTrafficPolicy's endpoints). external: NodePorts, external
 * and load-balancer IPs (externalTrafficPolicy's). They get separate listeners because their
 * endpoint sets may differ, and a listener is all the proxy knows of where a client came in.
 */
export type ListenerPath = 'internal' | 'external';

export interface ListenerWant {
  /** `family|service-port key|path`: stable across syncs while the port exists. */
  readonly id: string;
  readonly servicePort: string;
  readonly family: IPFamily;
  readonly protocol: Protocol;
  readonly path: ListenerPath;
  /** Address and port to bind (port 0: the kernel chooses). */
  readonly host: string;
  readonly port: number;
  readonly backends: readonly Backend[];
  /** Without backends: refused (the service has none) or dropped (none on this node), as the other modes do. */
  readonly none: NoEndpoints;
  readonly affinitySeconds: number;
  /** Frontends redirected to this listener (those this port owns, by the claim rule). */
  readonly frontends: readonly Frontend[];
  /** For load-balancer frontends with source ranges: the sources allowed (the rest are dropped). */
  readonly allowedSources: readonly string[] | undefined;
}

export interface PlanOptions {
  readonly ctx: NodeContext;
  /**
   * Unprivileged use: no redirects. Listeners bind this address on the service's own port
   * when given, else a kernel-chosen port on loopback (reported by `svcplane plan`).
   */
  readonly noRedirect?: { readonly address?: string | undefined };
}

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

function bindHost(family: IPFamily, policy: { nodeIPs: readonly string[] }, opts: PlanOptions): string {
  if (opts.noRedirect !== undefined) return opts.noRedirect.address ?? (family === 'IPv6' ? '::1' : '127.0.0.1');
  // The node's own address: redirected traffic is DNATed to it, and nothing else listens wide open.
  return policy.nodeIPs[0] ?? (family === 'IPv6' ? '::' : '0.0.0.0');
}

/** Every listener the desired state wants, in a stable order. */
export function planListeners(state: DesiredState, opts: PlanOptions): ListenerWant[] {
  const out: ListenerWant[] = [];
  for (const family of FAMILIES) {
    const env = nodeFamilyEnv(family, opts.ctx);
    const ports = [...state[family].values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const policies = ports.map((sp) => [sp, servicePortPolicy(sp, env)] as const);
    const claims = new ClaimBook<Frontend>();
    for (const [sp, p] of policies) for (const f of p.frontends) claims.add(f.key, sp.key, f);
    for (const [sp, policy] of policies) {
      const owned = policy.frontends.filter((f) => claims.owner(f.key) === sp.key);
      const host = bindHost(family, env, opts);
      const base = { servicePort: sp.key, family, protocol: sp.protocol, host, affinitySeconds: policy.affinitySeconds };
      const internal = owned.filter((f) => f.kind === 'cluster-ip');
      const external = owned.filter((f) => f.kind !== 'cluster-ip');
      if (sp.clusterIP !== undefined) {
        out.push({ ...base, id: `${family}|${sp.key}|internal`, path: 'internal', port: listenPort(sp, 'internal', opts), backends: backends(policy, 'internal'), none: policy.internal.none, frontends: internal, allowedSources: undefined });
      }
      if (external.length > 0 || (opts.noRedirect !== undefined && sp.nodePort > 0)) {
        const allowedSources = policy.firewall.filtered ? policy.firewall.allowed : undefined;
        out.push({ ...base, id: `${family}|${sp.key}|external`, path: 'external', port: listenPort(sp, 'external', opts), backends: backends(policy, 'external'), none: policy.external.none, frontends: external, allowedSources });
      }
    }
  }
  return out;
}

/** With redirects the kernel picks ports; unprivileged with an address, the service's own ports. */
function listenPort(sp: ServicePortState, path: ListenerPath, opts: PlanOptions): number {
  if (opts.noRedirect?.address === undefined) return 0;
  return path === 'internal' ? sp.port : sp.nodePort;
}

function backends(policy: ServicePortPolicy, path: ListenerPath): Backend[] {
  const traffic = path === 'internal' ? policy.internal : policy.external;
  // Local-only traffic with no local endpoint: none (the connection is refused).
  return traffic.endpoints.map((e) => ({ ip: e.ip, port: e.port, key: backendKey(e.ip, e.port) }));
}
