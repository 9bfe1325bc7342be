// The difference between the virtual servers svcplane wants and a kernel dump,
// as the netlink requests that remove it. Only differences are sent; settings
// of a live virtual server change in place (IPVS_CMD_SET_SERVICE) so that its
// connections survive; unwanted real servers drain first (graceful-termination.ts).
//
// Ownership, as kube-proxy decides it: a virtual server is svcplane's when its
// address is bound to kube-ipvs0, or is a node IP svcplane serves NodePorts on
// (now or in an earlier sync: the caller passes both in ownedAddresses), or is
// wanted now. Anything else in the kernel (another IPVS user's services,
// fwmark services) is never touched.
import { retire, type TerminationOptions } from './graceful-termination.js';
import { destinationKey, ipvsAddress, virtualServerKey } from './ipvs-keys.js';
import { IP_VS_SVC_F_HASHED, type IpvsDestination, type IpvsOp, type IpvsService, type IpvsVirtualServerDump } from './ipvs-types.js';
import type { DesiredIpvs, DesiredVirtualServer } from './virtual-servers.js';

export interface IpvsCurrentState {
  /** Every virtual server in the kernel (a dump of both families), with real servers and their counts. */
  readonly services: readonly IpvsVirtualServerDump[];
  /** The addresses on kube-ipvs0 now. */
  readonly boundAddresses: ReadonlySet<string>;
}

export interface IpvsPlanOptions extends TerminationOptions {
  /**
   * Addresses whose virtual servers are svcplane's besides those on kube-ipvs0 (always owned):
   * the node IPs NodePorts are served on now and were served on in earlier syncs.
   */
  readonly ownedAddresses: ReadonlySet<string>;
}

export interface IpvsPlan {
  /** In order: stale virtual servers deleted, then per wanted virtual server its service op and real server ops. */
  readonly ops: IpvsOp[];
  /** Real servers draining after this plan is applied: pass it to the next plan. */
  readonly terminating: Map<string, number>;
  /** kube-ipvs0 changes, sorted. */
  readonly addresses: { readonly add: string[]; readonly remove: string[] };
}

/** Settings that IPVS_CMD_SET_SERVICE changes in place. The kernel adds IP_VS_SVC_F_HASHED by itself. */
function sameSettings(a: IpvsService, b: IpvsService): boolean {
  return a.scheduler === b.scheduler && (a.flags & ~IP_VS_SVC_F_HASHED) === (b.flags & ~IP_VS_SVC_F_HASHED) && a.timeout === b.timeout && a.netmask === b.netmask;
}

function sameDestination(a: IpvsDestination, b: IpvsDestination): boolean {
  return a.weight === b.weight && a.forwardMethod === b.forwardMethod && a.upperThreshold === b.upperThreshold && a.lowerThreshold === b.lowerThreshold;
}

function canonicalSet(addresses: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const a of addresses) out.add(ipvsAddress(a));
  return out;
}

function sortedDifference(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const x of a) if (!b.has(x)) out.push(x);
  return out.sort();
}

/**
 * The common steady state, checked without building keys: the kernel holds exactly the wanted
 * real servers with the wanted settings, listed in the same or the reverse order (the kernel
 * lists the newest first, and they were added sorted). Anything else takes the keyed path.
 */
function inStep(want: readonly IpvsDestination[], have: readonly IpvsDestination[]): boolean {
  const n = want.length;
  if (have.length !== n) return false;
  if (n === 0) return true;
  const reversed = want[0]?.address !== have[0]?.address || want[0]?.port !== have[0]?.port;
  for (let i = 0; i < n; i++) {
    const w = want[i] as IpvsDestination;
    const h = have[reversed ? n - 1 - i : i] as IpvsDestination;
    if (w.address !== h.address || w.port !== h.port || !sameDestination(w, h)) return false;
  }
  return true;
}

class PlanWriter {
  readonly ops: IpvsOp[] = [];
  readonly terminating = new Map<string, number>();

  constructor(private readonly opts: IpvsPlanOptions) {}

  /** A wanted virtual server the kernel does not have. */
  create(vs: DesiredVirtualServer): void {
    this.ops.push({ op: 'new-service', service: vs.service });
    for (const dest of vs.destinations) this.ops.push({ op: 'new-dest', service: vs.service, dest });
  }

  /** A wanted virtual server the kernel has: its settings, then its real servers. */
  reconcile(vs: DesiredVirtualServer, current: IpvsVirtualServerDump): void {
    const service = vs.service;
    if (!sameSettings(service, current.service)) this.ops.push({ op: 'update-service', service });

    if (inStep(vs.destinations, current.destinations)) return;

    const have = new Map<string, IpvsDestination>();
    for (const d of current.destinations) have.set(destinationKey(vs.key, d), d);
    for (const dest of vs.destinations) {
      const key = destinationKey(vs.key, dest);
      const cur = have.get(key);
      if (cur === undefined) {
        this.ops.push({ op: 'new-dest', service, dest });
        continue;
      }
      have.delete(key);
      // Also cancels a termination: the real server is back, with its weight.
      if (!sameDestination(dest, cur)) this.ops.push({ op: 'update-dest', service, dest });
    }
    for (const [key, cur] of have) this.retire(key, service, cur);
  }

  private retire(key: string, service: IpvsService, cur: IpvsDestination): void {
    const decision = retire(key, service.protocol, cur, this.opts);
    if (decision.action === 'delete') {
      this.ops.push({ op: 'del-dest', service, dest: withoutCounts(cur, cur.weight) });
      return;
    }
    this.terminating.set(key, decision.since);
    if (decision.zeroWeight) this.ops.push({ op: 'update-dest', service, dest: withoutCounts(cur, 0) });
  }
}

/** The dump's real server as a request: counts are the kernel's, never sent back. */
export function withoutCounts(d: IpvsDestination, weight: number): IpvsDestination {
  return { address: d.address, port: d.port, forwardMethod: d.forwardMethod, weight, upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold };
}

/** The ops that turn `current` into `desired`, touching only svcplane's virtual servers. */
export function planIpvs(desired: DesiredIpvs, current: IpvsCurrentState, opts: IpvsPlanOptions): IpvsPlan {
  const bound = canonicalSet(current.boundAddresses);
  const owned = canonicalSet(opts.ownedAddresses);
  const isOwned = (s: IpvsService): boolean => {
    if (s.fwmark !== undefined && s.fwmark > 0) return false;
    const a = ipvsAddress(s.address);
    return bound.has(a) || owned.has(a);
  };

  const writer = new PlanWriter(opts);
  const byKey = new Map<string, IpvsVirtualServerDump>();
  for (const vs of current.services) {
    const key = virtualServerKey(vs.service);
    byKey.set(key, vs);
    // Deleting a virtual server deletes its real servers, draining or not (as kube-proxy does).
    if (!desired.virtualServers.has(key) && isOwned(vs.service)) writer.ops.push({ op: 'del-service', service: vs.service });
  }
  for (const vs of desired.virtualServers.values()) {
    const cur = byKey.get(vs.key);
    if (cur === undefined) writer.create(vs);
    else writer.reconcile(vs, cur);
  }

  return {
    ops: writer.ops,
    terminating: writer.terminating,
    addresses: { add: sortedDifference(desired.boundAddresses, bound), remove: sortedDifference(bound, desired.boundAddresses) },
  };
}
