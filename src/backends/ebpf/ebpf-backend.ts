// The thin applier of the eBPF mode: attaches the dataplane once (every full sync checks
// and repairs the attachments), then turns each plan into ordered map writes. Full syncs dump the pinned maps and repair every difference;
// partial syncs plan only the changed service ports against the in-memory copy of what
// was last committed. Backend and rev-NAT ids come back from the maps after a restart.
import type { Logger } from 'pino';
import type { Libbpf } from '../../kernel/bpf/index.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState, StateChanges } from '../../state/types.js';
import type { ProxyBackend, SyncOutcome } from '../backend.js';
import { attachDataplane, detachDataplane, repairDataplane, type Attached } from './ebpf-attach.js';
import { expectedMapCounts, mapDrift } from './drift-check.js';
import { LB_MAP_KEYS, LB_MAP_NAMES, applyOps, dumpMaps, type LbMapKey } from './ebpf-maps.js';
import type { EbpfAlgorithm } from './frontends.js';
import type { EbpfMapsContent } from './maps-content.js';
import { planEbpf, type EbpfPlanMemo } from './planner.js';
import { SVCP_MARK_MASQ } from './map-types.js';

/** The one netfilter rule the mode needs (per family): tc marks what it sent to another node's backend. */
export interface MasqueradeRule {
  ensure(): Promise<void>;
  remove(): Promise<void>;
}

export const MASQUERADE_TABLE = 'svcplane-ebpf';
/** nft table families of the masquerade table: IPv4 and IPv6 frontends alike may have backends elsewhere. */
export const MASQUERADE_FAMILIES = ['ip', 'ip6'] as const;

/** `nft -f` text of the masquerade tables, one per family (each replaced whole, so it is idempotent). */
export function masqueradeScript(): string {
  const mark = `0x${SVCP_MARK_MASQ.toString(16)}`;
  const clear = `0x${(~SVCP_MARK_MASQ >>> 0).toString(16)}`;
  return MASQUERADE_FAMILIES.flatMap((family) => {
    const table = `table ${family} ${MASQUERADE_TABLE}`;
    return [
      table, `delete ${table}`, `${table} {`,
      '  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;',
      `    meta mark & ${mark} == ${mark} meta mark set meta mark & ${clear} masquerade`, '  }', '}',
    ];
  }).concat('').join('\n');
}

export interface EbpfBackendOptions {
  readonly ctx: NodeContext;
  readonly logger: Logger;
  readonly lib: Libbpf;
  readonly objectPath: string;
  readonly pinRoot: string;
  readonly cgroupPath: string;
  /** Interfaces for the tc programs; undefined: those holding the node's IPs. */
  readonly interfaces: (ctx: NodeContext) => readonly string[];
  readonly algorithm: EbpfAlgorithm;
  readonly masquerade: MasqueradeRule;
}

interface Committed {
  readonly content: EbpfMapsContent;
  readonly memo: EbpfPlanMemo;
}

export class EbpfBackend implements ProxyBackend {
  readonly mode = 'ebpf';
  private ctx: NodeContext;
  private attached: Attached | undefined;
  private committed: Committed | undefined;

  constructor(private readonly opts: EbpfBackendOptions) {
    this.ctx = opts.ctx;
  }

  setContext(ctx: NodeContext): void {
    this.ctx = ctx;
    this.committed = undefined;
    // New node IPs may mean new interfaces for tc: attach again (links are updated in place).
    this.attached?.object.close();
    this.attached = undefined;
  }

  /**
   * Attaches once; a full sync then checks every attachment (drift: links detached, filters
   * deleted by hand, interfaces that no longer hold a node IP) and repairs what it finds.
   */
  private async attach(full: boolean): Promise<{ attached: Attached; repairs: number }> {
    const options = { objectPath: this.opts.objectPath, pinRoot: this.opts.pinRoot, cgroupPath: this.opts.cgroupPath, interfaces: this.opts.interfaces(this.ctx) };
    const fresh = this.attached === undefined;
    if (this.attached === undefined) {
      const attached = attachDataplane(this.opts.lib, options);
      this.opts.logger.info({ cgroup: options.cgroupPath, interfaces: options.interfaces, pinRoot: options.pinRoot, attachments: attached.outcomes }, 'eBPF dataplane attached');
      // An upgrade that resized a map re-created it with the old entries copied in; the full sync follows.
      const resized = attached.object.resizedMaps;
      if (resized.length > 0) this.opts.logger.warn({ maps: resized }, 'eBPF maps of an earlier build had another size; re-created at this size with their entries copied');
      this.attached = attached;
    }
    if (!full) return { attached: this.attached, repairs: 0 };
    await this.opts.masquerade.ensure(); // one atomic nft transaction: a deleted table comes back too
    const repairs = repairDataplane(this.opts.lib, this.attached, options);
    if (repairs.length > 0) {
      // After a fresh attach the only possible repair is removing filters from interfaces left behind.
      if (fresh) this.opts.logger.info({ repairs }, 'eBPF: removed tc programs from interfaces that no longer apply');
      else this.opts.logger.warn({ repairs }, 'eBPF attachments had drifted; repaired');
    }
    return { attached: this.attached, repairs: repairs.length };
  }

  async sync(state: DesiredState, changes?: StateChanges): Promise<SyncOutcome> {
    const tAttach = performance.now();
    const { attached: { maps }, repairs } = await this.attach(changes === undefined || this.committed === undefined);
    const tDump = performance.now();
    const committed = this.committed;
    // A failure below leaves the maps part-written: the next sync must start from a dump.
    this.committed = undefined;
    const partial = changes !== undefined && committed !== undefined;
    let readBack = 0;
    let current: EbpfMapsContent;
    if (partial) current = committed.content;
    else {
      const dump = dumpMaps(maps);
      if (dump.undecodable > 0) this.opts.logger.warn({ entries: dump.undecodable }, 'eBPF maps hold entries svcplane cannot decode; they will be removed');
      current = dump.content;
      readBack = current.services.size + current.backends.size;
    }
    const tPlan = performance.now();
    const plan = planEbpf(state, this.ctx, current, {
      algorithm: this.opts.algorithm,
      ...(partial ? { changed: changes.IPv4, changedIPv6: changes.IPv6, memo: committed.memo, inPlace: true } : {}),
    });
    const t0 = performance.now();
    const applied = applyOps(maps, plan.ops);
    const mapWriteMicros = micros(performance.now() - t0);
    this.committed = { content: plan.content, memo: plan.memo };
    return {
      kind: partial ? 'partial' : 'full',
      ruleCounts: { services: plan.content.services.size, backends: plan.content.backends.size, revNat: plan.content.revNat.size },
      sent: {
        mapWrites: applied.writes, mapDeletes: applied.deletes, batches: applied.batches, mapWriteMicros, readBack, ipv6ServicePorts: plan.stats.ipv6ServicePorts, attachmentRepairs: repairs,
        // Where a sync's time goes (the bench prints them): attaching (loading the object and creating the maps on the first), the dump, the plan.
        attachMicros: micros(tDump - tAttach), dumpMicros: micros(tPlan - tDump), planMicros: micros(t0 - tPlan),
      },
    };
  }

  /**
   * The attachments checked (and repaired on the spot, as a full sync would) and every map's keys
   * counted against the committed content. The masquerade table is left to the full syncs.
   */
  async checkDrift(): Promise<readonly string[]> {
    const { attached, committed } = this;
    if (attached === undefined || committed === undefined) return ['nothing committed since the last failure or context change'];
    const options = { objectPath: this.opts.objectPath, pinRoot: this.opts.pinRoot, cgroupPath: this.opts.cgroupPath, interfaces: this.opts.interfaces(this.ctx) };
    const repairs = repairDataplane(this.opts.lib, attached, options);
    if (repairs.length > 0) this.opts.logger.warn({ repairs }, 'eBPF attachments had drifted; repaired');
    const got = Object.fromEntries(LB_MAP_KEYS.map((k) => [k, attached.maps[k].entryCount()])) as Record<LbMapKey, number>;
    return [...repairs, ...mapDrift(expectedMapCounts(committed.content), got, LB_MAP_NAMES)];
  }

  /** Detaches and unpins everything of svcplane's eBPF mode; the maps go with the last reference. */
  async cleanup(): Promise<void> {
    this.attached?.object.close();
    this.attached = undefined;
    this.committed = undefined;
    await detachDataplane(this.opts.lib, this.opts.pinRoot);
    await this.opts.masquerade.remove();
  }
}

function micros(ms: number): number {
  return Math.round(ms * 1000);
}
