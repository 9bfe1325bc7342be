// The map keys and values that are not a plain struct, encoded by hand: the LPM trie keys
// of the source-range maps (prefix length, an index stored big-endian, a masked address),
// the Maglev table, and tc's affinity client id for a client address.
import { parseCIDR } from '../../model/ip.js';
import { addressBytes, FIELD_ACCESS, HOST_LITTLE_ENDIAN, MapCodecError, type FieldLayout, type StructLayout } from './map-fields.js';
import { encodeFresh, viewOf, type Codec } from './map-struct-codec.js';
import { LB_MAGLEV_LUT_SIZE, type Lb4SourceRange } from './map-types.js';

type SourceRangeLayout = StructLayout<{ readonly lpm_prefixlen: FieldLayout; readonly rev_nat_index: FieldLayout; readonly address: FieldLayout }>;

/**
 * lb4_src_range_key / lb6_src_range_key: prefix length 32 (the index) + the range's, the
 * index big-endian (the trie matches bytes from the start, so it must lead bit for bit),
 * the address masked to the range.
 */
export function sourceRangeKeyCodec(layout: SourceRangeLayout, family: 'IPv4' | 'IPv6'): Codec<Lb4SourceRange> {
  const { lpm_prefixlen: lpm, rev_nat_index: index, address } = layout.fields;
  const bits = family === 'IPv4' ? 32 : 128;
  const encodeInto = (range: Lb4SourceRange, dv: DataView, offset: number): void => {
    const cidr = parseCIDR(range.cidr);
    if (!cidr || cidr.family !== family) throw new MapCodecError(`${layout.name}: not an ${family} CIDR: ${JSON.stringify(range.cidr)}`);
    FIELD_ACCESS.u32.put(dv, offset + lpm.offset, 32 + cidr.prefix, `${layout.name}.lpm_prefixlen`);
    FIELD_ACCESS.be32.put(dv, offset + index.offset, range.revNatIndex, `${layout.name}.rev_nat_index`);
    for (let i = 0; i < bits / 8; i++) {
      const keep = Math.max(0, Math.min(8, cidr.prefix - 8 * i));
      dv.setUint8(offset + address.offset + i, (cidr.bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff));
    }
  };
  return {
    ctype: `struct ${layout.name}`,
    size: layout.size,
    encode: encodeFresh(layout.size, encodeInto),
    encodeInto,
    decode(bytes) {
      const dv = viewOf(bytes, layout.name, layout.size);
      const prefix = FIELD_ACCESS.u32.get(dv, lpm.offset) - 32;
      if (prefix < 0 || prefix > bits) throw new MapCodecError(`${layout.name}: source range prefix length ${prefix + 32} is not 32..${32 + bits}`);
      const text = FIELD_ACCESS[family === 'IPv4' ? 'ipv4' : 'ipv6'].get(dv, address.offset);
      return { revNatIndex: FIELD_ACCESS.be32.get(dv, index.offset), cidr: `${text}/${prefix}` };
    },
  };
}

function encodeMaglevInto(backendIds: Uint32Array, dv: DataView, offset: number): void {
  if (backendIds.length !== LB_MAGLEV_LUT_SIZE) {
    throw new MapCodecError(`a Maglev table has ${LB_MAGLEV_LUT_SIZE} entries, got ${backendIds.length}`);
  }
  for (let i = 0; i < backendIds.length; i++) dv.setUint32(offset + i * 4, backendIds[i] as number, HOST_LITTLE_ENDIAN);
}

/** svcp_lb4_mglv value: LB_MAGLEV_LUT_SIZE backend ids, host order. */
export const MAGLEV_TABLE: Codec<Uint32Array> = {
  ctype: `u32[${LB_MAGLEV_LUT_SIZE}]`,
  size: LB_MAGLEV_LUT_SIZE * 4,
  encode: encodeFresh(LB_MAGLEV_LUT_SIZE * 4, encodeMaglevInto),
  encodeInto: encodeMaglevInto,
  decode(bytes) {
    const dv = viewOf(bytes, 'maglev table', LB_MAGLEV_LUT_SIZE * 4);
    return Uint32Array.from({ length: LB_MAGLEV_LUT_SIZE }, (_, i) => dv.getUint32(i * 4, HOST_LITTLE_ENDIAN));
  },
};

/** The client_id tc uses for an IPv4 client: the __be32 widened as a host integer. */
export function affinityClientIdForIPv4(address: string): bigint {
  const bytes = addressBytes('IPv4', address);
  return BigInt(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, HOST_LITTLE_ENDIAN));
}

/**
 * The client_id tc uses for an IPv6 client (svcplane_lb.h): the address's four words w0..w3,
 * each read as a host __u32, folded as (w1 << 32 | w0) ^ (w3 << 32 | w2).
 */
export function affinityClientIdForIPv6(address: string): bigint {
  const bytes = addressBytes('IPv6', address);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const half = (i: number): bigint =>
    (BigInt(dv.getUint32(i + 4, HOST_LITTLE_ENDIAN)) << 32n) | BigInt(dv.getUint32(i, HOST_LITTLE_ENDIAN));
  return half(0) ^ half(8);
}
