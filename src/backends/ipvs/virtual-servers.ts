// The virtual servers one node must hold, as kube-proxy's IPVS mode lays them
// out (syncProxyRules): per service port, one virtual server on the cluster IP,
// on each external IP, on each load-balancer IP and, for NodePorts, on each
// node IP. Cluster-IP traffic follows the internal traffic policy, everything
// else the external one. Every address but the node IPs is bound to kube-ipvs0.
import { cidrContains } from '../../model/ip.js';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState } from '../../state/types.js';
import { ClaimBook } from '../../state/claims.js';
import { nodeFamilyEnv, servicePortPolicy, type Frontend, type FrontendKind, type NodeFamilyEnv } from '../../state/service-policy.js';
import { IpvsConfigError, IpvsSchedulerError, IpvsVirtualServerConflictError, type IpvsDesiredProblem } from './errors.js';
import { ipvsAddress, virtualServerKey } from './ipvs-keys.js';
import { IP_VS_SVC_F_PERSISTENT, IPV4_NETMASK, IPV6_NETMASK, type IpvsDestination, type IpvsService } from './ipvs-types.js';

/** Per-service scheduler override (the lead wires it to the service's annotations). */
export { ANNOTATION_IPVS_SCHEDULER as SCHEDULER_ANNOTATION } from '../../model/annotations.js';
export const DEFAULT_SCHEDULER = 'rr';
/** The schedulers in net/netfilter/ipvs (ip_vs_<name>.c). */
export const KNOWN_SCHEDULERS: ReadonlySet<string> = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh']);
/** kube-proxy gives every real server the same weight. */
export const DEFAULT_WEIGHT = 1;

export interface VirtualServerOptions {
  /** Node-wide scheduler (kube-proxy's --ipvs-scheduler); default 'rr'. */
  readonly scheduler?: string;
  /** A service port's own scheduler (from SCHEDULER_ANNOTATION), or undefined for the default. */
  readonly schedulerFor?: (sp: ServicePortState) => string | undefined;
  /** Addresses that accept NodePorts, before ctx.nodePortAddresses filtering; default ctx.nodeIPs. */
  readonly nodeIPs?: readonly string[];
}

/** The frontend kinds of the policy step: one virtual server per frontend. */
export type VirtualServerKind = FrontendKind;

export interface DesiredVirtualServer {
  /** virtualServerKey(service). */
  readonly key: string;
  /** The ServicePortState it serves. */
  readonly servicePort: string;
  readonly kind: VirtualServerKind;
  readonly service: IpvsService;
  /** In the state's (ip:port) order; one array shared by the virtual servers of a service port that use the same endpoints. */
  readonly destinations: readonly IpvsDestination[];
}

export interface DesiredIpvs {
  /** By key, in service-port key order. */
  readonly virtualServers: ReadonlyMap<string, DesiredVirtualServer>;
  /** Addresses to bind to kube-ipvs0: cluster, external and load-balancer IPs (never node IPs). */
  readonly boundAddresses: ReadonlySet<string>;
  /** Node IPs that carry NodePort virtual servers (svcplane owns virtual servers on them). */
  readonly nodePortAddresses: ReadonlySet<string>;
  readonly problems: readonly IpvsDesiredProblem[];
  /** Every service port's claim on every virtual server (the owners' are `virtualServers`). */
  readonly claims: ClaimBook<DesiredVirtualServer>;
}

const LOOPBACK = { IPv4: '127.0.0.0/8', IPv6: '::1/128' } as const;

/** IPVS cannot serve a NodePort on localhost (kube-proxy's IPVS mode does not either). */
function servable(family: IPFamily) {
  return (f: Frontend): boolean => f.kind !== 'node-port' || !cidrContains(LOOPBACK[family], f.address);
}

/** The node facts of one family, NodePorts on `nodeIPs` (the agent may pass the interfaces' addresses). */
function familyEnv(family: IPFamily, ctx: NodeContext, nodeIPs: readonly string[] = ctx.nodeIPs): NodeFamilyEnv {
  return nodeFamilyEnv(family, nodeIPs === ctx.nodeIPs ? ctx : { ...ctx, nodeIPs });
}

/** NodePort addresses of one family: the node's IPs inside ctx.nodePortAddresses (all when empty), loopback left out. */
export function nodePortIPs(family: IPFamily, ctx: NodeContext, nodeIPs: readonly string[] = ctx.nodeIPs): string[] {
  return familyEnv(family, ctx, nodeIPs).nodePortIPs.filter((ip) => !cidrContains(LOOPBACK[family], ip));
}

function destinations(family: IPFamily, eps: readonly EndpointInfo[]): IpvsDestination[] {
  const out: IpvsDestination[] = [];
  let last: IpvsDestination | undefined;
  for (const ep of eps) {
    // A real server must be of the virtual server's family (mixed families need tunnelling).
    if (ep.ip.includes(':') !== (family === 'IPv6')) continue;
    const address = ipvsAddress(ep.ip);
    // The state merges duplicates and sorts by ip:port; a repeat here would make the kernel refuse the batch (EEXIST).
    if (last !== undefined && last.address === address && last.port === ep.port) continue;
    last = { address, port: ep.port, forwardMethod: 'masq', weight: DEFAULT_WEIGHT, upperThreshold: 0, lowerThreshold: 0 };
    out.push(last);
  }
  return out;
}

interface FamilyEnv {
  readonly node: NodeFamilyEnv;
  readonly nodeAddresses: ReadonlySet<string>;
}

/** What the virtual servers of one service port share. */
interface PortTemplate {
  readonly sp: ServicePortState;
  readonly scheduler: string;
}

/** Accumulates virtual servers over service ports (and families). */
class DesiredBuilder {
  readonly virtualServers = new Map<string, DesiredVirtualServer>();
  readonly boundAddresses = new Set<string>();
  readonly nodePortAddresses = new Set<string>();
  readonly problems: IpvsDesiredProblem[] = [];
  readonly claims = new ClaimBook<DesiredVirtualServer>();
  private readonly scheduler: string;

  constructor(private readonly ctx: NodeContext, private readonly opts: VirtualServerOptions) {
    this.scheduler = opts.scheduler ?? DEFAULT_SCHEDULER;
    if (!KNOWN_SCHEDULERS.has(this.scheduler)) {
      throw new IpvsConfigError(`unknown IPVS scheduler "${this.scheduler}" (known: ${[...KNOWN_SCHEDULERS].join(', ')})`);
    }
  }

  private schedulerOf(sp: ServicePortState): string {
    const wanted = this.opts.schedulerFor?.(sp);
    if (wanted === undefined || wanted === '') return this.scheduler;
    if (KNOWN_SCHEDULERS.has(wanted)) return wanted;
    this.problems.push(new IpvsSchedulerError(sp.key, wanted, this.scheduler));
    return this.scheduler;
  }

  addFamily(family: IPFamily, state: FamilyState): void {
    const env: FamilyEnv = {
      node: familyEnv(family, this.ctx, this.opts.nodeIPs),
      // Addresses the node already has need no binding (and must never be unbound from their interface).
      nodeAddresses: new Set([...this.ctx.nodeIPs, ...(this.opts.nodeIPs ?? [])].map(ipvsAddress)),
    };
    for (const key of [...state.keys()].sort()) {
      const sp = state.get(key);
      if (sp !== undefined && sp.family === family) this.addServicePort(sp, env);
    }
  }

  private addServicePort(sp: ServicePortState, env: FamilyEnv): void {
    const policy = servicePortPolicy(sp, env.node);
    const frontends = policy.frontends.filter(servable(sp.family));
    const external = frontends.some((f) => f.kind !== 'cluster-ip');
    if (sp.clusterIP === undefined && !external) return;
    // One list of real servers per endpoint set, shared by the virtual servers that use it.
    const internalDests = sp.clusterIP === undefined ? [] : destinations(sp.family, policy.internal.endpoints);
    const externalDests = !external ? []
      : sp.clusterIP !== undefined && policy.external.localOnly === policy.internal.localOnly ? internalDests : destinations(sp.family, policy.external.endpoints);
    const port: PortTemplate = { sp, scheduler: this.schedulerOf(sp) };
    for (const f of frontends) this.add(port, f.kind, f.address, f.port, f.kind === 'cluster-ip' ? internalDests : externalDests, env);
  }

  private add(t: PortTemplate, kind: VirtualServerKind, rawAddress: string, port: number, destinations: readonly IpvsDestination[], env: FamilyEnv): void {
    const sp = t.sp;
    const address = ipvsAddress(rawAddress);
    const affinity = sp.affinityTimeoutSeconds > 0;
    const service: IpvsService = {
      af: sp.family,
      protocol: sp.protocol,
      address,
      port,
      scheduler: t.scheduler,
      // kube-proxy: ClientIP affinity is IPVS persistence, one client address per entry.
      flags: affinity ? IP_VS_SVC_F_PERSISTENT : 0,
      timeout: affinity ? sp.affinityTimeoutSeconds : 0,
      netmask: sp.family === 'IPv6' ? IPV6_NETMASK : IPV4_NETMASK,
    };
    const key = virtualServerKey(service);
    const vs: DesiredVirtualServer = { key, servicePort: sp.key, kind, service, destinations };
    const owner = this.claims.owner(key);
    if (owner === sp.key) return;
    // Ports come in key order, so the first claimant owns the virtual server (the state's claim rule).
    this.claims.add(key, sp.key, vs);
    if (owner !== undefined) {
      this.problems.push(new IpvsVirtualServerConflictError(key, sp.key, owner));
      return;
    }
    this.virtualServers.set(key, vs);
    if (kind === 'node-port') this.nodePortAddresses.add(address);
    else if (!env.nodeAddresses.has(address)) this.boundAddresses.add(address);
  }

  result(): DesiredIpvs {
    return { virtualServers: this.virtualServers, boundAddresses: this.boundAddresses, nodePortAddresses: this.nodePortAddresses, problems: this.problems, claims: this.claims };
  }
}

/** The virtual servers of one family. Throws IpvsConfigError when the node-wide scheduler is unknown. */
export function familyVirtualServers(family: IPFamily, state: FamilyState, ctx: NodeContext, opts: VirtualServerOptions = {}): DesiredIpvs {
  const b = new DesiredBuilder(ctx, opts);
  b.addFamily(family, state);
  return b.result();
}

/** The virtual servers of both families: what planIpvs compares with a (dual-stack) kernel dump. */
export function desiredVirtualServers(state: DesiredState, ctx: NodeContext, opts: VirtualServerOptions = {}): DesiredIpvs {
  const b = new DesiredBuilder(ctx, opts);
  b.addFamily('IPv4', state.IPv4);
  b.addFamily('IPv6', state.IPv6);
  return b.result();
}
