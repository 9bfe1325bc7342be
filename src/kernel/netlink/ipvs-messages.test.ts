// Golden bytes derived by hand from the kernel's layouts (no IPVS here to
// capture ipvsadm's): struct nlmsghdr (u32 len, u16 type, u16 flags, u32 seq,
// u32 pid; little-endian on x86), struct genlmsghdr (u8 cmd, u8 version = 1,
// u16 0), then struct nlattr (u16 len, u16 type) attributes padded to 4.
// What the kernel reads is in net/netfilter/ipvs/ip_vs_ctl.c
// (ip_vs_genl_parse_service/dest): AF u16, PROTOCOL u16, ADDR 16 bytes,
// PORT be16, SCHED_NAME string, FLAGS struct ip_vs_flags, TIMEOUT u32,
// NETMASK u32; dest FWD_METHOD/WEIGHT/U_THRESH/L_THRESH u32, ADDR_FAMILY u16.

import { describe, expect, it } from 'vitest';
import { AttributeDecoder, NetlinkEncoder, genlAttributes, parseMessages } from './codec.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import * as K from './ipvs-constants.js';
import {
  encodeDelDestination,
  encodeDelService,
  encodeFlush,
  encodeGetDestinations,
  encodeGetInfo,
  encodeGetServices,
  encodeNewDestination,
  encodeNewService,
  encodeUpdateDestination,
  encodeUpdateService,
  writeNewService,
} from './ipvs-messages.js';
import { decodeDestination, decodeDestinationMessage, decodeInfo, decodeService, decodeServiceMessage } from './ipvs-replies.js';
import type { IpvsDestination, IpvsService } from './ipvs-types.js';

const FAMILY = 0x20;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Hex with spaces, newlines and # comments. */
const h = (s: string): string => s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');

const svc4: IpvsService = {
  af: 'IPv4',
  protocol: 'TCP',
  address: '10.0.0.1',
  port: 80,
  scheduler: 'rr',
  flags: 0,
  timeout: 0,
  netmask: 0xffffffff,
};
const dest4: IpvsDestination = {
  address: '10.244.1.5',
  port: 8080,
  forwardMethod: 'masq',
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
};

// IPVS_CMD_ATTR_SERVICE identity of svc4: nest 0x8001 of 4 + 8 + 8 + 20 + 8 = 48 bytes.
const SVC4_ID = h(`
  3000 0180
    0600 0100 0200 0000                          # AF = AF_INET
    0600 0200 0600 0000                          # PROTOCOL = IPPROTO_TCP
    1400 0300 0a000001 000000000000000000000000  # ADDR = 10.0.0.1 in nf_inet_addr
    0600 0400 0050 0000                          # PORT = 80, big-endian
`);

describe('IPVS service messages', () => {
  it('IPVS_CMD_NEW_SERVICE carries the identity and the options the kernel requires', () => {
    const expected = h(`
      68000000 2000 0500 01000000 00000000   # nlmsghdr: len 104, type FAMILY, REQUEST|ACK, seq 1
      01 01 0000                             # genlmsghdr: IPVS_CMD_NEW_SERVICE, version 1
      5400 0180                              # IPVS_CMD_ATTR_SERVICE, nested, len 84
        0600 0100 0200 0000
        0600 0200 0600 0000
        1400 0300 0a000001 000000000000000000000000
        0600 0400 0050 0000
        0700 0600 727200 00                  # SCHED_NAME "rr" NUL, 1 pad
        0c00 0700 00000000 ffffffff          # FLAGS: ip_vs_flags { flags 0, mask ~0 }
        0800 0800 00000000                   # TIMEOUT 0
        0800 0900 ffffffff                   # NETMASK 0xffffffff
    `);
    expect(hex(encodeNewService(FAMILY, 1, svc4))).toBe(expected);
  });

  it('IPVS_CMD_SET_SERVICE differs only in the command', () => {
    const update = encodeUpdateService(FAMILY, 1, svc4);
    const create = encodeNewService(FAMILY, 1, svc4);
    expect(update[16]).toBe(K.IPVS_CMD_SET_SERVICE);
    expect(hex(update.subarray(17))).toBe(hex(create.subarray(17)));
  });

  it('IPVS_CMD_DEL_SERVICE carries the identity only', () => {
    expect(hex(encodeDelService(FAMILY, 2, svc4))).toBe(h('44000000 2000 0500 02000000 00000000 03010000') + SVC4_ID);
  });

  it('encodes an IPv6 service with a prefix-length netmask and persistence', () => {
    const svc6: IpvsService = { ...svc4, af: 'IPv6', address: '2001:db8::1', protocol: 'UDP', port: 53, scheduler: 'wlc', flags: K.IP_VS_SVC_F_PERSISTENT, timeout: 10800, netmask: 128 };
    const out = hex(encodeNewService(FAMILY, 3, svc6));
    expect(out).toContain(h('0600 0100 0a00 0000')); // AF_INET6
    expect(out).toContain(h('0600 0200 1100 0000')); // IPPROTO_UDP
    expect(out).toContain(h('1400 0300 20010db8000000000000000000000001'));
    expect(out).toContain(h('0600 0400 0035 0000')); // port 53
    expect(out).toContain(h('0800 0600 776c6300')); // "wlc\0"
    expect(out).toContain(h('0c00 0700 01000000 ffffffff'));
    expect(out).toContain(h('0800 0800 302a0000')); // 10800
    expect(out).toContain(h('0800 0900 80000000')); // 128
  });

  it('encodes a fwmark service by AF and FWMARK alone', () => {
    // len 16 + 4 + nest (4 + AF 8 + FWMARK 8 = 20) = 40
    const out = hex(encodeDelService(FAMILY, 4, { ...svc4, fwmark: 0x4000 }));
    expect(out).toBe(h('28000000 2000 0500 04000000 00000000 03010000 1400 0180 0600 0100 0200 0000 0800 0500 00400000'));
  });

  it('refuses what the kernel would refuse', () => {
    expect(() => encodeNewService(FAMILY, 1, { ...svc4, scheduler: 'x'.repeat(16) })).toThrow(NetlinkEncodeError);
    expect(() => encodeNewService(FAMILY, 1, { ...svc4, address: '2001:db8::1' })).toThrow(/not IPv4/);
    expect(() => encodeNewService(FAMILY, 1, { ...svc4, port: 70000 })).toThrow(NetlinkEncodeError);
  });

  it('leaves a batch well-formed when one message fails to encode', () => {
    const enc = new NetlinkEncoder();
    writeNewService(enc, FAMILY, 1, svc4);
    const before = hex(enc.peek());
    expect(() => writeNewService(enc, FAMILY, 2, { ...svc4, scheduler: '' })).toThrow(NetlinkEncodeError);
    expect(hex(enc.peek())).toBe(before);
  });
});

describe('IPVS destination messages', () => {
  it('IPVS_CMD_NEW_DEST carries the service identity and the full destination', () => {
    const expected =
      h('8c000000 2000 0500 05000000 00000000 05010000') +
      SVC4_ID +
      h(`
      4800 0280                                      # IPVS_CMD_ATTR_DEST, nested, len 72
        1400 0100 0af40105 000000000000000000000000
        0600 0200 1f90 0000                          # PORT 8080 big-endian
        0800 0300 00000000                           # FWD_METHOD IP_VS_CONN_F_MASQ
        0800 0400 01000000                           # WEIGHT 1
        0800 0500 00000000                           # U_THRESH
        0800 0600 00000000                           # L_THRESH
        0600 0b00 0200 0000                          # ADDR_FAMILY AF_INET
      `);
    expect(hex(encodeNewDestination(FAMILY, 5, svc4, dest4))).toBe(expected);
  });

  it('encodes forwarding methods, and SET_DEST / DEL_DEST', () => {
    const route = hex(encodeUpdateDestination(FAMILY, 6, svc4, { ...dest4, forwardMethod: 'route', weight: 0 }));
    expect(route.slice(32, 34)).toBe('06');
    expect(route).toContain(h('0800 0300 03000000'));
    expect(route).toContain(h('0800 0400 00000000'));
    const tunnel = hex(encodeNewDestination(FAMILY, 6, svc4, { ...dest4, forwardMethod: 'tunnel' }));
    expect(tunnel).toContain(h('0800 0300 02000000'));
    expect(hex(encodeDelDestination(FAMILY, 7, svc4, dest4))).toBe(
      h('64000000 2000 0500 07000000 00000000 07010000') + SVC4_ID + h('2000 0280 1400 0100 0af40105 000000000000000000000000 0600 0200 1f90 0000'),
    );
  });
});

describe('IPVS dumps and commands without attributes', () => {
  it('encodes GET_SERVICE and GET_DEST as dumps, GET_INFO and FLUSH as acked requests', () => {
    expect(hex(encodeGetServices(FAMILY, 8))).toBe(h('14000000 2000 0103 08000000 00000000 04010000'));
    expect(hex(encodeGetDestinations(FAMILY, 9, svc4))).toBe(h('44000000 2000 0103 09000000 00000000 08010000') + SVC4_ID);
    expect(hex(encodeGetInfo(FAMILY, 10))).toBe(h('14000000 2000 0500 0a000000 00000000 0f010000'));
    expect(hex(encodeFlush(FAMILY, 11))).toBe(h('14000000 2000 0500 0b000000 00000000 11010000'));
  });

  it('batches several messages into one buffer', () => {
    const enc = new NetlinkEncoder();
    for (let i = 0; i < 3; i++) writeNewService(enc, FAMILY, 100 + i, { ...svc4, port: 80 + i });
    const msgs = parseMessages(enc.peek());
    expect(msgs.map((m) => m.seq)).toEqual([100, 101, 102]);
    expect(msgs.map((m) => decodeServiceMessage(m).port)).toEqual([80, 81, 82]);
  });
});

/** A reply as the kernel builds it: nla_nest_start_noflag, so no NLA_F_NESTED. */
function kernelReply(cmd: number, body: (enc: NetlinkEncoder) => void): Uint8Array {
  const enc = new NetlinkEncoder();
  const m = enc.beginMessage(FAMILY, 2 /* NLM_F_MULTI */, 1, 1234);
  enc.genlHeader(cmd, 1);
  body(enc);
  enc.endMessage(m);
  const out = enc.finish();
  out[23] = (out[23] ?? 0) & 0x7f; // clear NLA_F_NESTED of the top-level nest
  return out;
}

describe('IPVS reply decoding', () => {
  it('round-trips services through encode and decode', () => {
    for (const svc of [svc4, { ...svc4, af: 'IPv6' as const, address: '2001:db8::1', netmask: 128 }, { ...svc4, fwmark: 7, address: '0.0.0.0', port: 0 }]) {
      const [msg] = parseMessages(encodeNewService(FAMILY, 1, svc));
      expect(decodeServiceMessage(msg!)).toEqual(svc);
    }
  });

  it('decodes a dumped service with stats, preferring STATS64, in any attribute order', () => {
    const reply = kernelReply(K.IPVS_CMD_NEW_SERVICE, (enc) => {
      const n = enc.beginNested(K.IPVS_CMD_ATTR_SERVICE);
      enc.u16be(K.IPVS_SVC_ATTR_PORT, 443);
      enc.inetAddr(K.IPVS_SVC_ATTR_ADDR, '192.0.2.1');
      enc.u16(K.IPVS_SVC_ATTR_AF, 2);
      enc.u16(K.IPVS_SVC_ATTR_PROTOCOL, K.IPPROTO_SCTP);
      enc.string(K.IPVS_SVC_ATTR_SCHED_NAME, 'sh');
      enc.string(K.IPVS_SVC_ATTR_PE_NAME, 'sip');
      enc.bytes(K.IPVS_SVC_ATTR_FLAGS, new Uint8Array([0x12, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
      enc.u32(K.IPVS_SVC_ATTR_TIMEOUT, 0);
      enc.u32(K.IPVS_SVC_ATTR_NETMASK, 0xffffffff);
      const s = enc.beginNested(K.IPVS_SVC_ATTR_STATS);
      enc.u32(K.IPVS_STATS_ATTR_CONNS, 1);
      enc.endNested(s);
      const s64 = enc.beginNested(K.IPVS_SVC_ATTR_STATS64);
      enc.u64(K.IPVS_STATS_ATTR_CONNS, 5n);
      enc.u64(K.IPVS_STATS_ATTR_INBYTES, 2n ** 33n);
      enc.u64(K.IPVS_STATS_ATTR_PAD, 0n);
      enc.endNested(s64);
      enc.endNested(n);
    });
    const svc = decodeServiceMessage(parseMessages(reply)[0]!);
    expect(svc).toMatchObject({ af: 'IPv4', protocol: 'SCTP', address: '192.0.2.1', port: 443, scheduler: 'sh', flags: 0x12, netmask: 0xffffffff });
    expect(svc.stats).toMatchObject({ connections: 5, bytesIn: 2 ** 33, packetsIn: 0 });
  });

  it('decodes a dumped destination with connection counts and its family', () => {
    const reply = kernelReply(K.IPVS_CMD_NEW_DEST, (enc) => {
      const n = enc.beginNested(K.IPVS_CMD_ATTR_DEST);
      enc.inetAddr(K.IPVS_DEST_ATTR_ADDR, '2001:db8::5');
      enc.u16be(K.IPVS_DEST_ATTR_PORT, 8443);
      enc.u32(K.IPVS_DEST_ATTR_FWD_METHOD, K.IP_VS_CONN_F_DROUTE | 0x100);
      enc.u32(K.IPVS_DEST_ATTR_WEIGHT, 3);
      enc.u32(K.IPVS_DEST_ATTR_U_THRESH, 100);
      enc.u32(K.IPVS_DEST_ATTR_L_THRESH, 10);
      enc.u32(K.IPVS_DEST_ATTR_ACTIVE_CONNS, 4);
      enc.u32(K.IPVS_DEST_ATTR_INACT_CONNS, 6);
      enc.u32(K.IPVS_DEST_ATTR_PERSIST_CONNS, 0);
      enc.u16(K.IPVS_DEST_ATTR_ADDR_FAMILY, 10);
      enc.u8(K.IPVS_DEST_ATTR_TUN_TYPE, 0);
      const s = enc.beginNested(K.IPVS_DEST_ATTR_STATS);
      enc.u32(K.IPVS_STATS_ATTR_INPKTS, 9);
      enc.u64(K.IPVS_STATS_ATTR_OUTBYTES, 1000n);
      enc.endNested(s);
      enc.endNested(n);
    });
    expect(decodeDestinationMessage(parseMessages(reply)[0]!, 'IPv4')).toEqual({
      address: '2001:db8::5',
      port: 8443,
      forwardMethod: 'route',
      weight: 3,
      upperThreshold: 100,
      lowerThreshold: 10,
      af: 'IPv6',
      activeConnections: 4,
      inactiveConnections: 6,
      persistentConnections: 0,
      stats: { connections: 0, packetsIn: 9, packetsOut: 0, bytesIn: 0, bytesOut: 1000, cps: 0, ppsIn: 0, ppsOut: 0, bpsIn: 0, bpsOut: 0 },
    });
  });

  it('round-trips a destination, taking the family from the service when absent', () => {
    const [msg] = parseMessages(encodeDelDestination(FAMILY, 1, svc4, dest4));
    const ad = genlAttributes(msg!);
    let dest: IpvsDestination | undefined;
    while (ad.next()) if (ad.type === K.IPVS_CMD_ATTR_DEST) dest = decodeDestination(ad.nested(), 'IPv4');
    expect(dest).toEqual({ ...dest4, weight: 0, af: 'IPv4' });
  });

  it('decodes GET_INFO replies', () => {
    const reply = kernelReply(K.IPVS_CMD_SET_INFO, (enc) => {
      enc.u32(K.IPVS_INFO_ATTR_VERSION, 0x010201);
      enc.u32(K.IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
    });
    expect(decodeInfo(parseMessages(reply)[0]!)).toEqual({ version: '1.2.1', versionCode: 0x010201, connTableSize: 4096 });
  });

  it('rejects replies that lack what identifies the object', () => {
    const noAf = new NetlinkEncoder();
    noAf.u16(K.IPVS_SVC_ATTR_PROTOCOL, 6);
    expect(() => decodeService(new AttributeDecoder(noAf.finish()))).toThrow(NetlinkDecodeError);
    const shortAddr = new NetlinkEncoder();
    shortAddr.u16(K.IPVS_DEST_ATTR_ADDR_FAMILY, 10);
    shortAddr.bytes(K.IPVS_DEST_ATTR_ADDR, new Uint8Array(4));
    expect(() => decodeDestination(new AttributeDecoder(shortAddr.finish()))).toThrow(/IPv6 address attribute of 4 bytes/);
    const badProto = new NetlinkEncoder();
    badProto.u16(K.IPVS_SVC_ATTR_AF, 2);
    badProto.u16(K.IPVS_SVC_ATTR_PROTOCOL, 1);
    expect(() => decodeService(new AttributeDecoder(badProto.finish()))).toThrow(/protocol 1/);
    const noInfo = kernelReply(K.IPVS_CMD_SET_INFO, () => undefined);
    expect(() => decodeInfo(parseMessages(noInfo)[0]!)).toThrow(NetlinkDecodeError);
  });
});
