// The members of IPVS mode's ipsets as the last sync left them, kept per virtual server so that
// a partial sync changes only what its virtual servers put in or took out. A member stays while
// any virtual server puts it there (NodePort sets hold ports: one per node IP claims it; a real
// server serving two virtual servers of a port is one KUBE-LOOP-BACK member).
import type { IPFamily } from '../../model/types.js';
import { familySets, type IpsetDelta, type IpsetMember, type IpvsIpset } from './ipvs-ipsets.js';

export class IpsetBook {
  /** Set name -> member -> how many virtual servers put it there. */
  private readonly counts = new Map<string, Map<string, number>>();
  /** Virtual server key -> its members. */
  private readonly byServer = new Map<string, readonly IpsetMember[]>();
  /** Set name -> member -> +1 added / -1 removed since the last takeDeltas(). */
  private pending = new Map<string, Map<string, number>>();
  private readonly sets = new Map<string, IpvsIpset>();

  /** Replaces what virtual server `key` puts in the sets. */
  set(key: string, members: readonly IpsetMember[]): void {
    const before = this.byServer.get(key);
    for (const m of members) this.count(m, +1);
    if (before !== undefined) for (const m of before) this.count(m, -1);
    if (members.length > 0) this.byServer.set(key, members);
    else this.byServer.delete(key);
  }

  delete(key: string): void {
    this.set(key, []);
  }

  /** Every set of `family` with its members, sorted (what a full sync swaps in). */
  contents(family: IPFamily): { readonly set: IpvsIpset; readonly entries: string[] }[] {
    return familySets(family).map((set) => ({ set, entries: [...(this.counts.get(set.name)?.keys() ?? [])].sort() }));
  }

  /** How many members the set named `name` holds (what `ipset list -t` counts). */
  memberCount(name: string): number {
    return this.counts.get(name)?.size ?? 0;
  }

  /** What changed in the live sets since the last call (sorted), and forgets it. */
  takeDeltas(families: readonly IPFamily[]): IpsetDelta[] {
    const out: IpsetDelta[] = [];
    for (const [name, changes] of this.pending) {
      const set = this.sets.get(name);
      if (set === undefined || !families.includes(set.family)) continue;
      const add: string[] = [];
      const del: string[] = [];
      for (const [entry, d] of changes) (d > 0 ? add : del).push(entry);
      if (add.length + del.length > 0) out.push({ set, add: add.sort(), del: del.sort() });
    }
    this.pending = new Map();
    return out;
  }

  private count(m: IpsetMember, by: 1 | -1): void {
    const name = m.set.name;
    this.sets.set(name, m.set);
    let members = this.counts.get(name);
    if (members === undefined) {
      members = new Map();
      this.counts.set(name, members);
    }
    const n = (members.get(m.entry) ?? 0) + by;
    if (n > 0) members.set(m.entry, n);
    else members.delete(m.entry);
    // Only a member's appearance or disappearance changes the live set.
    if ((by > 0 && n === 1) || (by < 0 && n === 0)) {
      let changes = this.pending.get(name);
      if (changes === undefined) {
        changes = new Map();
        this.pending.set(name, changes);
      }
      const net = (changes.get(m.entry) ?? 0) + by;
      if (net === 0) changes.delete(m.entry);
      else changes.set(m.entry, net);
    }
  }
}
