// Partial IPVS syncs: the virtual servers of the changed service ports are recomputed and
// merged into what the last sync committed, and only those (plus any still draining a real
// server) are read back from the kernel and planned. A dump of every virtual server costs
// one netlink round trip per virtual server, which at 10,000 services is most of a sync;
// so is any pass over all of them in JavaScript, so the committed state is indexed by
// service port and updated in place (a failed sync drops it: the next one is full). The
// ipset members are kept per virtual server alongside (ipvs-ipset-book.ts).
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState } from '../../state/types.js';
import { ClaimBook } from '../../state/claims.js';
import { IpvsVirtualServerConflictError, type IpvsDesiredProblem } from './errors.js';
import { IpsetBook } from './ipvs-ipset-book.js';
import { virtualServerMembers } from './ipvs-ipsets.js';
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
  /** Service port -> the virtual server keys it claims (owned or not). */
  private readonly byPort = new Map<string, string[]>();
  private readonly boundRefs = new Map<string, number>();
  readonly nodePortAddresses = new Set<string>();
  /** The ipset members of every virtual server the kernel holds. */
  readonly ipsets = new IpsetBook();

  private constructor(
    /** The owners' virtual servers: what the kernel holds. */
    readonly virtualServers: Map<string, DesiredVirtualServer>,
    private readonly claims: ClaimBook<DesiredVirtualServer>,
    private readonly nodeAddresses: ReadonlySet<string>,
  ) {
    for (const [key, port] of claims.entries()) this.claimedBy(port).push(key);
    for (const vs of virtualServers.values()) this.bind(vs);
  }

  static fromFull(desired: DesiredIpvs, state: DesiredState, ctx: NodeContext): CommittedIpvs {
    const c = new CommittedIpvs(new Map(desired.virtualServers), new ClaimBook(desired.claims), new Set(ctx.nodeIPs.map(ipvsAddress)));
    for (const vs of desired.virtualServers.values()) c.ipsets.set(vs.key, virtualServerMembers(vs, state[vs.service.af].get(vs.servicePort), ctx));
    // A full sync writes whole sets: nothing is pending.
    c.ipsets.takeDeltas(FAMILIES);
    return c;
  }

  get boundAddresses(): Set<string> {
    return new Set(this.boundRefs.keys());
  }

  /**
   * Replaces the claims of `changedPorts` by those of `subset` (computed for those ports alone).
   * Every contested virtual server goes to its first claimant by key, as in a full computation,
   * whichever port changed; a changed port that loses one is reported.
   */
  apply(subset: DesiredIpvs, changedPorts: ReadonlySet<string>, draining: ReadonlySet<string>): IpvsChange {
    const known = new Map<string, DesiredVirtualServer>();
    for (const key of draining) {
      const vs = this.virtualServers.get(key);
      if (vs !== undefined) known.set(key, vs);
    }
    const touched = new Set<string>();
    for (const port of changedPorts) {
      for (const key of this.byPort.get(port) ?? []) {
        this.claims.remove(key, port);
        touched.add(key);
      }
      this.byPort.delete(port);
    }
    for (const [key, port, vs] of subset.claims.entries()) {
      this.claims.add(key, port, vs);
      this.claimedBy(port).push(key);
      touched.add(key);
    }
    // Conflicts are judged against every claim, not only the subset's.
    const problems: IpvsDesiredProblem[] = subset.problems.filter((p) => !(p instanceof IpvsVirtualServerConflictError));
    const planned = new Map<string, DesiredVirtualServer>();
    for (const key of touched) {
      const before = this.virtualServers.get(key);
      if (before !== undefined) known.set(key, before);
      const after = this.claims.winner(key);
      if (before !== after) {
        if (before !== undefined) this.unbind(before);
        if (after === undefined) this.virtualServers.delete(key);
        else {
          this.virtualServers.set(key, after);
          this.bind(after);
        }
      }
      const owner = this.claims.owner(key);
      for (const port of this.claims.claimants(key).slice(1)) {
        if (owner !== undefined && changedPorts.has(port)) problems.push(new IpvsVirtualServerConflictError(key, port, owner));
      }
    }
    for (const key of [...known.keys(), ...touched]) {
      const vs = this.virtualServers.get(key);
      if (vs !== undefined) planned.set(key, vs);
    }
    return { plan: { virtualServers: planned, boundAddresses: this.boundAddresses, nodePortAddresses: this.nodePortAddresses, problems, claims: this.claims }, known, problems };
  }

  /** Updates the ipset members of the virtual servers `change` planned (and of those it removed). */
  updateIpsets(change: IpvsChange, state: DesiredState, ctx: NodeContext): void {
    for (const key of change.known.keys()) if (!this.virtualServers.has(key)) this.ipsets.delete(key);
    for (const vs of change.plan.virtualServers.values()) this.ipsets.set(vs.key, virtualServerMembers(vs, state[vs.service.af].get(vs.servicePort), ctx));
  }

  private claimedBy(port: string): string[] {
    let keys = this.byPort.get(port);
    if (keys === undefined) {
      keys = [];
      this.byPort.set(port, keys);
    }
    return keys;
  }

  private bind(vs: DesiredVirtualServer): void {
    if (vs.kind === 'node-port') this.nodePortAddresses.add(vs.service.address);
    else if (!this.nodeAddresses.has(ipvsAddress(vs.service.address))) this.boundRefs.set(vs.service.address, (this.boundRefs.get(vs.service.address) ?? 0) + 1);
  }

  private unbind(vs: DesiredVirtualServer): void {
    if (vs.kind === 'node-port' || this.nodeAddresses.has(ipvsAddress(vs.service.address))) return;
    const n = (this.boundRefs.get(vs.service.address) ?? 0) - 1;
    if (n <= 0) this.boundRefs.delete(vs.service.address);
    else this.boundRefs.set(vs.service.address, n);
  }
}
