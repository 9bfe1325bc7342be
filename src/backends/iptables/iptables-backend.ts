// The thin applier of the iptables mode: plans come from the pure planner, this
// class feeds them to iptables-restore (one transaction per family), ensures the
// jumps from the built-in chains, and keeps the memo of what was committed.
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState, StateChanges } from '../../state/types.js';
import type { ProxyBackend, SyncOutcome } from '../backend.js';
import type { IptablesMemo, IptablesPlan, IptablesTable, JumpRule } from './plan-types.js';
import { hasRule, parseChainNames, type IptablesKernel } from '../../kernel/iptables.js';
import type { Sysctl } from '../../kernel/sysctl.js';
import { nodeFamilyEnv } from '../../state/service-policy.js';
import { planFull, planPartial } from './planner.js';
import { countNetlinkRules, countSave, iptablesDrift, type NetlinkRules, type SavedCounts } from './drift-check.js';
import { RulesetWitness } from '../common/ruleset-generation.js';

/** What localhost NodePorts need: packets from 127.0.0.1 may be routed off the loopback device once DNATed. */
export const ROUTE_LOCALNET = 'net.ipv4.conf.all.route_localnet';

export interface IptablesBackendOptions {
  readonly ctx: NodeContext;
  readonly kernels: Partial<Record<IPFamily, IptablesKernel>>;
  /** Split full syncs into transactions of this many service ports (for iptables-nft; see planFull). */
  readonly servicesPerTransaction?: number;
  /** Kernel parameters of the agent's network namespace (route_localnet for localhost NodePorts). */
  readonly sysctl?: Pick<Sysctl, 'ensure'>;
  /**
   * iptables-nft only: its tables read back over nf_tables netlink for the drift check (an
   * iptables-nft-save of 10,000 services costs seconds of CPU; a netlink dump a fraction).
   */
  readonly netlink?: IptablesRuleReader;
  /** Told when a kernel parameter is changed. */
  readonly onSysctl?: (name: string, from: string, to: string) => void;
}

/** Chains svcplane's iptables mode creates (kube-proxy's names), and nothing else. */
export const OWNED_BASE_CHAINS: Readonly<Record<IptablesTable, readonly string[]>> = {
  nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'],
  filter: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL'],
};
export const OWNED_CHAIN_PREFIXES: readonly string[] = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'];

export function isOwnedChain(table: IptablesTable, name: string): boolean {
  return OWNED_BASE_CHAINS[table].includes(name) || OWNED_CHAIN_PREFIXES.some((p) => name.startsWith(p));
}

export interface IptablesRuleReader {
  /** nf_tables' ruleset generation: unchanged since a clean read-back means nothing was touched. */
  generation(): number;
  readRules(family: 'ip' | 'ip6', table: string, verdictsIn: (chain: string) => boolean): NetlinkRules;
}

export class IptablesBackend implements ProxyBackend {
  readonly mode = 'iptables';
  private readonly memo = new Map<IPFamily, IptablesMemo>();
  private ctx: NodeContext;
  /** Whether nf_tables still holds what the memo says (iptables-nft only: legacy has no generation). */
  private readonly witness: RulesetWitness;
  /** route_localnet was ensured for the current context. */
  private localnetDone = false;

  constructor(private readonly opts: IptablesBackendOptions) {
    this.ctx = opts.ctx;
    this.witness = new RulesetWitness(opts.netlink === undefined ? undefined : () => (opts.netlink as IptablesRuleReader).generation());
  }

  setContext(ctx: NodeContext): void {
    this.ctx = ctx;
    this.localnetDone = false;
    this.witness.forget();
    // Rules embed node facts (node IPs for hairpin checks): replan everything.
    this.memo.clear();
  }

  get families(): IPFamily[] {
    return (['IPv4', 'IPv6'] as const).filter((f) => this.opts.kernels[f] !== undefined);
  }

  async sync(state: DesiredState, changes?: StateChanges): Promise<SyncOutcome> {
    const ruleCounts: Record<string, number> = {};
    const sent: Record<string, number> = { restoreLines: 0, restoreBytes: 0 };
    let kind: 'full' | 'partial' = changes ? 'partial' : 'full';
    this.witness.begin(changes === undefined);
    await this.ensureRouteLocalnet();
    for (const family of this.families) {
      const synced = await this.syncFamily(family, state, changes).catch((err: unknown) => {
        this.witness.forget();
        throw err;
      });
      if (!synced) continue;
      const { plan, restoreMicros } = synced;
      // How long iptables-restore took, start to exit: at 10,000 services nearly all of a partial sync.
      sent.restoreMicros = (sent.restoreMicros ?? 0) + restoreMicros;
      if (plan.kind === 'full') kind = 'full';
      for (const text of [...plan.prelude, plan.restore]) {
        sent.restoreLines = (sent.restoreLines ?? 0) + countLines(text);
        sent.restoreBytes = (sent.restoreBytes ?? 0) + text.length;
      }
      sent.transactions = (sent.transactions ?? 0) + plan.prelude.length + 1;
      const suffix = family === 'IPv6' ? '6' : '';
      ruleCounts[`nat${suffix}`] = plan.stats.natRules;
      ruleCounts[`filter${suffix}`] = plan.stats.filterRules;
    }
    this.witness.end();
    return { kind, ruleCounts, sent };
  }

  private async syncFamily(family: IPFamily, state: DesiredState, changes?: StateChanges): Promise<{ plan: IptablesPlan; restoreMicros: number } | undefined> {
    const kernel = this.opts.kernels[family] as IptablesKernel;
    const opts = { family, ctx: this.ctx };
    const previous = this.memo.get(family);
    let plan: IptablesPlan;
    let saved: Record<IptablesTable, string> | undefined;
    if (changes && previous) {
      if (changes[family].size === 0) return undefined;
      plan = planPartial(state[family], changes[family], previous, opts);
    } else {
      // Full sync: read the kernel back once per table; stale chains of ours are deleted in the
      // same transaction, and only the built-in jumps that are missing cost a command.
      const [natSave, filterSave] = await Promise.all([kernel.save('nat'), kernel.save('filter')]);
      saved = { nat: natSave, filter: filterSave };
      const existing = {
        nat: [...parseChainNames(natSave)].filter((c) => isOwnedChain('nat', c)),
        filter: [...parseChainNames(filterSave)].filter((c) => isOwnedChain('filter', c)),
      };
      const split = this.opts.servicesPerTransaction;
      plan = planFull(state[family], opts, existing, split === undefined ? {} : { servicesPerTransaction: split });
    }
    const t0 = performance.now();
    try {
      for (const text of [...plan.prelude, plan.restore]) {
        await kernel.restore(text, { noflush: true });
        this.witness.committedRestore(text);
      }
    } catch (err) {
      // What the kernel holds is now unknown: the next sync must be full.
      this.memo.delete(family);
      throw err;
    }
    const restoreMicros = Math.round((performance.now() - t0) * 1000);
    if (plan.kind === 'full') this.witness.committed(await ensureJumps(kernel, plan.jumps.filter((j) => !saved || !hasRule(saved[j.table], j))));
    this.memo.set(family, plan.memo);
    return { plan, restoreMicros };
  }

  /** Reads each table back once (iptables-save) and compares its counts with the committed memo. */
  async checkDrift(): Promise<readonly string[]> {
    // Read before the read-back: a commit during or after it changes the generation again.
    const generation = this.witness.read();
    if (this.witness.unchanged(generation)) return [];
    const out: string[] = [];
    for (const family of this.families) {
      const memo = this.memo.get(family);
      if (memo === undefined) {
        out.push(`${family}: nothing committed since the last failure or context change`);
        continue;
      }
      const { jumps } = planFull(new Map(), { family, ctx: this.ctx });
      for (const d of iptablesDrift(memo, await this.readBack(family), jumps)) out.push(`${family} ${d}`);
    }
    if (out.length === 0) this.witness.vouch(generation);
    return out;
  }

  private async readBack(family: IPFamily): Promise<Record<IptablesTable, SavedCounts>> {
    const { netlink } = this.opts;
    if (netlink !== undefined) {
      const nf = family === 'IPv6' ? 'ip6' : 'ip';
      const read = (table: IptablesTable): SavedCounts => countNetlinkRules(table, netlink.readRules(nf, table, (c) => !isOwnedChain(table, c)));
      return { nat: read('nat'), filter: read('filter') };
    }
    const kernel = this.opts.kernels[family] as IptablesKernel;
    const [nat, filter] = await Promise.all([kernel.save('nat'), kernel.save('filter')]);
    return { nat: countSave('nat', nat), filter: countSave('filter', filter) };
  }

  /**
   * Localhost NodePorts (kube-proxy's --iptables-localhost-nodeports) need route_localnet=1, set
   * once, as kube-proxy does, and never reset (another component may rely on it too).
   */
  private async ensureRouteLocalnet(): Promise<void> {
    const { sysctl } = this.opts;
    if (this.localnetDone || sysctl === undefined || this.opts.kernels.IPv4 === undefined) return;
    if (!nodeFamilyEnv('IPv4', this.ctx).localhostNodePorts) return;
    const previous = await sysctl.ensure(ROUTE_LOCALNET, 1);
    if (previous !== undefined) this.opts.onSysctl?.(ROUTE_LOCALNET, previous, '1');
    this.localnetDone = true;
  }

  /** Removes the jumps, then flushes and deletes every chain of ours, in one restore per family. */
  async cleanup(): Promise<void> {
    this.memo.clear();
    this.witness.forget();
    for (const family of this.families) {
      const kernel = this.opts.kernels[family] as IptablesKernel;
      const { jumps } = planFull(new Map(), { family, ctx: this.ctx });
      for (const j of jumps) await kernel.deleteRule(j.table, j.chain, j.args);
      const blocks: string[] = [];
      for (const table of ['filter', 'nat'] as const) {
        const save = await kernel.save(table);
        const ours = [...parseChainNames(save)].filter((c) => isOwnedChain(table, c)).sort();
        if (ours.length === 0) continue;
        const owned = new Set(ours);
        blocks.push(`*${table}`, ...strayJumps(save, owned), ...ours.map((c) => `:${c} - [0:0]`), ...ours.map((c) => `-X ${c}`), 'COMMIT');
      }
      if (blocks.length > 0) await kernel.restore(blocks.join('\n') + '\n', { noflush: true });
    }
  }
}

/**
 * `-D` lines for every other rule left in a chain not ours that still jumps into one of ours:
 * another mode's jumps (IPVS mode adds INPUT -> KUBE-SERVICES, which this mode never does), or
 * a duplicate, would keep the chain busy and make its deletion fail.
 */
export function strayJumps(save: string, owned: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const line of save.split('\n')) {
    const m = /^-A (\S+)(?: .*)? -[jg] (\S+)(?: .*)?$/.exec(line);
    if (m && !owned.has(m[1] as string) && owned.has(m[2] as string)) out.push(`-D ${line.slice(3)}`);
  }
  return out;
}

/** Returns how many were inserted (each an `iptables -I`: one transaction). */
async function ensureJumps(kernel: IptablesKernel, jumps: readonly JumpRule[]): Promise<number> {
  let inserted = 0;
  // Prepending in reverse keeps the listed order at the head of each built-in chain.
  for (const j of [...jumps].reverse()) if (await kernel.ensureRule(j.table, j.chain, j.args, 'prepend')) inserted++;
  return inserted;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
