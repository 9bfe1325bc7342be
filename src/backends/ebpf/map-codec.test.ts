import { describe, expect, it } from 'vitest';
import {
  affinityClientIdForIPv4,
  decodeCt4Key,
  decodeCt4Value,
  decodeLb4AffinityKey,
  decodeLb4Backend,
  decodeLb4Key,
  decodeLb4ReverseNat,
  decodeLb4Service,
  decodeLb4SourceRangeKey,
  decodeLbAffinityValue,
  decodeMaglevTable,
  decodeSock4RevKey,
  decodeSock4RevValue,
  decodeU32Key,
  encodeCt4Key,
  encodeCt4Value,
  encodeLb4AffinityKey,
  encodeLb4Backend,
  encodeLb4Key,
  encodeLb4ReverseNat,
  encodeLb4Service,
  encodeLb4SourceRangeKey,
  encodeLbAffinityValue,
  encodeMaglevTable,
  encodeSock4RevKey,
  encodeSock4RevValue,
  encodeU32Key,
  MapCodecError,
  PROTOCOL_NUMBERS,
} from './map-codec.js';
import { BE_FLAG_LOCAL, LB_LOOKUP_SCOPE_INT, LB_MAGLEV_LUT_SIZE, SVC_FLAG_AFFINITY, SVC_FLAG_NODEPORT } from './map-types.js';

// The expected bytes are written out by hand from svcplane_lb.h: __be fields
// big-endian, everything else little-endian (the x86-64 and arm64 hosts svcplane runs on).
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('map codec', () => {
  it('uses the IANA protocol numbers', () => {
    expect(PROTOCOL_NUMBERS).toEqual({ TCP: 6, UDP: 17, SCTP: 132 });
  });

  it('encodes u32 map keys in host order', () => {
    expect(hex(encodeU32Key(0x01020304))).toBe('04030201');
    expect(decodeU32Key(bytes('04030201'))).toBe(0x01020304);
  });

  it('encodes lb4_key: address and port in network order, slot host order', () => {
    const key = { address: '10.96.0.10', port: 53, slot: 258, proto: 'UDP', scope: LB_LOOKUP_SCOPE_INT } as const;
    const b = encodeLb4Key(key);
    expect(hex(b)).toBe('0a60000a 0035 0201 11 01 0000'.replace(/ /g, ''));
    expect(decodeLb4Key(b)).toEqual(key);
    expect(hex(encodeLb4Key({ address: '192.168.1.2', port: 30080, slot: 0, proto: 'SCTP', scope: 0 }))).toBe(
      'c0a80102' + '7580' + '0000' + '84' + '00' + '0000',
    );
  });

  it('encodes lb4_service in host order', () => {
    const svc = { backendId: 0, count: 3, flags: SVC_FLAG_NODEPORT | SVC_FLAG_AFFINITY, revNatIndex: 0x10203, affinityTimeout: 10800 };
    const b = encodeLb4Service(svc);
    expect(hex(b)).toBe('00000000' + '0300' + '4200' + '03020100' + '302a0000');
    expect(decodeLb4Service(b)).toEqual(svc);
    expect(hex(encodeLb4Service({ backendId: 7, count: 0, flags: 0, revNatIndex: 0, affinityTimeout: 0 }))).toBe(
      '07000000' + '00'.repeat(12),
    );
  });

  it('encodes lb4_backend', () => {
    const be = { address: '10.244.1.5', port: 8080, proto: 'TCP', flags: BE_FLAG_LOCAL } as const;
    const b = encodeLb4Backend(be);
    expect(hex(b)).toBe('0af40105' + '1f90' + '06' + '01');
    expect(decodeLb4Backend(b)).toEqual(be);
  });

  it('encodes lb4_reverse_nat with zero padding', () => {
    const b = encodeLb4ReverseNat({ address: '10.96.0.1', port: 443 });
    expect(hex(b)).toBe('0a600001' + '01bb' + '0000');
    expect(decodeLb4ReverseNat(b)).toEqual({ address: '10.96.0.1', port: 443 });
  });

  it('encodes source-range LPM keys: 32 + prefix, big-endian index, masked address', () => {
    const b = encodeLb4SourceRangeKey({ revNatIndex: 5, cidr: '203.0.113.77/24' });
    expect(hex(b)).toBe('38000000' + '00000005' + 'cb007100');
    expect(decodeLb4SourceRangeKey(b)).toEqual({ revNatIndex: 5, cidr: '203.0.113.0/24' });
    expect(hex(encodeLb4SourceRangeKey({ revNatIndex: 0x01020304, cidr: '0.0.0.0/0' }))).toBe('20000000' + '01020304' + '00000000');
    expect(hex(encodeLb4SourceRangeKey({ revNatIndex: 1, cidr: '198.51.100.7/32' }))).toBe('40000000' + '00000001' + 'c6336407');
  });

  it('encodes a Maglev table as LB_MAGLEV_LUT_SIZE host-order u32s', () => {
    const ids = new Uint32Array(LB_MAGLEV_LUT_SIZE);
    ids[0] = 1;
    ids[1] = 0x0a0b0c0d;
    ids[LB_MAGLEV_LUT_SIZE - 1] = 2;
    const b = encodeMaglevTable(ids);
    expect(b.length).toBe(65524);
    expect(hex(b.subarray(0, 8))).toBe('01000000' + '0d0c0b0a');
    expect(hex(b.subarray(b.length - 4))).toBe('02000000');
    expect(decodeMaglevTable(b)).toEqual(ids);
    expect(() => encodeMaglevTable(new Uint32Array(16))).toThrow(MapCodecError);
  });

  it('encodes affinity keys and values', () => {
    const key = { clientId: 0x1122334455667788n, revNatIndex: 9, netnsCookie: true };
    const b = encodeLb4AffinityKey(key);
    expect(hex(b)).toBe('8877665544332211' + '09000000' + '01' + '000000');
    expect(decodeLb4AffinityKey(b)).toEqual(key);
    // tc keys a client by its address as the kernel holds the __be32 in a u64.
    expect(hex(encodeLb4AffinityKey({ clientId: affinityClientIdForIPv4('192.0.2.1'), revNatIndex: 1, netnsCookie: false }))).toBe(
      'c0000201' + '00000000' + '01000000' + '00000000',
    );
    const val = { lastUsed: 123456789012n, backendId: 4 };
    expect(hex(encodeLbAffinityValue(val))).toBe('141a99be1c000000' + '04000000' + '00000000');
    expect(decodeLbAffinityValue(encodeLbAffinityValue(val))).toEqual(val);
  });

  it('encodes ct4 keys and values', () => {
    const key = { saddr: '192.0.2.10', daddr: '198.51.100.1', sport: 40000, dport: 30080, proto: 'TCP', dir: 1 } as const;
    const b = encodeCt4Key(key);
    expect(hex(b)).toBe('c000020a' + 'c6336401' + '9c40' + '7580' + '06' + '01' + '0000');
    expect(decodeCt4Key(b)).toEqual(key);
    const val = { address: '10.244.2.3', port: 80, backendId: 17, revNatIndex: 3 };
    const v = encodeCt4Value(val);
    expect(hex(v)).toBe('0af40203' + '0050' + '0000' + '11000000' + '03000000');
    expect(decodeCt4Value(v)).toEqual(val);
  });

  it('encodes sock4 reverse-translation keys and values', () => {
    const key = { cookie: 0x1000000000002an, address: '10.244.0.7', port: 9376 };
    const b = encodeSock4RevKey(key);
    expect(hex(b)).toBe('2a00000000001000' + '0af40007' + '24a0' + '0000');
    expect(decodeSock4RevKey(b)).toEqual(key);
    const val = { address: '10.96.0.20', port: 80, revNatIndex: 0x0100 };
    const v = encodeSock4RevValue(val);
    expect(hex(v)).toBe('0a600014' + '0050' + '0000' + '00010000');
    expect(decodeSock4RevValue(v)).toEqual(val);
  });

  it('rejects what does not fit the C types', () => {
    const key = { address: '10.0.0.1', port: 80, slot: 0, proto: 'TCP', scope: 0 } as const;
    expect(() => encodeLb4Key({ ...key, port: 65536 })).toThrow(MapCodecError);
    expect(() => encodeLb4Key({ ...key, address: '2001:db8::1' })).toThrow(MapCodecError);
    expect(() => encodeLb4Key({ ...key, address: '10.0.0.256' })).toThrow(MapCodecError);
    expect(() => encodeLb4Service({ backendId: -1, count: 0, flags: 0, revNatIndex: 0, affinityTimeout: 0 })).toThrow(MapCodecError);
    expect(() => encodeLb4Service({ backendId: 0, count: 70000, flags: 0, revNatIndex: 0, affinityTimeout: 0 })).toThrow(/16 unsigned bits/);
    expect(() => encodeLb4SourceRangeKey({ revNatIndex: 1, cidr: '10.0.0.0' })).toThrow(MapCodecError);
    expect(() => encodeLb4AffinityKey({ clientId: 1n << 64n, revNatIndex: 1, netnsCookie: true })).toThrow(MapCodecError);
  });

  it('rejects bytes of the wrong length or unknown enum values', () => {
    expect(() => decodeLb4Key(new Uint8Array(11))).toThrow(/lb4_key: expected 12 bytes, got 11/);
    expect(() => decodeLb4Backend(bytes('0a000001 0050 63 00'))).toThrow(/unknown IP protocol number 99/);
    expect(() => decodeLb4Key(bytes('0a000001 0050 0000 06 07 0000'))).toThrow(/unknown lookup scope 7/);
  });

  it('decodes from a view into a larger buffer', () => {
    const big = new Uint8Array(20);
    big.set(encodeLb4Backend({ address: '10.1.2.3', port: 53, proto: 'UDP', flags: 0 }), 4);
    expect(decodeLb4Backend(big.subarray(4, 12))).toEqual({ address: '10.1.2.3', port: 53, proto: 'UDP', flags: 0 });
  });
});
