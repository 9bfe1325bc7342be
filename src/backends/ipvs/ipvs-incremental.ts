// Partial IPVS syncs: the virtual servers of the changed service ports are recomputed and
// merged into what the last sync committed, and only those (plus any still draining a real
// server) are read back from the kernel and planned. A dump of every virtual server costs
// one netlink round trip per virtual server, which at 10,000 services is most of a sync;
// so is any pass over all of them in JavaScript, so the committed state is indexed by
// service port and updated in place (a failed sync drops it: the next one is full).
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState } from '../../state/types.js';
import { IpvsVirtualServerConflictError } from './errors.js';
import { assembleIpvsIptables, ipvsIptablesFragments, virtualServerRules, type IptablesFragment } from './ipvs-iptables.js';
import { ipvsAddress } from './ipvs-keys.js';
import type { DesiredIpvs, DesiredVirtualServer } from './virtual-servers.js';

/** The virtual server key of a real server's termination key (`<vs key>-><address>:<port>`). */
export function terminationServer(terminationKey: string): string {
  const at = terminationKey.lastIndexOf('->');
  return at < 0 ? terminationKey : terminationKey.slice(0, at);
}

export interface IpvsChange {
  /** The desired virtual servers to plan (the changed ports', new and old, and draining ones), with every bound address. */
  readonly plan: DesiredIpvs;
  /** Keys of the virtual servers in the plan that the kernel held before (to read back). */
  readonly known: ReadonlyMap<string, DesiredVirtualServer>;
  readonly problems: DesiredIpvs['problems'];
}

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** What the last successful sync left in the kernel, indexed for partial syncs. */
export class CommittedIpvs {
  private readonly byPort = new Map<string, string[]>();
  private readonly boundRefs = new Map<string, number>();
  readonly nodePortAddresses = new Set<string>();
  private readonly fragments = new Map<IPFamily, Map<string, IptablesFragment>>();
  /** The companion iptables rules as last restored, per family. */
  readonly iptables = new Map<IPFamily, string>();

  private constructor(
    readonly virtualServers: Map<string, DesiredVirtualServer>,
    private readonly nodeAddresses: ReadonlySet<string>,
  ) {
    for (const vs of virtualServers.values()) this.index(vs);
  }

  static fromFull(desired: DesiredIpvs, state: DesiredState, ctx: NodeContext): CommittedIpvs {
    const c = new CommittedIpvs(new Map(desired.virtualServers), new Set(ctx.nodeIPs.map(ipvsAddress)));
    for (const family of FAMILIES) c.fragments.set(family, ipvsIptablesFragments(family, desired, state[family], ctx));
    return c;
  }

  get boundAddresses(): Set<string> {
    return new Set(this.boundRefs.keys());
  }

  /**
   * Replaces the virtual servers of `changedPorts` by `subset` (computed for those ports alone).
   * A changed port may not take over an address and port an unchanged one holds: the holder
   * keeps it and the conflict is reported, as a full computation would.
   */
  apply(subset: DesiredIpvs, changedPorts: ReadonlySet<string>, draining: ReadonlySet<string>): IpvsChange {
    const planned = new Map<string, DesiredVirtualServer>();
    const known = new Map<string, DesiredVirtualServer>();
    for (const key of draining) {
      const vs = this.virtualServers.get(key);
      if (vs !== undefined) known.set(key, vs);
    }
    for (const port of changedPorts) {
      for (const key of this.byPort.get(port) ?? []) {
        const vs = this.virtualServers.get(key);
        if (vs === undefined) continue;
        known.set(key, vs);
        this.unindex(vs);
        this.virtualServers.delete(key);
      }
    }
    const problems = [...subset.problems];
    for (const [key, vs] of subset.virtualServers) {
      const holder = this.virtualServers.get(key);
      if (holder !== undefined) {
        problems.push(new IpvsVirtualServerConflictError(key, vs.servicePort, holder.servicePort));
        continue;
      }
      this.virtualServers.set(key, vs);
      this.index(vs);
    }
    for (const key of known.keys()) {
      const vs = this.virtualServers.get(key);
      if (vs !== undefined) planned.set(key, vs);
    }
    for (const [key, vs] of subset.virtualServers) if (this.virtualServers.get(key) === vs) planned.set(key, vs);
    return { plan: { virtualServers: planned, boundAddresses: this.boundAddresses, nodePortAddresses: this.nodePortAddresses, problems }, known, problems };
  }

  /**
   * Updates the fragments of the changed ports' virtual servers; returns the families whose
   * rule text changed, with the new text (an endpoint change usually changes none).
   */
  updateIptables(change: IpvsChange, state: DesiredState, ctx: NodeContext): Map<IPFamily, string> {
    const touched = new Set<IPFamily>();
    for (const family of FAMILIES) {
      const fragments = this.fragments.get(family) ?? new Map<string, IptablesFragment>();
      this.fragments.set(family, fragments);
      for (const key of change.known.keys()) {
        if (!this.virtualServers.has(key) && fragments.delete(key)) touched.add(family);
      }
      for (const vs of change.plan.virtualServers.values()) {
        if (vs.service.af !== family) continue;
        const next = virtualServerRules(family, vs, state[family].get(vs.servicePort)?.externalPolicyLocal === true, ctx);
        const prev = fragments.get(vs.key);
        if (prev !== undefined && prev.nat === next.nat && prev.filter === next.filter) continue;
        fragments.set(vs.key, next);
        touched.add(family);
      }
    }
    const out = new Map<IPFamily, string>();
    for (const family of touched) out.set(family, assembleIpvsIptables(this.fragments.get(family) as Map<string, IptablesFragment>, ctx));
    return out;
  }

  private index(vs: DesiredVirtualServer): void {
    const keys = this.byPort.get(vs.servicePort);
    if (keys === undefined) this.byPort.set(vs.servicePort, [vs.key]);
    else keys.push(vs.key);
    if (vs.kind === 'node-port') this.nodePortAddresses.add(vs.service.address);
    else if (!this.nodeAddresses.has(ipvsAddress(vs.service.address))) this.boundRefs.set(vs.service.address, (this.boundRefs.get(vs.service.address) ?? 0) + 1);
  }

  private unindex(vs: DesiredVirtualServer): void {
    const keys = (this.byPort.get(vs.servicePort) ?? []).filter((k) => k !== vs.key);
    if (keys.length === 0) this.byPort.delete(vs.servicePort);
    else this.byPort.set(vs.servicePort, keys);
    if (vs.kind === 'node-port' || this.nodeAddresses.has(ipvsAddress(vs.service.address))) return;
    const n = (this.boundRefs.get(vs.service.address) ?? 0) - 1;
    if (n <= 0) this.boundRefs.delete(vs.service.address);
    else this.boundRefs.set(vs.service.address, n);
  }
}
