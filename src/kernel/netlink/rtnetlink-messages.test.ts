// Golden bytes derived by hand from struct nlmsghdr, struct ifinfomsg
// (u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change) and
// struct ifaddrmsg (u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index),
// little-endian, attributes padded to 4. `ip link add kube-ipvs0 type dummy`
// sends the same attributes (iproute2 also sets NLA_F_NESTED on IFLA_LINKINFO).

import { describe, expect, it } from 'vitest';
import { NetlinkEncoder, parseMessages } from './codec.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';
import * as R from './rtnetlink-constants.js';
import {
  decodeAddress,
  decodeLink,
  encodeDelAddress,
  encodeDelLink,
  encodeGetAddresses,
  encodeGetLink,
  encodeNewAddress,
  encodeNewLink,
  encodeSetLinkUp,
} from './rtnetlink-messages.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Hex with spaces, newlines and # comments. */
const h = (s: string): string => s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');

describe('link messages', () => {
  it('RTM_NEWLINK creates a dummy link: IFLA_IFNAME and IFLA_LINKINFO { IFLA_INFO_KIND }', () => {
    expect(hex(encodeNewLink(1, 'kube-ipvs0', 'dummy'))).toBe(h(`
      40000000 1000 0506 01000000 00000000  # len 64, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 1
      00 00 0000 00000000 00000000 00000000 # ifinfomsg: AF_UNSPEC, index 0, flags 0, change 0
      0f00 0300 6b7562652d697076733000 00   # IFLA_IFNAME "kube-ipvs0" NUL, 1 pad
      1000 1280                             # IFLA_LINKINFO (18) | NLA_F_NESTED, len 16
        0a00 0100 64756d6d7900 0000         # IFLA_INFO_KIND "dummy" NUL, 2 pad
    `));
  });

  it('RTM_NEWLINK sets IFF_UP with change mask IFF_UP; RTM_DELLINK and RTM_GETLINK', () => {
    expect(hex(encodeSetLinkUp(2, 7, true))).toBe(h('20000000 1000 0500 02000000 00000000  00 00 0000 07000000 01000000 01000000'));
    expect(hex(encodeSetLinkUp(2, 7, false))).toBe(h('20000000 1000 0500 02000000 00000000  00 00 0000 07000000 00000000 01000000'));
    expect(hex(encodeDelLink(3, 7))).toBe(h('20000000 1100 0500 03000000 00000000  00 00 0000 07000000 00000000 00000000'));
    expect(hex(encodeGetLink(4, 'lo'))).toBe(h('28000000 1200 0500 04000000 00000000  00 00 0000 00000000 00000000 00000000  0700 0300 6c6f00 00'));
  });

  it('refuses interface names the kernel would refuse', () => {
    expect(() => encodeNewLink(1, 'x'.repeat(16), 'dummy')).toThrow(NetlinkEncodeError);
    expect(() => encodeNewLink(1, 'a/b', 'dummy')).toThrow(NetlinkEncodeError);
    expect(() => encodeGetLink(1, '')).toThrow(NetlinkEncodeError);
  });

  it('decodes a link reply, with its kind when it has one', () => {
    const enc = new NetlinkEncoder();
    const m = enc.beginMessage(R.RTM_NEWLINK, 0, 1);
    enc.putU8(0);
    enc.putU8(0);
    enc.putU16(1); // ARPHRD_ETHER
    enc.putI32(12);
    enc.putU32(R.IFF_UP);
    enc.putU32(0);
    enc.u32(R.IFLA_MTU, 1500);
    enc.string(R.IFLA_IFNAME, 'kube-ipvs0');
    const li = enc.beginNested(R.IFLA_LINKINFO);
    enc.string(R.IFLA_INFO_KIND, 'dummy');
    enc.endNested(li);
    enc.endMessage(m);
    expect(decodeLink(parseMessages(enc.finish())[0]!)).toEqual({ index: 12, name: 'kube-ipvs0', flags: 1, kind: 'dummy', mtu: 1500 });
  });
});

describe('address messages', () => {
  it('RTM_NEWADDR adds a /32 with IFA_LOCAL and IFA_ADDRESS', () => {
    expect(hex(encodeNewAddress(5, 3, '192.0.2.10'))).toBe(h(`
      28000000 1400 0506 05000000 00000000  # len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
      02 20 00 00 03000000                  # ifaddrmsg: AF_INET, /32, no flags, RT_SCOPE_UNIVERSE, index 3
      0800 0200 c000020a                    # IFA_LOCAL 192.0.2.10
      0800 0100 c000020a                    # IFA_ADDRESS 192.0.2.10
    `));
  });

  it('RTM_NEWADDR adds an IPv6 /128 with IFA_F_NODAD; RTM_DELADDR is acked only', () => {
    expect(hex(encodeNewAddress(6, 3, '2001:db8::10'))).toBe(h(`
      40000000 1400 0506 06000000 00000000
      0a 80 02 00 03000000                  # AF_INET6, /128, IFA_F_NODAD, universe, index 3
      1400 0200 20010db8000000000000000000000010
      1400 0100 20010db8000000000000000000000010
    `));
    expect(hex(encodeDelAddress(7, 3, '192.0.2.10', 24))).toBe(
      h('28000000 1500 0500 07000000 00000000  02 18 00 00 03000000  0800 0200 c000020a  0800 0100 c000020a'),
    );
    expect(() => encodeNewAddress(1, 1, '192.0.2.1', 33)).toThrow(NetlinkEncodeError);
  });

  it('RTM_GETADDR dumps one family or all', () => {
    expect(hex(encodeGetAddresses(8, 'IPv6'))).toBe(h('18000000 1600 0103 08000000 00000000 0a 00 00 00 00000000'));
    expect(hex(encodeGetAddresses(8))).toBe(h('18000000 1600 0103 08000000 00000000 00 00 00 00 00000000'));
  });

  it('decodes an address, preferring IFA_LOCAL and IFA_FLAGS', () => {
    const enc = new NetlinkEncoder();
    const m = enc.beginMessage(R.RTM_NEWADDR, 2, 1);
    enc.putU8(10);
    enc.putU8(64);
    enc.putU8(0x80);
    enc.putU8(R.RT_SCOPE_LINK);
    enc.putU32(4);
    enc.address(R.IFA_ADDRESS, 'fe80::1');
    enc.string(R.IFA_LABEL, 'eth0');
    enc.u32(R.IFA_FLAGS, 0x280);
    enc.endMessage(m);
    expect(decodeAddress(parseMessages(enc.finish())[0]!)).toEqual({
      family: 'IPv6', index: 4, address: 'fe80::1', prefixLength: 64, scope: R.RT_SCOPE_LINK, flags: 0x280, label: 'eth0',
    });
    const [v4] = parseMessages(encodeNewAddress(1, 9, '198.51.100.7'));
    expect(decodeAddress(v4!)).toMatchObject({ family: 'IPv4', index: 9, address: '198.51.100.7', prefixLength: 32 });
  });

  it('rejects short headers and addresses without an address', () => {
    const [short] = parseMessages(Buffer.from(h('14000000 1400 0000 01000000 00000000 0200000a'), 'hex'));
    expect(() => decodeAddress(short!)).toThrow(NetlinkDecodeError);
    const [bare] = parseMessages(Buffer.from(h('18000000 1400 0000 01000000 00000000 02 20 00 00 01000000'), 'hex'));
    expect(() => decodeAddress(bare!)).toThrow(/without IFA_LOCAL/);
    const [shortLink] = parseMessages(Buffer.from(h('14000000 1000 0000 01000000 00000000 00000000'), 'hex'));
    expect(() => decodeLink(shortLink!)).toThrow(/ifinfomsg of 4 bytes/);
  });
});
