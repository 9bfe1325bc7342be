// Bytes of nf_tables transactions, checked field by field (the privileged
// equivalence test in src/backends/nftables/netlink-ops.test.ts checks that
// the kernel reads them as nft's own).
import { describe, expect, it } from 'vitest';
import { parseMessages } from './codec.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST } from './constants.js';
import * as K from './nftables-constants.js';
import { NftBatchEncoder } from './nftables-messages.js';
import { AttributeDecoder } from './attribute-decoder.js';

function batch(build: (b: NftBatchEncoder) => void): ReturnType<typeof parseMessages> {
  let seq = 100;
  const b = new NftBatchEncoder('ip6', 'svcplane', () => seq++);
  build(b);
  return parseMessages(b.finish());
}

/** The attributes after a message's 4-byte nfgenmsg. */
function attrs(data: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const ad = new AttributeDecoder(data.subarray(4));
  while (ad.next()) out.set(ad.type, ad.bytes());
  return out;
}

describe('NftBatchEncoder', () => {
  it('frames the messages between BATCH_BEGIN and BATCH_END, each acked, with distinct sequence numbers', () => {
    const msgs = batch((b) => {
      b.add({ kind: 'newchain', chain: 'c' });
      b.add({ kind: 'newrule', chain: 'c', exprs: [{ type: 'verdict', verdict: { code: 'accept' } }], comment: 'hi' });
    });
    expect(msgs.map((m) => m.type)).toEqual([K.NFNL_MSG_BATCH_BEGIN, (K.NFNL_SUBSYS_NFTABLES << 8) | K.NFT_MSG_NEWCHAIN, (K.NFNL_SUBSYS_NFTABLES << 8) | K.NFT_MSG_NEWRULE, K.NFNL_MSG_BATCH_END]);
    expect(msgs.map((m) => m.seq)).toEqual([100, 101, 102, 103]);
    expect(msgs[0]?.flags).toBe(NLM_F_REQUEST);
    expect(msgs[1]?.flags).toBe(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
    expect(msgs[2]?.flags).toBe(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND);
    // nfgenmsg: the batch names the subsystem (res_id, big-endian); messages name the family.
    expect([...(msgs[0]?.data.subarray(0, 4) ?? [])]).toEqual([0, 0, 0, K.NFNL_SUBSYS_NFTABLES]);
    expect([...(msgs[1]?.data.subarray(0, 4) ?? [])]).toEqual([K.NFPROTO_IPV6, 0, 0, 0]);
  });

  it('writes names NUL-terminated, integers big-endian and comments as libnftnl user data', () => {
    const [, rule] = batch((b) => b.add({ kind: 'newrule', chain: 'c', exprs: [{ type: 'numgen-random', modulus: 3, dreg: 1 }], comment: 'hi' }));
    const a = attrs(rule?.data ?? new Uint8Array());
    expect(new TextDecoder().decode(a.get(K.NFTA_RULE_TABLE))).toBe('svcplane\0');
    expect([...(a.get(K.NFTA_RULE_USERDATA) ?? [])]).toEqual([K.NFTNL_UDATA_RULE_COMMENT, 3, 0x68, 0x69, 0]);
    const list = new AttributeDecoder(a.get(K.NFTA_RULE_EXPRESSIONS) ?? new Uint8Array());
    expect(list.next()).toBe(true);
    const expr = new AttributeDecoder(list.bytes());
    const fields = new Map<number, Uint8Array>();
    while (expr.next()) fields.set(expr.type, expr.bytes());
    expect(new TextDecoder().decode(fields.get(K.NFTA_EXPR_NAME))).toBe('numgen\0');
    const data = new AttributeDecoder(fields.get(K.NFTA_EXPR_DATA) ?? new Uint8Array());
    const ng = new Map<number, Uint8Array>();
    while (data.next()) ng.set(data.type, data.bytes());
    expect([...(ng.get(K.NFTA_NG_MODULUS) ?? [])]).toEqual([0, 0, 0, 3]);
    expect([...(ng.get(K.NFTA_NG_TYPE) ?? [])]).toEqual([0, 0, 0, K.NFT_NG_RANDOM]);
  });

  it('encodes jump verdicts as the negative NFT_JUMP code and the chain', () => {
    const [, el] = batch((b) => b.add({ kind: 'newsetelem', set: 'm', elements: [{ key: new Uint8Array([1, 2, 3, 4]), verdict: { code: 'jump', chain: 'x' } }] }));
    expect(Buffer.from(el?.data ?? []).includes(Buffer.from([0xff, 0xff, 0xff, 0xfd]))).toBe(true);
  });

  it('leaves the batch well-formed when a message cannot be encoded', () => {
    const msgs = batch((b) => {
      expect(() => b.add({ kind: 'newrule', chain: 'c', exprs: [], comment: 'x'.repeat(300) })).toThrow(/comment too long/);
      b.add({ kind: 'delchain', chain: 'c' });
    });
    expect(msgs).toHaveLength(3);
  });
});
