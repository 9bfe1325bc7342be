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

/** Adds one to its chain for every rule of `table` in the dump. */
export function countRules(replies: readonly NetlinkMessage[], table: string, into: Map<string, number>): void {
  for (const msg of replies) {
    let t: string | undefined;
    let chain: string | undefined;
    for (const ad = attributes(msg); ad.next() && (t === undefined || chain === undefined); ) {
      if (ad.type === K.NFTA_RULE_TABLE) t = ad.string();
      else if (ad.type === K.NFTA_RULE_CHAIN) chain = ad.string();
    }
    if (t === table && chain !== undefined) into.set(chain, (into.get(chain) ?? 0) + 1);
  }
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
