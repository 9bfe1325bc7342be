// An nf_tables client over one NETLINK_NETFILTER socket: sends a table's
// transaction (see nftables-messages.ts) and waits for the kernel's verdict.
// It keeps no cache of the ruleset: nft 1.0.6 fetches every chain of the
// table before each command (1–1.5 s at 10,000 services), which is what a
// partial sync must not pay.
//
//   const nl = NftNetlink.open({ netns });
//   nl.commit('ip', 'svcplane', [{ kind: 'newchain', chain: 'x' }, ...]);   // all or nothing
//   nl.close();

import { NftBatchEncoder, type NftMessage, type NftTableFamily } from './nftables-messages.js';
import { NETLINK_NETFILTER } from './nftables-constants.js';
import { chainNames, countElements, countRules, encodeDump, encodeGetGen, parseGenId } from './nftables-dump.js';
import { NetlinkError } from './errors.js';
import { NetlinkSocket, type NetlinkSocketOptions } from './socket.js';

const ENOENT = 2;
const EBADMSG = 74;

export type NftNetlinkOptions = Omit<NetlinkSocketOptions, 'protocol'>;

export class NftNetlink {
  private constructor(private readonly socket: NetlinkSocket) {}

  static open(options: NftNetlinkOptions = {}): NftNetlink {
    // A transaction goes in one send: room for large ones.
    return new NftNetlink(NetlinkSocket.open({ sendBufferBytes: 8 * 1024 * 1024, ...options, protocol: NETLINK_NETFILTER }));
  }

  /** The transaction's bytes (tests compare them; commit sends them). */
  encode(family: NftTableFamily, table: string, messages: readonly NftMessage[]): { bytes: Uint8Array; descriptions: readonly string[] } {
    const batch = new NftBatchEncoder(family, table, () => this.socket.nextSeq());
    for (const m of messages) batch.add(m);
    return { bytes: batch.finish(), descriptions: batch.descriptions };
  }

  /**
   * Applies the messages to one table as one transaction: all of them or none.
   * Throws the first NetlinkError (its `operation` names the message), or the
   * commit's own error.
   */
  commit(family: NftTableFamily, table: string, messages: readonly NftMessage[]): void {
    if (messages.length === 0) return;
    const { bytes, descriptions } = this.encode(family, table, messages);
    const results = this.socket.requestBatch(bytes, (i) => `nf_tables ${family} ${table}: ${descriptions[i] ?? `message ${i}`}`, { atomic: true });
    const failed = results.find((r) => r !== undefined);
    if (failed !== undefined) throw failed;
  }

  /**
   * The ruleset generation of this namespace: it changes with every committed transaction, by
   * anyone, so an unchanged one means nothing in nf_tables was touched since it was read.
   */
  generation(): number {
    const id = parseGenId(this.socket.request(encodeGetGen(this.socket.nextSeq()), 'nf_tables: get generation'));
    if (id === undefined) throw new NetlinkError(EBADMSG, { operation: 'nf_tables: get generation' }, 'nf_tables: the generation reply has no NFTA_GEN_ID');
    return id;
  }

  /**
   * Reads one table's rules back as counts: every chain with its number of rules; for the chains
   * `verdictsIn` selects, the chains their rules jump or go to. Nothing is written.
   */
  readRules(family: NftTableFamily, table: string, verdictsIn?: (chain: string) => boolean): { chains: Map<string, number>; verdicts: Map<string, string[]> } {
    const chains = new Map<string, number>();
    const verdicts = new Map<string, string[]>();
    const what = `nf_tables ${family} ${table}`;
    chainNames(this.socket.request(encodeDump('chains', family, table, this.socket.nextSeq()), `${what}: list chains`), table, chains);
    const rules = this.socket.request(encodeDump('rules', family, table, this.socket.nextSeq()), `${what}: list rules`);
    countRules(rules, table, chains, verdictsIn === undefined ? undefined : { in: verdictsIn, into: verdicts });
    return { chains, verdicts };
  }

  /** As readRules, with the number of elements of each of `sets` (a set that is missing is left out). */
  readCounts(family: NftTableFamily, table: string, sets: readonly string[]): { chains: Map<string, number>; elements: Map<string, number> } {
    const { chains } = this.readRules(family, table);
    const what = `nf_tables ${family} ${table}`;
    const elements = new Map<string, number>();
    for (const set of sets) {
      try {
        elements.set(set, countElements(this.socket.request(encodeDump('elements', family, table, this.socket.nextSeq(), set), `${what}: list set ${set}`)));
      } catch (err) {
        if (!(err instanceof NetlinkError) || err.errno !== ENOENT) throw err;
      }
    }
    return { chains, elements };
  }

  close(): void {
    this.socket.close();
  }
}
