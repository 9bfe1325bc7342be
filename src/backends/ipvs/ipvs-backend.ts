// The thin applier of the IPVS mode: a full sync reads the kernel's virtual servers and the
// addresses on kube-ipvs0 back, plans the difference (ipvs-planner.ts), and sends it in netlink
// batches; a partial sync plans against what the agent last read and wrote (ipvs-dump-cache.ts).
// The companion iptables rules are fixed and match ipsets whose members follow the virtual
// servers. Graceful termination state is carried from sync to sync.
import type { Logger } from 'pino';
import type { IpvsOperation } from '../../kernel/netlink/ipvs.js';
import { NetlinkError } from '../../kernel/netlink/errors.js';
import type { IpvsClient } from '../../kernel/netlink/ipvs.js';
import type { RtnetlinkClient } from '../../kernel/netlink/rtnetlink.js';
import type { Sysctl } from '../../kernel/sysctl.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState, FamilyState, StateChanges } from '../../state/types.js';
import { SvcplaneError } from '../../util/errors.js';
import type { ProxyBackend, SyncOutcome } from '../backend.js';
import { planIpvs } from './ipvs-planner.js';
import { KUBE_IPVS_INTERFACE, type IpvsOp, type IpvsVirtualServerDump } from './ipvs-types.js';
import { SCHEDULER_ANNOTATION, desiredVirtualServers, type DesiredIpvs, type VirtualServerOptions } from './virtual-servers.js';
import { CommittedIpvs, terminationServer } from './ipvs-incremental.js';
import { IPVS_IPTABLES_CHAINS, IPVS_IPTABLES_JUMPS, renderIpvsIptables } from './ipvs-iptables.js';
import { IpvsDumpCache } from './ipvs-dump-cache.js';
import { hasRule, type IptablesKernel } from '../../kernel/iptables.js';
import type { IPFamily } from '../../model/types.js';
import type { IpsetKernel } from '../../kernel/ipset.js';
import { IPVS_IPSETS, ipsetDeltaRestore, ipsetRestore } from './ipvs-ipsets.js';
import { drainedRealServers, procTableDrift, type ProcTableDrift } from './ipvs-proc-table.js';
import { addressDrift, ipsetDrift, iptablesDrift } from './ipvs-drift.js';

export class IpvsApplyError extends SvcplaneError {
  override readonly code = 'SVCPLANE_IPVS_APPLY_FAILED';
}

/** The kernel settings kube-proxy's IPVS mode needs, and why. */
export const IPVS_SYSCTLS: ReadonlyArray<readonly [string, number, string]> = [
  ['net.ipv4.ip_forward', 1, 'forward to real servers on other hosts'],
  ['net.ipv4.vs.conntrack', 1, 'let iptables NAT (masquerade) see IPVS connections'],
  ['net.ipv4.vs.expire_nodest_conn', 1, 'drop connections to deleted real servers at once'],
  ['net.ipv4.vs.expire_quiescent_template', 1, 'expire persistence templates of weight-0 real servers'],
  ['net.ipv4.vs.conn_reuse_mode', 0, 'avoid the 1 s stall on port reuse with conntrack enabled'],
  ['net.ipv4.conf.all.arp_ignore', 1, 'do not answer ARP for addresses on kube-ipvs0'],
  ['net.ipv4.conf.all.arp_announce', 2, 'do not announce addresses on kube-ipvs0'],
];

/** include/uapi/linux/rtnetlink.h: enum rt_scope_t */
const RT_SCOPE_LINK = 253;

/** How the kernel answers a request about a virtual server it does not have. */
const MISSING_SERVICE: ReadonlySet<string> = new Set(['ESRCH', 'ENOENT']);

/** kube-apiserver's default --service-node-port-range. */
const NODE_PORT_RANGE = [30000, 32767] as const;

export interface IpvsBackendOptions {
  readonly ctx: NodeContext;
  readonly ipvs: Pick<IpvsClient, 'getServices' | 'getDestinations' | 'batch'>;
  readonly rtnl: Pick<RtnetlinkClient, 'getLinkIndex' | 'createDummy' | 'setLinkUp' | 'listAddresses' | 'addAddresses' | 'deleteAddresses' | 'deleteLink'>;
  readonly sysctl: Pick<Sysctl, 'ensure'>;
  /** iptables per family for the masquerade/REJECT companion rules; a family without one gets none. */
  readonly iptables?: Partial<Record<IPFamily, IptablesKernel>>;
  /** The ipsets the companion rules match (required with `iptables`: the rules name them). */
  readonly ipset?: IpsetKernel;
  readonly logger: Logger;
  readonly scheduler?: string;
  /** How long a removed real server may drain before it is deleted anyway. */
  readonly gracePeriodMs?: number;
  readonly now?: () => number;
  /** /proc/net/ip_vs of the namespace programmed (src/kernel/ipvs-proc.ts); without it every periodic sync is full. */
  readonly readTable?: () => string;
}

interface SyncWork {
  readonly kind: 'full' | 'partial';
  /** Every virtual server after this sync (committed once the kernel took the plan). */
  readonly committed: CommittedIpvs;
  /** What is planned: every virtual server on a full sync, the changed and draining ones on a partial one. */
  readonly plan: DesiredIpvs;
  readonly problems: DesiredIpvs['problems'];
  readonly current: { readonly services: IpvsVirtualServerDump[]; readonly boundAddresses: ReadonlySet<string> };
  /** The kernel's virtual servers as known after this sync's reads (the plan's ops still to apply). */
  readonly cache: IpvsDumpCache;
  /** How many virtual servers were read from the kernel. */
  readonly readBack: number;
  /** Companion iptables rule sets to restore, per family (full syncs only: they never change with the services). */
  readonly iptables: Map<IPFamily, string>;
}

function toOperation(op: IpvsOp): IpvsOperation {
  switch (op.op) {
    case 'new-service':
      return { op: 'newService', service: op.service };
    case 'update-service':
      return { op: 'updateService', service: op.service };
    case 'del-service':
      return { op: 'delService', service: op.service };
    case 'new-dest':
      return { op: 'newDestination', service: op.service, destination: op.dest };
    case 'update-dest':
      return { op: 'updateDestination', service: op.service, destination: op.dest };
    case 'del-dest':
      return { op: 'delDestination', service: op.service, destination: op.dest };
  }
}

export class IpvsBackend implements ProxyBackend {
  readonly mode = 'ipvs';
  private ctx: NodeContext;
  private terminating = new Map<string, number>();
  /** Node IPs NodePorts were ever served on, so their virtual servers stay ours when an IP goes. */
  private readonly nodePortAddresses = new Set<string>();
  private sysctlsDone = false;
  /** What the last successful sync left in the kernel; undefined forces a full sync. */
  private committed: CommittedIpvs | undefined;
  /** The kernel's virtual servers as of the last successful sync; undefined with `committed`. */
  private cache: IpvsDumpCache | undefined;

  constructor(private readonly opts: IpvsBackendOptions) {
    this.ctx = opts.ctx;
  }

  setContext(ctx: NodeContext): void {
    this.ctx = ctx;
    this.committed = undefined;
    this.cache = undefined;
  }

  private async ensureSysctls(): Promise<void> {
    if (this.sysctlsDone) return;
    for (const [name, value, why] of IPVS_SYSCTLS) {
      const previous = await this.opts.sysctl.ensure(name, value);
      if (previous !== undefined) this.opts.logger.info({ sysctl: name, from: previous, to: value, why }, 'set kernel parameter for IPVS');
    }
    this.sysctlsDone = true;
  }

  private dummyIndex(): number {
    const { rtnl } = this.opts;
    const existing = this.dummyIndexIfPresent();
    if (existing !== undefined) return existing;
    rtnl.createDummy(KUBE_IPVS_INTERFACE);
    const index = rtnl.getLinkIndex(KUBE_IPVS_INTERFACE);
    rtnl.setLinkUp(index);
    return index;
  }

  /** kube-ipvs0's index; undefined only when the kernel says there is no such link (ENODEV). */
  private dummyIndexIfPresent(): number | undefined {
    try {
      return this.opts.rtnl.getLinkIndex(KUBE_IPVS_INTERFACE);
    } catch (err) {
      if (err instanceof NetlinkError && err.errnoName === 'ENODEV') return undefined;
      throw err;
    }
  }

  /** The VIPs on kube-ipvs0: the kernel's own link-local IPv6 address there is not one of ours. */
  private boundVips(index: number): Set<string> {
    return new Set(this.opts.rtnl.listAddresses(index).filter((a) => a.scope !== RT_SCOPE_LINK).map((a) => a.address));
  }

  private dump(): IpvsVirtualServerDump[] {
    return this.opts.ipvs.getServices().map((service) => ({ service, destinations: this.opts.ipvs.getDestinations(service) }));
  }

  /**
   * Without `changes` (or after a failure) the sync is full: every virtual server is read back
   * and repaired, the ipsets and companion rules rewritten. With `changes`, only the changed
   * service ports' virtual servers and those still draining a real server are planned
   * (ipvs-incremental.ts), against the cache; only those that would lose a real server are
   * read from the kernel (their connection counts decide), and the ipsets get the members
   * that changed.
   */
  async sync(state: DesiredState, changes?: StateChanges): Promise<SyncOutcome> {
    await this.ensureSysctls();
    const index = this.dummyIndex();
    const committed = this.committed;
    const cache = this.cache;
    // Whatever happens below, a failure makes the next sync full.
    this.committed = undefined;
    this.cache = undefined;
    const work = changes !== undefined && committed !== undefined && cache !== undefined ? this.partialWork(state, changes, committed, cache) : this.fullWork(state, index);
    for (const p of work.problems) this.opts.logger.warn({ problem: p.message }, 'IPVS virtual server problem');
    for (const a of work.committed.nodePortAddresses) this.nodePortAddresses.add(a);
    const plan = planIpvs(work.plan, work.current, {
      gracePeriodMs: this.opts.gracePeriodMs ?? 15 * 60_000,
      now: (this.opts.now ?? Date.now)(),
      terminating: this.terminating,
      ownedAddresses: this.nodePortAddresses,
    });
    // Addresses first (a new VIP must be local before traffic for it arrives), removals last.
    this.check('bind addresses', this.opts.rtnl.addAddresses(index, plan.addresses.add.map((address) => ({ address }))));
    this.check('program virtual servers', this.opts.ipvs.batch(plan.ops.map(toOperation)));
    this.check('unbind addresses', this.opts.rtnl.deleteAddresses(index, plan.addresses.remove.map((address) => ({ address }))));
    // Every draining virtual server is among those planned, so the plan's list is complete.
    this.terminating = plan.terminating;
    work.cache.apply(plan.ops);
    // The sets before the rules: a rule naming a set that does not exist yet is refused.
    const ipsetEntries = await this.syncIpsets(work.committed, work.kind === 'full');
    const restoreLines = await this.syncIptables(work.iptables, work.kind === 'full');
    this.committed = work.committed;
    this.cache = work.cache;
    return {
      kind: work.kind,
      ruleCounts: { virtualServers: work.committed.virtualServers.size },
      sent: {
        netlinkMessages: plan.ops.length + plan.addresses.add.length + plan.addresses.remove.length,
        readBack: work.readBack, draining: plan.terminating.size, restoreLines, ipsetEntries,
      },
    };
  }

  private virtualServerOptions(): VirtualServerOptions {
    return { ...(this.opts.scheduler ? { scheduler: this.opts.scheduler } : {}), schedulerFor: (sp) => sp.modeAnnotations?.[SCHEDULER_ANNOTATION] };
  }

  private fullWork(state: DesiredState, index: number): SyncWork {
    const desired = desiredVirtualServers(state, this.ctx, this.virtualServerOptions());
    const committed = CommittedIpvs.fromFull(desired, state, this.ctx);
    const iptables = new Map<IPFamily, string>();
    for (const family of this.families()) iptables.set(family, renderIpvsIptables(family, this.ctx));
    const current = { services: this.dump(), boundAddresses: this.boundVips(index) };
    const cache = IpvsDumpCache.fromDump(current.services);
    return { kind: 'full', committed, plan: desired, problems: desired.problems, current, cache, readBack: current.services.length, iptables };
  }

  /** The families with companion rules (and so ipsets). */
  private families(): IPFamily[] {
    return Object.keys(this.opts.iptables ?? {}) as IPFamily[];
  }

  private partialWork(state: DesiredState, changes: StateChanges, committed: CommittedIpvs, cache: IpvsDumpCache): SyncWork {
    const pick = (family: FamilyState, keys: ReadonlySet<string>): FamilyState => new Map([...keys].flatMap((k) => { const sp = family.get(k); return sp ? [[k, sp] as const] : []; }));
    const subset = desiredVirtualServers({ IPv4: pick(state.IPv4, changes.IPv4), IPv6: pick(state.IPv6, changes.IPv6) }, this.ctx, this.virtualServerOptions());
    const draining = new Set([...this.terminating.keys()].map(terminationServer));
    const bound = committed.boundAddresses;
    const change = committed.apply(subset, new Set([...changes.IPv4, ...changes.IPv6]), draining);
    const services: IpvsVirtualServerDump[] = [];
    let readBack = 0;
    for (const [key, known] of change.known) {
      const want = change.plan.virtualServers.get(key);
      const cached = cache.get(key);
      // Nothing to retire: what the agent last read and wrote is enough.
      if (want === undefined || cache.enoughFor(want)) {
        if (cached !== undefined) services.push(cached);
        continue;
      }
      readBack++;
      try {
        const vs = { service: cached?.service ?? known.service, destinations: this.opts.ipvs.getDestinations(known.service) };
        cache.replace(vs, key);
        services.push(vs);
      } catch (err) {
        // Gone from the kernel (deleted by hand): planned as missing, so it is created again.
        // Any other failure fails the sync, which is retried as a full one.
        if (!(err instanceof NetlinkError && MISSING_SERVICE.has(err.errnoName))) throw err;
        cache.forget(key);
      }
    }
    committed.updateIpsets(change, state, this.ctx);
    return { kind: 'partial', committed, plan: change.plan, problems: change.problems, current: { services, boundAddresses: bound }, cache, readBack, iptables: new Map() };
  }

  /**
   * Makes each family's ipsets hold what `committed` (all virtual servers after this sync) calls
   * for: a full sync swaps in every set whole (repairing drift), a partial one adds and deletes
   * the members that changed, in one `ipset restore` each. Returns the number of members written.
   */
  private async syncIpsets(committed: CommittedIpvs, full: boolean): Promise<number> {
    const ipset = this.opts.ipset;
    const families = this.families();
    if (ipset === undefined) return 0;
    let written = 0;
    if (!full) {
      const deltas = committed.ipsets.takeDeltas(families);
      for (const d of deltas) written += d.add.length + d.del.length;
      if (written > 0) await ipset.restore(ipsetDeltaRestore(deltas));
      return written;
    }
    for (const family of families) {
      let text = '';
      for (const { set, entries } of committed.ipsets.contents(family)) {
        text += ipsetRestore(set, entries);
        written += entries.length;
      }
      await ipset.restore(text);
    }
    return written;
  }

  /** Restores the companion rules of the families whose text changed; full syncs also check the jumps. */
  private async syncIptables(texts: ReadonlyMap<IPFamily, string>, checkJumps: boolean): Promise<number> {
    let sent = 0;
    for (const [family, text] of texts) {
      const kernel = this.opts.iptables?.[family];
      if (kernel === undefined) continue;
      await kernel.restore(text, { noflush: true });
      sent += text.split('\n').length - 1;
      if (!checkJumps) continue;
      const saved = { nat: await kernel.save('nat'), filter: await kernel.save('filter') };
      for (const j of [...IPVS_IPTABLES_JUMPS].reverse()) if (!hasRule(saved[j.table], j)) await kernel.ensureRule(j.table, j.chain, j.args, 'prepend');
    }
    return sent;
  }

  /**
   * What a periodic sync must repair, read without a netlink request per virtual server: the
   * whole IPVS table in one read of /proc/net/ip_vs against the dump cache, kube-ipvs0's
   * addresses, each ipset's member count, the companion chains' rule counts and jumps. Real
   * servers that finished draining are deleted here, as kube-proxy's graceful termination
   * manager does on its own timer: a clean check means no sync, and they must not wait for
   * the hourly full one.
   */
  async checkDrift(): Promise<readonly string[]> {
    const { committed, cache, opts } = this;
    if (committed === undefined || cache === undefined) return ['nothing committed since the last failure or context change'];
    if (opts.readTable === undefined) return ['no reader of /proc/net/ip_vs: every periodic sync is full'];
    // Compared before the drained real servers go: they are in both the kernel and the cache until then.
    const { drift: out, watched } = procTableDrift(opts.readTable(), cache, this.terminating);
    this.retireDrained(watched, cache);
    const index = this.dummyIndexIfPresent();
    if (index === undefined) out.push(`${KUBE_IPVS_INTERFACE} is missing`);
    else out.push(...addressDrift(this.boundVips(index), committed.boundAddresses));
    const families = this.families();
    if (opts.ipset !== undefined && families.length > 0) out.push(...ipsetDrift(await opts.ipset.entryCounts(), committed.ipsets, families));
    for (const family of families) {
      const kernel = opts.iptables?.[family];
      if (kernel === undefined) continue;
      const [nat, filter] = await Promise.all([kernel.save('nat'), kernel.save('filter')]);
      out.push(...iptablesDrift(family, { nat, filter }, renderIpvsIptables(family, this.ctx)));
    }
    return out;
  }

  /** Deletes the draining real servers whose connections ended or whose grace period is over (kernel and cache alike). */
  private retireDrained(held: ProcTableDrift['watched'], cache: IpvsDumpCache): void {
    if (this.terminating.size === 0) return;
    const options = { gracePeriodMs: this.opts.gracePeriodMs ?? 15 * 60_000, now: (this.opts.now ?? Date.now)(), terminating: this.terminating };
    const { ops, retired } = drainedRealServers(held, cache, options);
    if (ops.length === 0) return;
    this.check('delete drained real servers', this.opts.ipvs.batch(ops.map(toOperation)));
    cache.apply(ops);
    for (const key of retired) this.terminating.delete(key);
    this.opts.logger.info({ realServers: ops.length }, 'deleted drained real servers');
  }

  private check(what: string, results: readonly (NetlinkError | undefined)[]): void {
    const failed = results.filter((r): r is NetlinkError => r !== undefined);
    if (failed.length === 0) return;
    throw new IpvsApplyError(`${what}: ${failed.length} of ${results.length} requests failed; first: ${failed[0]?.message}`);
  }

  /** Whether IPVS mode left anything behind (kube-ipvs0 exists). */
  async hasLeftovers(): Promise<boolean> {
    return this.dummyIndexIfPresent() !== undefined;
  }

  /**
   * Deletes svcplane's virtual servers and kube-ipvs0: those on kube-ipvs0's addresses, and
   * NodePorts (the default NodePort range) on this node's addresses. Nothing else. The node's
   * addresses are every address of this network namespace as well as the ones this backend
   * knows: `svcplane cleanup` runs without a node context, and must still find the NodePorts.
   */
  async cleanup(): Promise<void> {
    const { rtnl, ipvs } = this.opts;
    const index = this.dummyIndexIfPresent();
    const vips = index === undefined ? new Set<string>() : this.boundVips(index);
    const local = rtnl.listAddresses().filter((a) => a.index !== index).map((a) => a.address);
    const nodeIPs = new Set([...this.nodePortAddresses, ...this.ctx.nodeIPs, ...local]);
    const isOurs = (s: { fwmark?: number; address: string; port: number }): boolean =>
      !s.fwmark && (vips.has(s.address) || (nodeIPs.has(s.address) && s.port >= NODE_PORT_RANGE[0] && s.port <= NODE_PORT_RANGE[1]));
    const ops: IpvsOperation[] = ipvs.getServices().filter(isOurs).map((service) => ({ op: 'delService', service }));
    this.check('delete virtual servers', ipvs.batch(ops));
    if (index !== undefined) rtnl.deleteLink(index);
    for (const kernel of Object.values(this.opts.iptables ?? {})) {
      for (const j of IPVS_IPTABLES_JUMPS) await kernel.deleteRule(j.table, j.chain, j.args);
      const blocks: string[] = [];
      for (const table of ['filter', 'nat'] as const) {
        const present = await kernel.listChains(table);
        const ours = IPVS_IPTABLES_CHAINS[table].filter((c) => present.has(c));
        if (ours.length > 0) blocks.push(`*${table}`, ...ours.map((c) => `:${c} - [0:0]`), ...ours.map((c) => `-X ${c}`), 'COMMIT');
      }
      if (blocks.length > 0) await kernel.restore(blocks.join('\n') + '\n', { noflush: true });
    }
    // After the rules naming them are gone (a set still referenced cannot be destroyed).
    const ipset = this.opts.ipset;
    if (ipset !== undefined) for (const name of IPVS_IPSETS) await ipset.destroy(name);
    this.committed = undefined;
    this.cache = undefined;
  }
}
