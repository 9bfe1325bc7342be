// Dump requests of nf_tables for a cheap read-back of one table: its chains, how many rules
// each holds and how many elements a set holds. Only names and counts are decoded (the rule
// expressions are skipped), so reading 100,000 rules back costs the kernel's dump, not a parse.
import { AttributeDecoder, NetlinkEncoder, type NetlinkMessage } from './codec.js';
import { NLM_F_DUMP, NLM_F_REQUEST } from './constants.js';
import * as K from './nftables-constants.js';
import type { NftTableFamily } from './nftables-messages.js';

const NFGENMSG_LEN = 4;

/** One dump request: nlmsghdr, nfgenmsg, then the table (and set) name attributes. */
export function encodeDump(kind: 'chains' | 'rules' | 'elements', family: NftTableFamily, table: string, seq: number, set?: string): Uint8Array {
  const enc = new NetlinkEncoder(256);
  const msg = kind === 'chains' ? K.NFT_MSG_GETCHAIN : kind === 'rules' ? K.NFT_MSG_GETRULE : K.NFT_MSG_GETSETELEM;
  const start = enc.beginMessage((K.NFNL_SUBSYS_NFTABLES << 8) | msg, NLM_F_REQUEST | NLM_F_DUMP, seq);
  enc.putU8(family === 'ip' ? K.NFPROTO_IPV4 : K.NFPROTO_IPV6);
  enc.putU8(K.NFNETLINK_V0);
  enc.putU16(0);
  if (kind === 'elements') {
    enc.string(K.NFTA_SET_ELEM_LIST_TABLE, table);
    enc.string(K.NFTA_SET_ELEM_LIST_SET, set ?? '');
  } else if (kind === 'rules') {
    // The kernel dumps only this table's rules; a chain dump is filtered by family alone.
    enc.string(K.NFTA_RULE_TABLE, table);
  }
  enc.endMessage(start);
  return enc.finish();
}

/** NFT_MSG_GETGEN: the ruleset generation of the socket's network namespace. */
export function encodeGetGen(seq: number): Uint8Array {
  const enc = new NetlinkEncoder(32);
  const start = enc.beginMessage((K.NFNL_SUBSYS_NFTABLES << 8) | K.NFT_MSG_GETGEN, NLM_F_REQUEST, seq);
  enc.putU8(0); // NFPROTO_UNSPEC
  enc.putU8(K.NFNETLINK_V0);
  enc.putU16(0);
  enc.endMessage(start);
  return enc.finish();
}

/** NFTA_GEN_ID of a NEWGEN reply (big-endian u32), or undefined when absent. */
export function parseGenId(replies: readonly NetlinkMessage[]): number | undefined {
  for (const msg of replies) {
    for (const ad = attributes(msg); ad.next(); ) if (ad.type === K.NFTA_GEN_ID) return new DataView(ad.bytes().buffer, ad.bytes().byteOffset, 4).getUint32(0, false);
  }
  return undefined;
}

function attributes(msg: NetlinkMessage): AttributeDecoder {
  return new AttributeDecoder(msg.data.subarray(NFGENMSG_LEN), msg.offset + NFGENMSG_LEN);
}

/** The table's chains, each with 0 rules (a chain dump message is NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME, ...). */
export function chainNames(replies: readonly NetlinkMessage[], table: string, into: Map<string, number>): void {
  for (const msg of replies) {
    let t: string | undefined;
    let name: string | undefined;
    for (const ad = attributes(msg); ad.next(); ) {
      if (ad.type === K.NFTA_CHAIN_TABLE) t = ad.string();
      else if (ad.type === K.NFTA_CHAIN_NAME) name = ad.string();
    }
    if (t === table && name !== undefined && !into.has(name)) into.set(name, 0);
  }
}

/**
 * Adds one to its chain for every rule of `table` in the dump; for rules of the chains
 * `verdictsIn` selects, also the chain each one jumps or goes to (an immediate verdict).
 */
export function countRules(replies: readonly NetlinkMessage[], table: string, into: Map<string, number>, verdicts?: { readonly in: (chain: string) => boolean; readonly into: Map<string, string[]> }): void {
  for (const msg of replies) {
    let t: string | undefined;
    let chain: string | undefined;
    let exprs: AttributeDecoder | undefined;
    for (const ad = attributes(msg); ad.next(); ) {
      if (ad.type === K.NFTA_RULE_TABLE) t = ad.string();
      else if (ad.type === K.NFTA_RULE_CHAIN) chain = ad.string();
      else if (ad.type === K.NFTA_RULE_EXPRESSIONS) exprs = ad.nested();
      if (t !== undefined && chain !== undefined && (verdicts === undefined || !verdicts.in(chain))) break;
    }
    if (t !== table || chain === undefined) continue;
    into.set(chain, (into.get(chain) ?? 0) + 1);
    if (verdicts === undefined || exprs === undefined || !verdicts.in(chain)) continue;
    const target = verdictChain(exprs);
    if (target === undefined) continue;
    const list = verdicts.into.get(chain);
    if (list === undefined) verdicts.into.set(chain, [target]);
    else list.push(target);
  }
}

/** The chain of a rule's immediate jump/goto verdict, if it has one. */
function verdictChain(exprs: AttributeDecoder): string | undefined {
  for (; exprs.next(); ) {
    if (exprs.type !== K.NFTA_LIST_ELEM) continue;
    let name: string | undefined;
    let data: AttributeDecoder | undefined;
    for (const e = exprs.nested(); e.next(); ) {
      if (e.type === K.NFTA_EXPR_NAME) name = e.string();
      else if (e.type === K.NFTA_EXPR_DATA) data = e.nested();
    }
    if (name !== 'immediate' || data === undefined) continue;
    for (; data.next(); ) {
      if (data.type !== K.NFTA_IMMEDIATE_DATA) continue;
      for (const d = data.nested(); d.next(); ) {
        if (d.type !== K.NFTA_DATA_VERDICT) continue;
        for (const v = d.nested(); v.next(); ) if (v.type === K.NFTA_VERDICT_CHAIN) return v.string();
      }
    }
  }
  return undefined;
}

/** How many elements a set-element dump holds (NFTA_SET_ELEM_LIST_ELEMENTS of NFTA_LIST_ELEM). */
export function countElements(replies: readonly NetlinkMessage[]): number {
  let n = 0;
  for (const msg of replies) {
    for (const ad = attributes(msg); ad.next(); ) {
      if (ad.type !== K.NFTA_SET_ELEM_LIST_ELEMENTS) continue;
      for (const list = ad.nested(); list.next(); ) if (list.type === K.NFTA_LIST_ELEM) n++;
    }
  }
  return n;
}
