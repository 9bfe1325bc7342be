import { describe, expect, it } from 'vitest';
import {
  affinityClientIdForIPv6, decodeCt6Key, decodeCt6Value, decodeLb6Backend, decodeLb6Key, decodeLb6ReverseNat, decodeLb6SourceRangeKey,
  decodeSock6RevKey, decodeSock6RevValue, encodeCt6Key, encodeCt6Value, encodeLb6Backend, encodeLb6Key, encodeLb6ReverseNat,
  encodeLb6SourceRangeKey, encodeSock6RevKey, encodeSock6RevValue, MapCodecError,
} from './map-codec.js';
import { BE_FLAG_TERMINATING, LB_LOOKUP_SCOPE_INT } from './map-types.js';

// Expected bytes written out by hand from svcplane_lb.h's lb6_* structs: the address
// and __be16 ports big-endian, other integers little-endian (the hosts svcplane runs on).
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const FD00_10 = 'fd000000000000000000000000000010';

describe('map codec: IPv6 structs', () => {
  it('lb6_key: 16-byte address, dport big-endian, slot little-endian, proto, scope, zero pad', () => {
    const key = { address: 'fd00::10', port: 443, slot: 258, proto: 'UDP', scope: LB_LOOKUP_SCOPE_INT } as const;
    const b = encodeLb6Key(key);
    expect(hex(b)).toBe(`${FD00_10}01bb020111010000`);
    expect(decodeLb6Key(b)).toEqual(key);
  });

  it('decodes addresses in RFC 5952 form, so they match the planner keys', () => {
    const b = encodeLb6Key({ address: 'FD00:0:0:0::0010', port: 80, slot: 0, proto: 'TCP', scope: 0 });
    expect(decodeLb6Key(b).address).toBe('fd00::10');
    expect(decodeLb6Backend(encodeLb6Backend({ address: '2001:db8:0:0:1:0:0:1', port: 1, proto: 'TCP', flags: 0 })).address).toBe('2001:db8::1:0:0:1');
  });

  it('lb6_backend and lb6_reverse_nat round-trip with their sizes', () => {
    const be = { address: 'fd00:244::7', port: 8080, proto: 'SCTP', flags: BE_FLAG_TERMINATING } as const;
    const eb = encodeLb6Backend(be);
    expect(eb.length).toBe(20);
    expect(hex(eb.subarray(16))).toBe('1f908402');
    expect(decodeLb6Backend(eb)).toEqual(be);
    const rnat = { address: 'fd00::10', port: 53 };
    const er = encodeLb6ReverseNat(rnat);
    expect(hex(er)).toBe(`${FD00_10}00350000`);
    expect(decodeLb6ReverseNat(er)).toEqual(rnat);
  });

  it('sock6_rev_key/val round-trip: cookie little-endian, address, port, explicit zero padding', () => {
    const key = { cookie: 0x0102030405060708n, address: 'fd00::10', port: 8080 };
    const ek = encodeSock6RevKey(key);
    expect(hex(ek)).toBe(`0807060504030201${FD00_10}1f90000000000000`);
    expect(decodeSock6RevKey(ek)).toEqual(key);
    const val = { address: 'fd00::10', port: 80, revNatIndex: 7 };
    const ev = encodeSock6RevValue(val);
    expect(hex(ev)).toBe(`${FD00_10}0050000007000000`);
    expect(decodeSock6RevValue(ev)).toEqual(val);
  });

  it('lb6_src_range_key: prefix length 32 + the range, index big-endian, address masked to the range', () => {
    const b = encodeLb6SourceRangeKey({ revNatIndex: 0x0102, cidr: '2001:db8:abcd:12ff::1/52' });
    // 84 = 32 + 52; the host bits past /52 (the low nibble of the fourth group and everything after) are cleared.
    expect(hex(b)).toBe(`54000000000001022001${'0db8abcd1000'}${'00'.repeat(8)}`);
    expect(decodeLb6SourceRangeKey(b)).toEqual({ revNatIndex: 0x0102, cidr: '2001:db8:abcd:1000::/52' });
    expect(decodeLb6SourceRangeKey(encodeLb6SourceRangeKey({ revNatIndex: 1, cidr: '::/0' }))).toEqual({ revNatIndex: 1, cidr: '::/0' });
    expect(decodeLb6SourceRangeKey(encodeLb6SourceRangeKey({ revNatIndex: 1, cidr: 'fd00::1/128' })).cidr).toBe('fd00::1/128');
    expect(() => encodeLb6SourceRangeKey({ revNatIndex: 1, cidr: '10.0.0.0/8' })).toThrow(/not an IPv6 CIDR/);
    const tooLong = encodeLb6SourceRangeKey({ revNatIndex: 1, cidr: 'fd00::/64' });
    tooLong[0] = 32 + 129;
    expect(() => decodeLb6SourceRangeKey(tooLong)).toThrow(/not 32\.\.160/);
  });

  it('ct6_key/ct6_val: both addresses, ports big-endian, proto, dir; value with ids little-endian', () => {
    const key = { saddr: 'fd00::10', daddr: '2001:db8::1', sport: 40000, dport: 30080, proto: 'UDP', dir: 1 } as const;
    const ek = encodeCt6Key(key);
    expect(hex(ek)).toBe(`${FD00_10}20010db8000000000000000000000001${'9c40'}${'7580'}11010000`);
    expect(decodeCt6Key(ek)).toEqual(key);
    const val = { address: 'fd00::10', port: 8080, backendId: 9, revNatIndex: 0x10203 };
    const ev = encodeCt6Value(val);
    expect(hex(ev)).toBe(`${FD00_10}1f90000009000000${'03020100'}`);
    expect(decodeCt6Value(ev)).toEqual(val);
  });

  it('tc affinity client id of an IPv6 client: the halves folded, one-to-one within a /64', () => {
    // Words as host (little-endian) u32s: fd00:0:0:1::10 -> w0 0x000000fd, w1 0x01000000, w2 0, w3 0x10000000.
    expect(affinityClientIdForIPv6('fd00:0:0:1::10')).toBe((0x01000000n << 32n | 0xfdn) ^ (0x10000000n << 32n));
    const ids = new Set(['fd00:19::1', 'fd00:19::2', 'fd00:19::1:0:0:1', 'fd00:19::100:0:0:0'].map(affinityClientIdForIPv6));
    expect(ids.size).toBe(4);
    expect(() => affinityClientIdForIPv6('10.0.0.1')).toThrow(MapCodecError);
  });

  it('refuses IPv4 addresses and wrong sizes', () => {
    expect(() => encodeLb6Key({ address: '10.0.0.1', port: 80, slot: 0, proto: 'TCP', scope: 0 })).toThrow(MapCodecError);
    expect(() => encodeLb6Backend({ address: '10.0.0.1', port: 80, proto: 'TCP', flags: 0 })).toThrow(/not an IPv6 address/);
    expect(() => decodeLb6Key(new Uint8Array(12))).toThrow(/lb6_key: expected 24 bytes, got 12/);
  });
});
