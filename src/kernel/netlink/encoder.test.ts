import { describe, expect, it } from 'vitest';
import { AttributeDecoder, parseMessages } from './codec.js';
import { NetlinkEncoder } from './encoder.js';
import { NetlinkEncodeError } from './errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('NetlinkEncoder', () => {
  it('writes a struct nlmsghdr (little-endian) and patches nlmsg_len', () => {
    const enc = new NetlinkEncoder();
    const m = enc.beginMessage(0x1234, 0x0305, 0xa1b2c3d4, 0x01020304);
    enc.endMessage(m);
    // len 16 | type 0x1234 | flags 0x0305 | seq | pid
    expect(hex(enc.finish())).toBe('10000000' + '3412' + '0503' + 'd4c3b2a1' + '04030201');
  });

  it('pads every attribute to 4 bytes with zeros; nla_len excludes the padding', () => {
    const enc = new NetlinkEncoder();
    enc.u8(1, 0xab); // len 5: 05 00 01 00 ab + 3 pad
    enc.u16(2, 0x1234); // len 6: 06 00 02 00 34 12 + 2 pad
    enc.u16be(3, 0x1234); // network order: 12 34
    enc.u32(4, 0xdeadbeef);
    enc.u32be(5, 0x0a000001);
    enc.u64(6, 0x0102030405060708n);
    expect(hex(enc.finish())).toBe(
      '05000100ab000000' +
        '0600020034120000' +
        '0600030012340000' +
        '08000400efbeadde' +
        '080005000a000001' +
        '0c0006000807060504030201',
    );
  });

  it('writes NUL-terminated strings, binary values, flags and addresses', () => {
    const enc = new NetlinkEncoder();
    enc.string(1, 'rr'); // len 7: "rr\0" + 1 pad
    enc.string(2, ''); // len 5: "\0" + 3 pad
    enc.bytes(3, new Uint8Array([1, 2, 3]));
    enc.flag(4); // len 4, no value
    enc.address(5, '192.0.2.1');
    enc.address(6, '2001:db8::1');
    enc.inetAddr(7, '10.1.2.3'); // union nf_inet_addr: 16 bytes, IPv4 first
    expect(hex(enc.finish())).toBe(
      '070001007272' + '0000' +
        '05000200' + '00000000' +
        '07000300010203' + '00' +
        '04000400' +
        '08000500c0000201' +
        '1400060020010db8000000000000000000000001' +
        '140007000a010203000000000000000000000000',
    );
  });

  it('encodes UTF-8 strings by their byte length', () => {
    const enc = new NetlinkEncoder();
    enc.string(1, 'é'); // 2 bytes + NUL: len 7
    expect(hex(enc.finish())).toBe('07000100c3a90000');
  });

  it('nests attributes with NLA_F_NESTED and the nest length covering its children', () => {
    const enc = new NetlinkEncoder();
    const outer = enc.beginNested(1);
    enc.u32(2, 1);
    const inner = enc.beginNested(3);
    enc.u8(4, 9);
    enc.endNested(inner);
    enc.endNested(outer);
    // outer: len 4+8+12 = 24, type 0x8001; inner: len 4+8 = 12, type 0x8003
    expect(hex(enc.finish())).toBe('18000180' + '0800020001000000' + '0c000380' + '0500040009000000');
  });

  it('grows its buffer and keeps earlier bytes', () => {
    const enc = new NetlinkEncoder(64);
    const m = enc.beginMessage(16, 1, 1);
    for (let i = 0; i < 1000; i++) enc.u32(1, i);
    enc.endMessage(m);
    const [msg] = parseMessages(enc.finish());
    expect(msg?.data.length).toBe(8000);
    const ad = new AttributeDecoder(msg!.data);
    let n = 0;
    while (ad.next()) expect(ad.u32()).toBe(n++);
    expect(n).toBe(1000);
  });

  it('writes several messages back to back and resets for reuse', () => {
    const enc = new NetlinkEncoder();
    for (let seq = 1; seq <= 3; seq++) {
      const m = enc.beginMessage(20, 5, seq);
      enc.u8(1, seq);
      enc.endMessage(m);
    }
    expect(parseMessages(enc.peek()).map((m) => m.seq)).toEqual([1, 2, 3]);
    enc.rewind(enc.length - 24);
    expect(parseMessages(enc.peek()).map((m) => m.seq)).toEqual([1, 2]);
    enc.reset();
    expect(enc.length).toBe(0);
  });

  it('rejects values that do not fit, with NetlinkEncodeError', () => {
    const enc = new NetlinkEncoder();
    expect(() => enc.u8(1, 256)).toThrow(NetlinkEncodeError);
    expect(() => enc.u16(1, -1)).toThrow(NetlinkEncodeError);
    expect(() => enc.u32(1, 2 ** 32)).toThrow(NetlinkEncodeError);
    expect(() => enc.u32(1, 1.5)).toThrow(NetlinkEncodeError);
    expect(() => enc.u64(1, -1n)).toThrow(NetlinkEncodeError);
    expect(() => enc.string(1, 'a\0b')).toThrow(NetlinkEncodeError);
    expect(() => enc.address(1, '10.0.0.256')).toThrow(NetlinkEncodeError);
    expect(() => enc.address(1, '010.0.0.1')).toThrow(NetlinkEncodeError);
    expect(() => enc.inetAddr(1, 'not-an-ip')).toThrow(NetlinkEncodeError);
    expect(() => enc.bytes(1, new Uint8Array(70000))).toThrow(NetlinkEncodeError);
  });
});
