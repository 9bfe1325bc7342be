// Encodes svcplane's eBPF map records to the bytes the kernel stores and back.
// Offsets come from map-layout.ts (checked against BTF). Fields the header marks
// __be are network order; every other integer is host order, as the programs read
// them. Addresses are dotted quads, ports host-order numbers.
import { parseCIDR } from '../../model/ip.js';
import {
  HOST_LITTLE_ENDIAN,
  MapCodecError,
  NETWORK,
  checkInt,
  getIPv4,
  protocolFromNumber,
  putBe16,
  putIPv4,
  putU16,
  putU32,
  putU8,
  reader,
  writer,
  PROTOCOL_NUMBERS,
} from './map-bytes.js';
import {
  LB4_BACKEND,
  LB4_KEY,
  LB4_REVERSE_NAT,
  LB4_SERVICE,
  LB4_SRC_RANGE_KEY,
} from './map-layout.js';
import {
  LB_MAGLEV_LUT_SIZE,
  type Lb4Backend,
  type Lb4Key,
  type Lb4ReverseNat,
  type Lb4Service,
  type Lb4SourceRange,
  type LookupScope,
} from './map-types.js';

export * from './map-layout.js';
export { MapCodecError, PROTOCOL_NUMBERS, protocolFromNumber } from './map-bytes.js';

function getScope(n: number): LookupScope {
  if (n !== 0 && n !== 1) throw new MapCodecError(`unknown lookup scope ${n}`);
  return n;
}

/** Keys of svcp_lb4_be (backend id), svcp_lb4_rnat and svcp_lb4_mglv (rev_nat_index): a host-order __u32. */
export function encodeU32Key(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  putU32(new DataView(bytes.buffer), 0, 'key', value);
  return bytes;
}

export function decodeU32Key(bytes: Uint8Array): number {
  return reader(bytes, { name: '__u32 key', size: 4 }).getUint32(0, HOST_LITTLE_ENDIAN);
}

export function encodeLb4Key(key: Lb4Key): Uint8Array {
  const o = LB4_KEY.offsets;
  const [bytes, dv] = writer(LB4_KEY);
  putIPv4(bytes, o.address, key.address);
  putBe16(dv, o.dport, 'port', key.port);
  putU16(dv, o.backend_slot, 'backend slot', key.slot);
  putU8(dv, o.proto, 'proto', PROTOCOL_NUMBERS[key.proto]);
  putU8(dv, o.scope, 'scope', key.scope);
  return bytes;
}

export function decodeLb4Key(bytes: Uint8Array): Lb4Key {
  const o = LB4_KEY.offsets;
  const dv = reader(bytes, LB4_KEY);
  return {
    address: getIPv4(dv, o.address),
    port: dv.getUint16(o.dport, NETWORK),
    slot: dv.getUint16(o.backend_slot, HOST_LITTLE_ENDIAN),
    proto: protocolFromNumber(dv.getUint8(o.proto)),
    scope: getScope(dv.getUint8(o.scope)),
  };
}

export function encodeLb4Service(svc: Lb4Service): Uint8Array {
  const o = LB4_SERVICE.offsets;
  const [bytes, dv] = writer(LB4_SERVICE);
  putU32(dv, o.backend_id, 'backend id', svc.backendId);
  putU16(dv, o.count, 'count', svc.count);
  putU16(dv, o.flags, 'flags', svc.flags);
  putU32(dv, o.rev_nat_index, 'rev_nat_index', svc.revNatIndex);
  putU32(dv, o.affinity_timeout, 'affinity timeout', svc.affinityTimeout);
  return bytes;
}

export function decodeLb4Service(bytes: Uint8Array): Lb4Service {
  const o = LB4_SERVICE.offsets;
  const dv = reader(bytes, LB4_SERVICE);
  return {
    backendId: dv.getUint32(o.backend_id, HOST_LITTLE_ENDIAN),
    count: dv.getUint16(o.count, HOST_LITTLE_ENDIAN),
    flags: dv.getUint16(o.flags, HOST_LITTLE_ENDIAN),
    revNatIndex: dv.getUint32(o.rev_nat_index, HOST_LITTLE_ENDIAN),
    affinityTimeout: dv.getUint32(o.affinity_timeout, HOST_LITTLE_ENDIAN),
  };
}

export function encodeLb4Backend(be: Lb4Backend): Uint8Array {
  const o = LB4_BACKEND.offsets;
  const [bytes, dv] = writer(LB4_BACKEND);
  putIPv4(bytes, o.address, be.address);
  putBe16(dv, o.port, 'port', be.port);
  putU8(dv, o.proto, 'proto', PROTOCOL_NUMBERS[be.proto]);
  putU8(dv, o.flags, 'flags', be.flags);
  return bytes;
}

export function decodeLb4Backend(bytes: Uint8Array): Lb4Backend {
  const o = LB4_BACKEND.offsets;
  const dv = reader(bytes, LB4_BACKEND);
  return {
    address: getIPv4(dv, o.address),
    port: dv.getUint16(o.port, NETWORK),
    proto: protocolFromNumber(dv.getUint8(o.proto)),
    flags: dv.getUint8(o.flags),
  };
}

export function encodeLb4ReverseNat(rnat: Lb4ReverseNat): Uint8Array {
  const o = LB4_REVERSE_NAT.offsets;
  const [bytes, dv] = writer(LB4_REVERSE_NAT);
  putIPv4(bytes, o.address, rnat.address);
  putBe16(dv, o.port, 'port', rnat.port);
  return bytes;
}

export function decodeLb4ReverseNat(bytes: Uint8Array): Lb4ReverseNat {
  const o = LB4_REVERSE_NAT.offsets;
  const dv = reader(bytes, LB4_REVERSE_NAT);
  return { address: getIPv4(dv, o.address), port: dv.getUint16(o.port, NETWORK) };
}

/** svcp_lb4_srcr key: prefix length 32 (the index) + the range's; the address masked to it. */
export function encodeLb4SourceRangeKey(range: Lb4SourceRange): Uint8Array {
  const cidr = parseCIDR(range.cidr);
  if (!cidr || cidr.family !== 'IPv4') throw new MapCodecError(`not an IPv4 CIDR: ${JSON.stringify(range.cidr)}`);
  const o = LB4_SRC_RANGE_KEY.offsets;
  const [bytes, dv] = writer(LB4_SRC_RANGE_KEY);
  putU32(dv, o.lpm_prefixlen, 'prefix length', 32 + cidr.prefix);
  // Big-endian: the LPM trie matches bytes from the start, so the index must lead bit for bit.
  dv.setUint32(o.rev_nat_index, checkInt('rev_nat_index', range.revNatIndex, 32), NETWORK);
  const mask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
  const address = new DataView(cidr.bytes.buffer, cidr.bytes.byteOffset, 4).getUint32(0, NETWORK);
  dv.setUint32(o.address, (address & mask) >>> 0, NETWORK);
  return bytes;
}

export function decodeLb4SourceRangeKey(bytes: Uint8Array): Lb4SourceRange {
  const o = LB4_SRC_RANGE_KEY.offsets;
  const dv = reader(bytes, LB4_SRC_RANGE_KEY);
  const prefix = dv.getUint32(o.lpm_prefixlen, HOST_LITTLE_ENDIAN) - 32;
  if (prefix < 0 || prefix > 32) throw new MapCodecError(`source range prefix length ${prefix + 32} is not 32..64`);
  return { revNatIndex: dv.getUint32(o.rev_nat_index, NETWORK), cidr: `${getIPv4(dv, o.address)}/${prefix}` };
}

/** The value of every svcp_lb4_srcr entry: present means allowed. */
export const SOURCE_RANGE_ALLOWED = Uint8Array.of(1);

/** svcp_lb4_mglv value: LB_MAGLEV_LUT_SIZE backend ids, host order. */
export function encodeMaglevTable(backendIds: Uint32Array): Uint8Array {
  if (backendIds.length !== LB_MAGLEV_LUT_SIZE) {
    throw new MapCodecError(`a Maglev table has ${LB_MAGLEV_LUT_SIZE} entries, got ${backendIds.length}`);
  }
  const bytes = new Uint8Array(LB_MAGLEV_LUT_SIZE * 4);
  const dv = new DataView(bytes.buffer);
  backendIds.forEach((id, i) => dv.setUint32(i * 4, id, HOST_LITTLE_ENDIAN));
  return bytes;
}

export function decodeMaglevTable(bytes: Uint8Array): Uint32Array {
  const dv = reader(bytes, { name: 'maglev table', size: LB_MAGLEV_LUT_SIZE * 4 });
  return Uint32Array.from({ length: LB_MAGLEV_LUT_SIZE }, (_, i) => dv.getUint32(i * 4, HOST_LITTLE_ENDIAN));
}

// The maps the programs write themselves (affinity, connection table, socket rev-NAT).
export * from './map-codec-state.js';
// The IPv6 structs.
export * from './map-codec6.js';
export * from './map-codec6-state.js';
