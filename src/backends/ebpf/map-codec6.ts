// The IPv6 structs of svcplane_lb.h (lb6_key, lb6_backend, lb6_reverse_nat,
// lb6_src_range_key, sock6_rev_key/val) to bytes and back. The records are the IPv4 ones with an
// IPv6 address (map-types.ts); conventions as in map-codec.ts.
import { parseCIDR } from '../../model/ip.js';
import {
  HOST_LITTLE_ENDIAN,
  checkInt,
  NETWORK,
  getIPv6,
  getU64,
  protocolFromNumber,
  putBe16,
  putIPv6,
  putU16,
  putU32,
  putU64,
  putU8,
  reader,
  writer,
  MapCodecError,
  PROTOCOL_NUMBERS,
} from './map-bytes.js';
import { LB6_BACKEND, LB6_KEY, LB6_REVERSE_NAT, LB6_SRC_RANGE_KEY, SOCK6_REV_KEY, SOCK6_REV_VAL } from './map-layout.js';
import type { Lb4Backend, Lb4Key, Lb4ReverseNat, Lb4SourceRange, LookupScope, Sock6RevKey, Sock6RevValue } from './map-types.js';

function getScope(n: number): LookupScope {
  if (n !== 0 && n !== 1) throw new MapCodecError(`unknown lookup scope ${n}`);
  return n;
}

export function encodeLb6Key(key: Lb4Key): Uint8Array {
  const o = LB6_KEY.offsets;
  const [bytes, dv] = writer(LB6_KEY);
  putIPv6(bytes, o.address, key.address);
  putBe16(dv, o.dport, 'port', key.port);
  putU16(dv, o.backend_slot, 'backend slot', key.slot);
  putU8(dv, o.proto, 'proto', PROTOCOL_NUMBERS[key.proto]);
  putU8(dv, o.scope, 'scope', key.scope);
  return bytes;
}

export function decodeLb6Key(bytes: Uint8Array): Lb4Key {
  const o = LB6_KEY.offsets;
  const dv = reader(bytes, LB6_KEY);
  return {
    address: getIPv6(dv, o.address),
    port: dv.getUint16(o.dport, NETWORK),
    slot: dv.getUint16(o.backend_slot, HOST_LITTLE_ENDIAN),
    proto: protocolFromNumber(dv.getUint8(o.proto)),
    scope: getScope(dv.getUint8(o.scope)),
  };
}

export function encodeLb6Backend(be: Lb4Backend): Uint8Array {
  const o = LB6_BACKEND.offsets;
  const [bytes, dv] = writer(LB6_BACKEND);
  putIPv6(bytes, o.address, be.address);
  putBe16(dv, o.port, 'port', be.port);
  putU8(dv, o.proto, 'proto', PROTOCOL_NUMBERS[be.proto]);
  putU8(dv, o.flags, 'flags', be.flags);
  return bytes;
}

export function decodeLb6Backend(bytes: Uint8Array): Lb4Backend {
  const o = LB6_BACKEND.offsets;
  const dv = reader(bytes, LB6_BACKEND);
  return {
    address: getIPv6(dv, o.address),
    port: dv.getUint16(o.port, NETWORK),
    proto: protocolFromNumber(dv.getUint8(o.proto)),
    flags: dv.getUint8(o.flags),
  };
}

export function encodeLb6ReverseNat(rnat: Lb4ReverseNat): Uint8Array {
  const o = LB6_REVERSE_NAT.offsets;
  const [bytes, dv] = writer(LB6_REVERSE_NAT);
  putIPv6(bytes, o.address, rnat.address);
  putBe16(dv, o.port, 'port', rnat.port);
  return bytes;
}

export function decodeLb6ReverseNat(bytes: Uint8Array): Lb4ReverseNat {
  const o = LB6_REVERSE_NAT.offsets;
  const dv = reader(bytes, LB6_REVERSE_NAT);
  return { address: getIPv6(dv, o.address), port: dv.getUint16(o.port, NETWORK) };
}

export function encodeSock6RevKey(key: Sock6RevKey): Uint8Array {
  const o = SOCK6_REV_KEY.offsets;
  const [bytes, dv] = writer(SOCK6_REV_KEY);
  putU64(dv, o.cookie, 'socket cookie', key.cookie);
  putIPv6(bytes, o.address, key.address);
  putBe16(dv, o.port, 'port', key.port);
  return bytes;
}

export function decodeSock6RevKey(bytes: Uint8Array): Sock6RevKey {
  const o = SOCK6_REV_KEY.offsets;
  const dv = reader(bytes, SOCK6_REV_KEY);
  return { cookie: getU64(dv, o.cookie), address: getIPv6(dv, o.address), port: dv.getUint16(o.port, NETWORK) };
}

export function encodeSock6RevValue(val: Sock6RevValue): Uint8Array {
  const o = SOCK6_REV_VAL.offsets;
  const [bytes, dv] = writer(SOCK6_REV_VAL);
  putIPv6(bytes, o.address, val.address);
  putBe16(dv, o.port, 'port', val.port);
  putU32(dv, o.rev_nat_index, 'rev_nat_index', val.revNatIndex);
  return bytes;
}

export function decodeSock6RevValue(bytes: Uint8Array): Sock6RevValue {
  const o = SOCK6_REV_VAL.offsets;
  const dv = reader(bytes, SOCK6_REV_VAL);
  return {
    address: getIPv6(dv, o.address),
    port: dv.getUint16(o.port, NETWORK),
    revNatIndex: dv.getUint32(o.rev_nat_index, HOST_LITTLE_ENDIAN),
  };
}

/** svcp_lb6_srcr key: prefix length 32 (the index) + the range's; the address masked to it. */
export function encodeLb6SourceRangeKey(range: Lb4SourceRange): Uint8Array {
  const cidr = parseCIDR(range.cidr);
  if (!cidr || cidr.family !== 'IPv6') throw new MapCodecError(`not an IPv6 CIDR: ${JSON.stringify(range.cidr)}`);
  const o = LB6_SRC_RANGE_KEY.offsets;
  const [bytes, dv] = writer(LB6_SRC_RANGE_KEY);
  putU32(dv, o.lpm_prefixlen, 'prefix length', 32 + cidr.prefix);
  // Big-endian: the LPM trie matches bytes from the start, so the index must lead bit for bit.
  dv.setUint32(o.rev_nat_index, checkInt('rev_nat_index', range.revNatIndex, 32), NETWORK);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, cidr.prefix - 8 * i));
    bytes[o.address + i] = (cidr.bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return bytes;
}

export function decodeLb6SourceRangeKey(bytes: Uint8Array): Lb4SourceRange {
  const o = LB6_SRC_RANGE_KEY.offsets;
  const dv = reader(bytes, LB6_SRC_RANGE_KEY);
  const prefix = dv.getUint32(o.lpm_prefixlen, HOST_LITTLE_ENDIAN) - 32;
  if (prefix < 0 || prefix > 128) throw new MapCodecError(`source range prefix length ${prefix + 32} is not 32..160`);
  return { revNatIndex: dv.getUint32(o.rev_nat_index, NETWORK), cidr: `${getIPv6(dv, o.address)}/${prefix}` };
}
