// Pure encoder of nf_tables transactions: one batch (NFNL_MSG_BATCH_BEGIN,
// the messages, NFNL_MSG_BATCH_END) against one table, the bytes `nft -f`
// would send for the same commands, without nft's cache of the whole
// ruleset. Expressions are the kernel's (see `nft --debug=netlink`); the
// caller lowers its rules to them.

import { NetlinkEncoder } from './codec.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST } from './constants.js';
import { NetlinkEncodeError } from './errors.js';
import * as K from './nftables-constants.js';

export type NftTableFamily = 'ip' | 'ip6';

export type NftVerdict =
  | { readonly code: 'accept' | 'drop' | 'return' }
  | { readonly code: 'jump' | 'goto'; readonly chain: string };

/** The expressions svcplane's rules lower to (a subset of nf_tables'). */
export type NftExpr =
  | { readonly type: 'payload'; readonly base: 'network' | 'transport'; readonly offset: number; readonly len: number; readonly dreg: number }
  | { readonly type: 'meta-l4proto'; readonly dreg: number }
  | { readonly type: 'cmp'; readonly sreg: number; readonly op: 'eq' | 'neq'; readonly data: Uint8Array }
  | { readonly type: 'bitwise'; readonly sreg: number; readonly dreg: number; readonly mask: Uint8Array; readonly xor: Uint8Array }
  /** A set lookup; with `dreg`, a map lookup loading the element's data. */
  | { readonly type: 'lookup'; readonly set: string; readonly sreg: number; readonly dreg?: number }
  | { readonly type: 'dynset-update'; readonly set: string; readonly sreg: number }
  | { readonly type: 'numgen-random'; readonly modulus: number; readonly dreg: number }
  | { readonly type: 'fib-addrtype'; readonly dir: 'saddr' | 'daddr'; readonly dreg: number }
  | { readonly type: 'immediate'; readonly dreg: number; readonly data: Uint8Array }
  | { readonly type: 'verdict'; readonly verdict: NftVerdict }
  | { readonly type: 'dnat'; readonly addrReg: number; readonly protoReg: number };

export interface NftSetElementSpec {
  /** The key's bytes (concatenations: each part padded to 4 bytes). */
  readonly key: Uint8Array;
  readonly verdict?: NftVerdict;
  /** A data map's value bytes. */
  readonly data?: Uint8Array;
  readonly comment?: string;
}

export type NftMessage =
  | { readonly kind: 'newchain' | 'delchain' | 'flushchain'; readonly chain: string }
  | { readonly kind: 'newrule'; readonly chain: string; readonly exprs: readonly NftExpr[]; readonly comment?: string }
  /** Types are nft's datatype ids; `userdata` is what nft reads back (nftables-userdata.ts). */
  | {
      readonly kind: 'newset'; readonly set: string; readonly flags: number; readonly keyType: number; readonly keyLen: number;
      readonly dataType?: number; readonly dataLen?: number; readonly timeoutMs?: number; readonly userdata?: Uint8Array;
    }
  | { readonly kind: 'delset'; readonly set: string }
  | { readonly kind: 'newsetelem'; readonly set: string; readonly elements: readonly NftSetElementSpec[] }
  | { readonly kind: 'delsetelem'; readonly set: string; readonly keys: readonly Uint8Array[] };

/** The kernel's name of each expression (NFTA_EXPR_NAME). */
const EXPR_NAMES: Record<NftExpr['type'], string> = {
  payload: 'payload', 'meta-l4proto': 'meta', cmp: 'cmp', bitwise: 'bitwise', lookup: 'lookup', 'dynset-update': 'dynset',
  'numgen-random': 'numgen', 'fib-addrtype': 'fib', immediate: 'immediate', verdict: 'immediate', dnat: 'nat',
};

const VERDICT_CODES: Record<NftVerdict['code'], number> = {
  accept: K.NF_ACCEPT, drop: K.NF_DROP, return: K.NFT_RETURN, jump: K.NFT_JUMP, goto: K.NFT_GOTO,
};
const ACKED = NLM_F_REQUEST | NLM_F_ACK;
const utf8 = new TextEncoder();

/** libnftnl's user data: `{ u8 type; u8 len; value }`, the comment NUL-terminated as nft writes it. */
function commentUserdata(type: number, comment: string): Uint8Array {
  const text = utf8.encode(comment);
  if (text.length + 1 > 255) throw new NetlinkEncodeError(`comment too long: ${text.length} bytes`);
  const out = new Uint8Array(text.length + 3);
  out[0] = type;
  out[1] = text.length + 1;
  out.set(text, 2);
  return out;
}

export class NftBatchEncoder {
  private readonly enc = new NetlinkEncoder(4096);
  private readonly family: number;
  private setId = 0;
  /** Per message (begin and end included), in order: what it does, for errors. */
  readonly descriptions: string[] = [];

  constructor(family: NftTableFamily, private readonly table: string, private readonly nextSeq: () => number) {
    this.family = family === 'ip' ? K.NFPROTO_IPV4 : K.NFPROTO_IPV6;
    this.enc.endMessage(this.header(K.NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, 'batch begin', K.NFNL_SUBSYS_NFTABLES));
  }

  /** Appends one message of the transaction. */
  add(m: NftMessage): void {
    switch (m.kind) {
      case 'newchain':
      case 'delchain':
        this.message(m.kind === 'newchain' ? K.NFT_MSG_NEWCHAIN : K.NFT_MSG_DELCHAIN, m.kind === 'newchain' ? NLM_F_CREATE : 0, `${m.kind} ${m.chain}`, () => {
          this.enc.string(K.NFTA_CHAIN_TABLE, this.table);
          this.enc.string(K.NFTA_CHAIN_NAME, m.chain);
        });
        return;
      case 'flushchain':
        // DELRULE naming a chain and no rule handle deletes every rule of the chain.
        this.message(K.NFT_MSG_DELRULE, 0, `flush chain ${m.chain}`, () => {
          this.enc.string(K.NFTA_RULE_TABLE, this.table);
          this.enc.string(K.NFTA_RULE_CHAIN, m.chain);
        });
        return;
      case 'newrule':
        this.message(K.NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, `add rule to ${m.chain}`, () => {
          this.enc.string(K.NFTA_RULE_TABLE, this.table);
          this.enc.string(K.NFTA_RULE_CHAIN, m.chain);
          const list = this.enc.beginNested(K.NFTA_RULE_EXPRESSIONS);
          for (const e of m.exprs) this.expression(e);
          this.enc.endNested(list);
          if (m.comment !== undefined) this.enc.bytes(K.NFTA_RULE_USERDATA, commentUserdata(K.NFTNL_UDATA_RULE_COMMENT, m.comment));
        });
        return;
      case 'newset':
        this.message(K.NFT_MSG_NEWSET, NLM_F_CREATE, `add set ${m.set}`, () => {
          this.enc.string(K.NFTA_SET_TABLE, this.table);
          this.enc.string(K.NFTA_SET_NAME, m.set);
          this.enc.u32be(K.NFTA_SET_FLAGS, m.flags);
          this.enc.u32be(K.NFTA_SET_KEY_TYPE, m.keyType);
          this.enc.u32be(K.NFTA_SET_KEY_LEN, m.keyLen);
          if (m.dataType !== undefined) this.enc.u32be(K.NFTA_SET_DATA_TYPE, m.dataType);
          if (m.dataLen !== undefined) this.enc.u32be(K.NFTA_SET_DATA_LEN, m.dataLen);
          this.enc.u32be(K.NFTA_SET_ID, ++this.setId);
          if (m.timeoutMs !== undefined) this.enc.bytes(K.NFTA_SET_TIMEOUT, be64(m.timeoutMs));
          if (m.userdata !== undefined) this.enc.bytes(K.NFTA_SET_USERDATA, m.userdata);
        });
        return;
      case 'delset':
        this.message(K.NFT_MSG_DELSET, 0, `delete set ${m.set}`, () => {
          this.enc.string(K.NFTA_SET_TABLE, this.table);
          this.enc.string(K.NFTA_SET_NAME, m.set);
        });
        return;
      case 'newsetelem':
      case 'delsetelem': {
        const add = m.kind === 'newsetelem';
        const items: readonly NftSetElementSpec[] = add ? m.elements : m.keys.map((key) => ({ key }));
        this.message(add ? K.NFT_MSG_NEWSETELEM : K.NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, `${add ? 'add' : 'delete'} ${items.length} element(s) of ${m.set}`, () => {
          this.enc.string(K.NFTA_SET_ELEM_LIST_TABLE, this.table);
          this.enc.string(K.NFTA_SET_ELEM_LIST_SET, m.set);
          const list = this.enc.beginNested(K.NFTA_SET_ELEM_LIST_ELEMENTS);
          for (const item of items) {
            const el = this.enc.beginNested(K.NFTA_LIST_ELEM);
            const key = this.enc.beginNested(K.NFTA_SET_ELEM_KEY);
            this.enc.bytes(K.NFTA_DATA_VALUE, item.key);
            this.enc.endNested(key);
            if (item.verdict !== undefined) {
              const data = this.enc.beginNested(K.NFTA_SET_ELEM_DATA);
              this.verdict(item.verdict);
              this.enc.endNested(data);
            } else if (item.data !== undefined) {
              this.value(K.NFTA_SET_ELEM_DATA, item.data);
            }
            if (item.comment !== undefined) this.enc.bytes(K.NFTA_SET_ELEM_USERDATA, commentUserdata(K.NFTNL_UDATA_SET_ELEM_COMMENT, item.comment));
            this.enc.endNested(el);
          }
          this.enc.endNested(list);
        });
        return;
      }
    }
  }

  /** Ends the batch; returns its bytes. */
  finish(): Uint8Array {
    this.enc.endMessage(this.header(K.NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, 'batch end', K.NFNL_SUBSYS_NFTABLES));
    return this.enc.finish();
  }

  /** nlmsghdr + struct nfgenmsg { u8 family; u8 version; __be16 res_id; }. */
  private header(type: number, flags: number, family: number, what: string, resId = 0): number {
    const start = this.enc.beginMessage(type, flags, this.nextSeq());
    this.enc.putU8(family);
    this.enc.putU8(K.NFNETLINK_V0);
    this.enc.putU16(((resId & 0xff) << 8) | (resId >> 8)); // big-endian
    this.descriptions.push(what);
    return start;
  }

  private message(msg: number, flags: number, what: string, body: () => void): void {
    const start = this.header((K.NFNL_SUBSYS_NFTABLES << 8) | msg, ACKED | flags, this.family, what);
    try {
      body();
    } catch (err) {
      this.enc.rewind(start);
      this.descriptions.pop();
      throw err;
    }
    this.enc.endMessage(start);
  }

  private verdict(v: NftVerdict): void {
    const nest = this.enc.beginNested(K.NFTA_DATA_VERDICT);
    this.enc.u32be(K.NFTA_VERDICT_CODE, VERDICT_CODES[v.code] >>> 0);
    if (v.code === 'jump' || v.code === 'goto') this.enc.string(K.NFTA_VERDICT_CHAIN, v.chain);
    this.enc.endNested(nest);
  }

  private value(type: number, data: Uint8Array): void {
    const nest = this.enc.beginNested(type);
    this.enc.bytes(K.NFTA_DATA_VALUE, data);
    this.enc.endNested(nest);
  }

  private expression(e: NftExpr): void {
    const el = this.enc.beginNested(K.NFTA_LIST_ELEM);
    this.enc.string(K.NFTA_EXPR_NAME, EXPR_NAMES[e.type]);
    const data = this.enc.beginNested(K.NFTA_EXPR_DATA);
    const enc = this.enc;
    switch (e.type) {
      case 'payload':
        enc.u32be(K.NFTA_PAYLOAD_DREG, e.dreg);
        enc.u32be(K.NFTA_PAYLOAD_BASE, e.base === 'network' ? K.NFT_PAYLOAD_NETWORK_HEADER : K.NFT_PAYLOAD_TRANSPORT_HEADER);
        enc.u32be(K.NFTA_PAYLOAD_OFFSET, e.offset);
        enc.u32be(K.NFTA_PAYLOAD_LEN, e.len);
        break;
      case 'meta-l4proto':
        enc.u32be(K.NFTA_META_DREG, e.dreg);
        enc.u32be(K.NFTA_META_KEY, K.NFT_META_L4PROTO);
        break;
      case 'cmp':
        enc.u32be(K.NFTA_CMP_SREG, e.sreg);
        enc.u32be(K.NFTA_CMP_OP, e.op === 'eq' ? K.NFT_CMP_EQ : K.NFT_CMP_NEQ);
        this.value(K.NFTA_CMP_DATA, e.data);
        break;
      case 'bitwise':
        if (e.mask.length !== e.xor.length) throw new NetlinkEncodeError('bitwise: mask and xor differ in length');
        enc.u32be(K.NFTA_BITWISE_SREG, e.sreg);
        enc.u32be(K.NFTA_BITWISE_DREG, e.dreg);
        enc.u32be(K.NFTA_BITWISE_LEN, e.mask.length);
        this.value(K.NFTA_BITWISE_MASK, e.mask);
        this.value(K.NFTA_BITWISE_XOR, e.xor);
        break;
      case 'lookup':
        enc.string(K.NFTA_LOOKUP_SET, e.set);
        enc.u32be(K.NFTA_LOOKUP_SREG, e.sreg);
        if (e.dreg !== undefined) enc.u32be(K.NFTA_LOOKUP_DREG, e.dreg);
        break;
      case 'dynset-update':
        enc.string(K.NFTA_DYNSET_SET_NAME, e.set);
        enc.u32be(K.NFTA_DYNSET_OP, K.NFT_DYNSET_OP_UPDATE);
        enc.u32be(K.NFTA_DYNSET_SREG_KEY, e.sreg);
        break;
      case 'numgen-random':
        enc.u32be(K.NFTA_NG_DREG, e.dreg);
        enc.u32be(K.NFTA_NG_MODULUS, e.modulus);
        enc.u32be(K.NFTA_NG_TYPE, K.NFT_NG_RANDOM);
        break;
      case 'fib-addrtype':
        enc.u32be(K.NFTA_FIB_DREG, e.dreg);
        enc.u32be(K.NFTA_FIB_RESULT, K.NFT_FIB_RESULT_ADDRTYPE);
        enc.u32be(K.NFTA_FIB_FLAGS, e.dir === 'saddr' ? K.NFTA_FIB_F_SADDR : K.NFTA_FIB_F_DADDR);
        break;
      case 'immediate':
        enc.u32be(K.NFTA_IMMEDIATE_DREG, e.dreg);
        this.value(K.NFTA_IMMEDIATE_DATA, e.data);
        break;
      case 'verdict': {
        enc.u32be(K.NFTA_IMMEDIATE_DREG, K.NFT_REG_VERDICT);
        const nest = enc.beginNested(K.NFTA_IMMEDIATE_DATA);
        this.verdict(e.verdict);
        enc.endNested(nest);
        break;
      }
      case 'dnat':
        enc.u32be(K.NFTA_NAT_TYPE, K.NFT_NAT_DNAT);
        enc.u32be(K.NFTA_NAT_FAMILY, this.family);
        enc.u32be(K.NFTA_NAT_REG_ADDR_MIN, e.addrReg);
        enc.u32be(K.NFTA_NAT_REG_PROTO_MIN, e.protoReg);
        enc.u32be(K.NFTA_NAT_FLAGS, K.NF_NAT_RANGE_PROTO_SPECIFIED);
        break;
    }
    enc.endNested(data);
    enc.endNested(el);
  }
}

function be64(ms: number): Uint8Array {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new NetlinkEncodeError(`timeout out of range: ${ms}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(ms), false);
  return out;
}

