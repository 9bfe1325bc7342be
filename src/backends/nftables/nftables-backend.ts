// The nftables mode's applier: plans come from the pure planner. Full syncs go
// to `nft -f -` (one transaction per family) after reading the kernel back;
// partial syncs go as nf_tables netlink messages (one transaction), which
// skips nft's fetch of the whole table before every command, and fall back
// to `nft -f -` for what the netlink path does not encode.
import type { Logger } from 'pino';
import type { NftMessage } from '../../kernel/netlink/nftables-messages.js';
import type { NftAddressFamily, NftChainInfo, NftSetInfo } from '../../kernel/nft.js';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState, StateChanges } from '../../state/types.js';
import type { ProxyBackend, SyncOutcome } from '../backend.js';
import { FullTransactionBuilder, fullTransaction, type ExistingTable } from './full-transaction.js';
import { expectedCounts, nftDrift, type NftTableCounts } from './drift-check.js';
import { lowerOps } from './netlink-ops.js';
import { TABLE_NAME, nftFamily } from './objects.js';
import { planFull, planPartial, type NftMemo } from './planner.js';
import { RulesetWitness } from '../common/ruleset-generation.js';

/** The kernel operations this mode needs (src/kernel/nft.ts implements them). */
export interface NftKernel {
  apply(script: string): Promise<void>;
  hasTable(family: NftAddressFamily, table: string): Promise<boolean>;
  listChains(family: NftAddressFamily, table: string): Promise<NftChainInfo[]>;
  listSets(family: NftAddressFamily, table: string): Promise<NftSetInfo[]>;
  deleteTable(family: NftAddressFamily, table: string): Promise<boolean>;
}

/** Sends one table's transaction as netlink messages (src/kernel/netlink/nftables.ts). */
export interface NftNetlinkWriter {
  commit(family: NftAddressFamily, table: string, messages: readonly NftMessage[]): void;
  /** The drift check's read-back (rules per chain, elements per set); without it every periodic sync is full. */
  /** nf_tables' ruleset generation: unchanged since a clean read-back means nothing was touched. */
  generation?(): number;
  readCounts?(family: NftAddressFamily, table: string, sets: readonly string[]): NftTableCounts;
}

export interface NftablesBackendOptions {
  readonly ctx: NodeContext;
  readonly nft: NftKernel;
  /** Partial syncs through netlink; without it they go through `nft -f -` too. */
  readonly netlink?: NftNetlinkWriter;
  readonly logger?: Logger;
}

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

type Sent = Record<'transactions' | 'nftLines' | 'nftBytes' | 'netlinkTransactions' | 'netlinkMessages' | 'elementsAdded' | 'elementsDeleted' | 'chainsWritten' | 'chainsDeleted', number>;

export class NftablesBackend implements ProxyBackend {
  readonly mode = 'nftables';
  private readonly memo = new Map<IPFamily, NftMemo>();
  private ctx: NodeContext;
  /** Whether nf_tables still holds what the memo says. */
  private readonly witness: RulesetWitness;

  constructor(private readonly opts: NftablesBackendOptions) {
    this.ctx = opts.ctx;
    const generation = opts.netlink?.generation?.bind(opts.netlink);
    this.witness = new RulesetWitness(generation);
  }

  setContext(ctx: NodeContext): void {
    this.ctx = ctx;
    this.witness.forget();
    // Rules embed node facts (node IPs, CIDRs): the next sync rewrites everything.
    this.memo.clear();
  }

  /** The committed memo of a family (tests, the tracer). */
  committed(family: IPFamily): NftMemo | undefined {
    return this.memo.get(family);
  }

  async sync(state: DesiredState, changes?: StateChanges): Promise<SyncOutcome> {
    const sent: Sent = { transactions: 0, nftLines: 0, nftBytes: 0, netlinkTransactions: 0, netlinkMessages: 0, elementsAdded: 0, elementsDeleted: 0, chainsWritten: 0, chainsDeleted: 0 };
    let kind: 'full' | 'partial' = changes === undefined ? 'full' : 'partial';
    this.witness.begin(changes === undefined);
    for (const family of FAMILIES) {
      try {
        if ((await this.syncFamily(family, state, changes, sent)) === 'full') kind = 'full';
      } catch (err) {
        // What the kernel holds is now unknown: the next sync of this family must be full.
        this.memo.delete(family);
        this.witness.forget();
        throw err;
      }
    }
    const ruleCounts: Record<string, number> = {};
    for (const [family, memo] of this.memo) {
      const suffix = family === 'IPv6' ? '6' : '';
      ruleCounts[`nat${suffix}`] = memo.rules.nat;
      ruleCounts[`filter${suffix}`] = memo.rules.filter;
    }
    this.witness.end();
    return { kind, ruleCounts, sent };
  }

  private async syncFamily(family: IPFamily, state: DesiredState, changes: StateChanges | undefined, sent: Sent): Promise<'full' | 'partial' | 'none'> {
    const nft = this.opts.nft;
    const nf = nftFamily(family);
    const previous = this.memo.get(family);
    const opts = { family, ctx: this.ctx };
    // IPv6's table exists only while IPv6 service ports do (IPv4's always: it is the node's mode).
    if (family === 'IPv6' && state.IPv6.size === 0) {
      if ((changes === undefined || previous !== undefined) && (await nft.deleteTable(nf, TABLE_NAME))) this.witness.committed();
      this.memo.delete(family);
      return 'none';
    }
    if (changes !== undefined && previous !== undefined) {
      if (changes[family].size === 0) return 'none';
      // In place: a failed sync drops the memo (the next sync is full), so it is never reused half-updated.
      const plan = planPartial(state[family], changes[family], previous, opts, { inPlace: true });
      if (plan !== undefined) {
        if (plan.ops.length > 0) {
          const messages = this.opts.netlink === undefined ? undefined : lowerOps(nf, plan.ops);
          if (this.opts.netlink !== undefined && messages !== undefined) {
            this.opts.netlink.commit(nf, TABLE_NAME, messages);
            if (messages.length > 0) this.witness.committed();
            sent.netlinkTransactions++;
            sent.netlinkMessages += messages.length;
          } else {
            await this.apply(plan.script, sent);
          }
        }
        sent.elementsAdded += plan.stats.elementsAdded;
        sent.elementsDeleted += plan.stats.elementsDeleted;
        sent.chainsWritten += plan.stats.chainsWritten;
        sent.chainsDeleted += plan.stats.chainsDeleted;
        this.memo.set(family, plan.memo);
        return 'partial';
      }
    }
    const existing = await this.readExisting(nf);
    // One rendering of every port for both the memo and the transaction.
    const builder = new FullTransactionBuilder(nf, TABLE_NAME, existing);
    const memo = planFull(state[family], opts, builder);
    let tx = builder.finish();
    try {
      await this.apply(tx.script, sent);
    } catch (err) {
      // Something `add` cannot reconcile (e.g. an object re-created by hand with another type): start afresh.
      this.opts.logger?.warn({ family, err: (err as Error).message }, 'nftables table rewrite failed; re-creating the table');
      tx = fullTransaction(memo, existing, { recreate: true });
      await this.apply(tx.script, sent);
    }
    sent.elementsAdded += tx.stats.elements;
    sent.chainsWritten += tx.stats.chains;
    sent.chainsDeleted += tx.stats.chainsDeleted;
    this.memo.set(family, memo);
    return 'full';
  }

  /** Each committed table read back over netlink as counts, compared with its memo. */
  async checkDrift(): Promise<readonly string[]> {
    const netlink = this.opts.netlink;
    if (netlink?.readCounts === undefined) return ['no nf_tables netlink socket to read the tables back'];
    if (this.memo.get('IPv4') === undefined) return ['IPv4: nothing committed since the last failure or context change'];
    // Read before the read-back: a commit during or after it changes the generation again.
    const generation = this.witness.read();
    if (this.witness.unchanged(generation)) return [];
    const out: string[] = [];
    for (const [family, memo] of this.memo) {
      const expected = expectedCounts(memo);
      const got = netlink.readCounts(nftFamily(family), TABLE_NAME, expected.sets);
      for (const d of nftDrift(expected, got)) out.push(`${family} ${d}`);
    }
    if (out.length === 0) this.witness.vouch(generation);
    return out;
  }

  private async readExisting(family: NftAddressFamily): Promise<ExistingTable | undefined> {
    const nft = this.opts.nft;
    if (!(await nft.hasTable(family, TABLE_NAME))) return undefined;
    const [chains, sets] = await Promise.all([nft.listChains(family, TABLE_NAME), nft.listSets(family, TABLE_NAME)]);
    return { chains, sets };
  }

  private async apply(script: string, sent: Sent): Promise<void> {
    await this.opts.nft.apply(script);
    this.witness.committed(); // `nft -f` sends the script as one batch
    sent.transactions++;
    sent.nftBytes += script.length;
    for (let i = script.indexOf('\n'); i !== -1; i = script.indexOf('\n', i + 1)) sent.nftLines++;
  }

  /** Whether any svcplane table exists (for mode switching). */
  async hasLeftovers(): Promise<boolean> {
    for (const family of FAMILIES) if (await this.opts.nft.hasTable(nftFamily(family), TABLE_NAME)) return true;
    return false;
  }

  /** Deletes svcplane's tables, and nothing else. */
  async cleanup(): Promise<void> {
    this.memo.clear();
    this.witness.forget();
    for (const family of FAMILIES) await this.opts.nft.deleteTable(nftFamily(family), TABLE_NAME);
  }
}
