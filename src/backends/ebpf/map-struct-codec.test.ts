// The descriptor-driven codec itself: struct declarations that do not tile their size are
// refused, errors name the struct and field, padding is zero, and every map of the table
// round-trips its records at the sizes BTF gives (map-layout.test.ts).
import { describe, expect, it } from 'vitest';
import { AS_PROTOCOL, field, MapCodecError, pad, struct } from './map-fields.js';
import { LB4_KEY, STRUCT_LAYOUTS } from './map-layout.js';
import { scalarCodec, structCodec } from './map-struct-codec.js';
import { EBPF_MAPS, MAP_SPECS, type MapKey, type MapRecords } from './map-table.js';
import { LB_MAGLEV_LUT_SIZE } from './map-types.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('struct declarations', () => {
  it('must tile the struct exactly, padding included', () => {
    expect(() => struct('gap', 8, { a: field('u32', 0, 'a'), b: field('u16', 6, 'b') })).toThrow(/struct gap: b at 6, expected 4/);
    expect(() => struct('overlap', 4, { a: field('u32', 0, 'a'), b: field('u8', 3, 'b') })).toThrow(/struct overlap: b at 3, expected 4/);
    expect(() => struct('short', 8, { a: field('u32', 0, 'a') })).toThrow(/struct short: fields end at 4, size is 8/);
    expect(() => struct('ok', 8, { a: field('ipv4', 0, 'a'), b: field('be16', 4, 'b'), c: pad('u8', 6, 2) })).not.toThrow();
  });

  it('every declared struct ends where its size says', () => {
    // struct() checked them at import; this guards against a layout built another way.
    for (const l of STRUCT_LAYOUTS) expect(structCodec(l).size).toBe(l.size);
  });
});

describe('the generic codec', () => {
  const demo = structCodec(struct('demo', 16, {
    addr: field('ipv4', 0, 'address'),
    port: field('be16', 4, 'port'),
    slot: field('u16', 6, 'slot'),
    proto: field('u8', 8, 'proto', AS_PROTOCOL),
    pad: pad('u8', 9, 3),
    id: field('be32', 12, 'id'),
  }));

  it('writes each field by its type at its offset, padding zero', () => {
    const b = demo.encode({ address: '192.0.2.1', port: 0x1234, slot: 0x1234, proto: 'UDP', id: 0x01020304 });
    expect(hex(b)).toBe('c0000201' + '1234' + '3412' + '11' + '000000' + '01020304');
    expect(demo.decode(b)).toEqual({ address: '192.0.2.1', port: 0x1234, slot: 0x1234, proto: 'UDP', id: 0x01020304 });
    expect(demo.ctype).toBe('struct demo');
  });

  it('names the struct and field of a value that does not fit, and the struct of bytes of the wrong size', () => {
    const ok = { address: '192.0.2.1', port: 1, slot: 1, proto: 'TCP', id: 1 } as const;
    expect(() => demo.encode({ ...ok, port: 65536 })).toThrow(new MapCodecError('demo.port 65536 does not fit in 16 unsigned bits'));
    expect(() => demo.encode({ ...ok, id: 1.5 })).toThrow('demo.id 1.5 does not fit in 32 unsigned bits');
    expect(() => demo.encode({ ...ok, address: 'fd00::1' })).toThrow('demo.addr: not an IPv4 address: "fd00::1"');
    // A record missing a property (a caller bypassing the types) is refused, not written as zero.
    expect(() => demo.encode({ ...ok, slot: undefined as unknown as number })).toThrow('demo.slot undefined does not fit');
    expect(() => demo.decode(new Uint8Array(15))).toThrow('demo: expected 16 bytes, got 15');
    expect(() => demo.decode(Uint8Array.from({ length: 16 }, (_, i) => (i === 8 ? 99 : 0)))).toThrow('demo.proto: unknown IP protocol number 99');
  });

  it('encodes single integers as map keys and values', () => {
    expect(hex(scalarCodec('u32').encode(0x01020304))).toBe('04030201');
    expect(hex(scalarCodec('be32').encode(0x01020304))).toBe('01020304');
    expect(scalarCodec('u64').decode(scalarCodec('u64').encode(1n << 63n))).toBe(1n << 63n);
    expect(() => scalarCodec('u8').encode(256)).toThrow('u8 256 does not fit in 8 unsigned bits');
  });

  it('lb4_key through the declaration: the known byte image', () => {
    expect(hex(structCodec(LB4_KEY).encode({ address: '10.96.0.10', port: 53, slot: 258, proto: 'UDP', scope: 1 }))).toBe('0a60000a003502011101' + '0000');
  });
});

describe('the map table', () => {
  const v4 = { address: '10.0.0.1', port: 80, proto: 'TCP' } as const;
  const v6 = { address: 'fd00::1', port: 80, proto: 'TCP' } as const;
  const samples: { readonly [M in MapKey]: MapRecords[M] } = {
    services: { key: { ...v4, slot: 1, scope: 0 }, value: { backendId: 1, count: 2, flags: 3, revNatIndex: 4, affinityTimeout: 5 } },
    services6: { key: { ...v6, slot: 1, scope: 1 }, value: { backendId: 1, count: 2, flags: 3, revNatIndex: 4, affinityTimeout: 5 } },
    backends: { key: 7, value: { ...v4, flags: 1 } },
    backends6: { key: 7, value: { ...v6, flags: 2 } },
    revNat: { key: 8, value: { address: v4.address, port: 443 } },
    revNat6: { key: 8, value: { address: v6.address, port: 443 } },
    sourceRanges: { key: { revNatIndex: 3, cidr: '10.0.0.0/8' }, value: 1 },
    sourceRanges6: { key: { revNatIndex: 3, cidr: 'fd00::/8' }, value: 1 },
    maglev: { key: 9, value: new Uint32Array(LB_MAGLEV_LUT_SIZE).fill(7) },
    affinity: { key: { clientId: 5n, revNatIndex: 3, netnsCookie: true }, value: { lastUsed: 1n, backendId: 2 } },
    conntrack: { key: { saddr: '10.0.0.2', daddr: '10.0.0.3', sport: 1, dport: 2, proto: 'UDP', dir: 1 }, value: { address: '10.0.0.4', port: 3, backendId: 4, revNatIndex: 5 } },
    conntrack6: { key: { saddr: 'fd00::2', daddr: 'fd00::3', sport: 1, dport: 2, proto: 'SCTP', dir: 0 }, value: { address: 'fd00::4', port: 3, backendId: 4, revNatIndex: 5 } },
    sockRevNat: { key: { cookie: 1n << 40n, address: v4.address, port: 8080 }, value: { address: '10.96.0.1', port: 80, revNatIndex: 6 } },
    sockRevNat6: { key: { cookie: 1n << 40n, address: v6.address, port: 8080 }, value: { address: 'fd00:96::1', port: 80, revNatIndex: 6 } },
  };

  it.each(Object.keys(samples) as MapKey[])('%s: key and value round-trip at the declared sizes', (name) => {
    const roundTrip = <M extends MapKey>(m: M): void => {
      const { key, value } = EBPF_MAPS[m];
      const sample = samples[m];
      const k = key.encode(sample.key);
      const v = value.encode(sample.value);
      const spec = MAP_SPECS.find((s) => s.name === EBPF_MAPS[m].name);
      expect([k.length, v.length]).toEqual([spec?.keySize, spec?.valueSize]);
      expect(key.decode(k)).toEqual(sample.key);
      expect(value.decode(v)).toEqual(sample.value);
    };
    roundTrip(name);
  });

  it('sends each family to its own structs: an IPv4 record does not fit an IPv6 map', () => {
    expect(() => EBPF_MAPS.services6.key.encode(samples.services.key)).toThrow('lb6_key.address: not an IPv6 address: "10.0.0.1"');
    expect(() => EBPF_MAPS.backends.value.encode(samples.backends6.value)).toThrow('lb4_backend.address: not an IPv4 address');
  });
});
