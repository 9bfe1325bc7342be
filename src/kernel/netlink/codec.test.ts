import { describe, expect, it } from 'vitest';
import { AttributeDecoder, NetlinkEncoder, parseAck, parseDone, parseGenlMessage, parseMessages } from './codec.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR } from './constants.js';
import { NetlinkDecodeError } from './errors.js';

const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function decodeError(fn: () => unknown): NetlinkDecodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NetlinkDecodeError) return err;
    throw err;
  }
  throw new Error('expected a NetlinkDecodeError');
}

describe('parseMessages', () => {
  it('splits a multi-part datagram and ends at NLMSG_DONE', () => {
    const enc = new NetlinkEncoder();
    for (const seq of [5, 5]) {
      const m = enc.beginMessage(0x1c, NLM_F_MULTI, seq, 77);
      enc.genlHeader(1, 1);
      enc.u32(1, seq);
      enc.endMessage(m);
    }
    const done = enc.beginMessage(NLMSG_DONE, NLM_F_MULTI, 5, 77);
    enc.putU32(0);
    enc.endMessage(done);
    const msgs = parseMessages(enc.finish());
    expect(msgs.map((m) => [m.type, m.flags, m.seq, m.pid, m.data.length])).toEqual([
      [0x1c, NLM_F_MULTI, 5, 77, 12],
      [0x1c, NLM_F_MULTI, 5, 77, 12],
      [NLMSG_DONE, NLM_F_MULTI, 5, 77, 4],
    ]);
    expect(parseGenlMessage(msgs[0]!)).toMatchObject({ cmd: 1, version: 1 });
    expect(parseDone(msgs[2]!).errno).toBe(0);
  });

  it('accepts an empty buffer as no messages', () => {
    expect(parseMessages(new Uint8Array(0))).toEqual([]);
  });

  it('rejects a truncated header', () => {
    expect(decodeError(() => parseMessages(new Uint8Array(15))).message).toMatch(/truncated message header/);
  });

  it('rejects nlmsg_len shorter than the header or longer than the buffer', () => {
    expect(decodeError(() => parseMessages(bytes('0f000000 1000 0000 00000000 00000000'))).message).toMatch(/shorter than the header/);
    expect(decodeError(() => parseMessages(bytes('14000000 1000 0000 00000000 00000000'))).message).toMatch(/exceeds/);
  });

  it('reports the offset of a bad second message', () => {
    const err = decodeError(() => parseMessages(bytes('10000000 1000 0000 01000000 00000000' + '00000000 1000 0000 01000000 00000000')));
    expect(err.offset).toBe(16);
    expect(err.code).toBe('SVCPLANE_NETLINK_DECODE');
  });
});

describe('parseAck', () => {
  it('reads a plain ack: error 0 and the echoed request header', () => {
    // nlmsghdr(36, NLMSG_ERROR, CAPPED) | int error 0 | echoed nlmsghdr(len 40, type 0x1c, flags 5, seq 9, pid 0)
    const [msg] = parseMessages(bytes('24000000 0200 0001 09000000 00000000' + '00000000' + '28000000 1c00 0500 09000000 00000000'));
    expect(parseAck(msg!)).toEqual({ errno: 0, request: { length: 40, type: 0x1c, flags: 5, seq: 9, pid: 0 } });
  });

  it('reads errno and the extended ack message and offset after a capped request', () => {
    const enc = new NetlinkEncoder();
    const m = enc.beginMessage(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 3);
    enc.putI32(-17); // -EEXIST
    enc.putU32(64); // echoed nlmsg_len: the whole request, but only its header follows (capped)
    enc.putU16(0x1c);
    enc.putU16(0x605);
    enc.putU32(3);
    enc.putU32(0);
    enc.string(1, 'Service already exists'); // NLMSGERR_ATTR_MSG
    enc.u32(2, 36); // NLMSGERR_ATTR_OFFS
    enc.endMessage(m);
    const ack = parseAck(parseMessages(enc.finish())[0]!);
    expect(ack).toMatchObject({ errno: 17, extackMessage: 'Service already exists', extackOffset: 36 });
    expect(ack.request.seq).toBe(3);
  });

  it('skips the whole echoed request when the ack is not capped', () => {
    const enc = new NetlinkEncoder();
    const m = enc.beginMessage(NLMSG_ERROR, NLM_F_ACK_TLVS, 3);
    enc.putI32(-22);
    const req = enc.beginMessage(0x1c, 5, 3); // the echoed request, attributes included
    enc.u32(1, 0xffffffff);
    enc.endMessage(req);
    enc.string(1, 'bad attr');
    enc.endMessage(m);
    expect(parseAck(parseMessages(enc.finish())[0]!)).toMatchObject({ errno: 22, extackMessage: 'bad attr' });
  });

  it('rejects a short NLMSG_ERROR payload and an echoed length beyond the message', () => {
    const [short] = parseMessages(bytes('18000000 0200 0000 01000000 00000000 feffffff 00000000'));
    expect(decodeError(() => parseAck(short!)).message).toMatch(/NLMSG_ERROR payload/);
    const [bad] = parseMessages(bytes('24000000 0200 0002 01000000 00000000 eaffffff ff000000 1000 0000 01000000 00000000'));
    expect(decodeError(() => parseAck(bad!)).message).toMatch(/echoes/);
  });
});

describe('parseDone', () => {
  it('reads a dump error with its extended ack', () => {
    const enc = new NetlinkEncoder();
    const m = enc.beginMessage(NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS, 1);
    enc.putI32(-4);
    enc.string(1, 'dump interrupted');
    enc.endMessage(m);
    expect(parseDone(parseMessages(enc.finish())[0]!)).toEqual({ errno: 4, extackMessage: 'dump interrupted' });
  });

  it('treats an empty NLMSG_DONE payload (old kernels) as success', () => {
    expect(parseDone(parseMessages(bytes('10000000 0300 0200 01000000 00000000'))[0]!).errno).toBe(0);
  });
});

describe('AttributeDecoder', () => {
  it('walks attributes, masks NLA_F_NESTED, skips unknown types and reads nested ones', () => {
    const enc = new NetlinkEncoder();
    enc.u16(1, 10);
    enc.string(99, 'unknown, skipped by the caller');
    const n = enc.beginNested(2);
    enc.u32(1, 7);
    enc.endNested(n);
    const ad = new AttributeDecoder(enc.finish());
    const seen: string[] = [];
    while (ad.next()) {
      if (ad.type === 1) seen.push(`u16 ${ad.u16()}`);
      else if (ad.type === 2) {
        expect(ad.isNested).toBe(true);
        const inner = ad.nested();
        while (inner.next()) seen.push(`nested u32 ${inner.u32()}`);
      }
    }
    expect(seen).toEqual(['u16 10', 'nested u32 7']);
  });

  it('rejects a 0-length attribute instead of looping on it', () => {
    const ad = new AttributeDecoder(bytes('00000100 00000000'));
    expect(decodeError(() => ad.next()).message).toMatch(/shorter than its header/);
  });

  it('rejects lengths beyond the buffer, and trailing bytes shorter than a header', () => {
    expect(decodeError(() => new AttributeDecoder(bytes('09000100 00000000')).next()).message).toMatch(/exceeds/);
    const ad = new AttributeDecoder(bytes('05000100 ab000000 0000'));
    expect(ad.next()).toBe(true);
    expect(decodeError(() => ad.next()).message).toMatch(/trailing bytes/);
  });

  it('tolerates a missing final padding', () => {
    const ad = new AttributeDecoder(bytes('05000100 ab'));
    expect(ad.next()).toBe(true);
    expect(ad.u8()).toBe(0xab);
    expect(ad.next()).toBe(false);
  });

  it('checks the value size of typed reads', () => {
    const ad = new AttributeDecoder(bytes('06000100 0102 0000'));
    ad.next();
    expect(ad.u16()).toBe(0x0201);
    expect(ad.u16be()).toBe(0x0102);
    expect(decodeError(() => ad.u32()).message).toMatch(/expected 4/);
    expect(decodeError(() => ad.u64()).message).toMatch(/expected 8/);
    expect(decodeError(() => ad.address()).message).toMatch(/not 4 or 16/);
    expect(decodeError(() => ad.inetAddr(true)).message).toMatch(/not 16/);
  });

  it('reads strings up to the NUL, addresses and nf_inet_addr', () => {
    const enc = new NetlinkEncoder();
    enc.string(1, 'wlc');
    enc.address(2, '2001:db8::a');
    enc.inetAddr(3, '192.0.2.7');
    enc.u64(4, 2n ** 40n);
    const ad = new AttributeDecoder(enc.finish());
    ad.next();
    expect(ad.string()).toBe('wlc');
    ad.next();
    expect(ad.address()).toBe('2001:db8::a');
    ad.next();
    expect(ad.inetAddr(true)).toBe('192.0.2.7');
    expect(ad.inetAddr(false)).toBe('c000:207::');
    ad.next();
    expect(ad.u64Number()).toBe(2 ** 40);
  });

  it('reports error offsets relative to the outer buffer', () => {
    const ad = new AttributeDecoder(bytes('08000100 01000000 02000200'), 100);
    ad.next();
    expect(decodeError(() => ad.next()).offset).toBe(108);
  });
});
