// Codec for the IPv6 maps tc writes itself (svcp_ct6) and tc's affinity client
// id for IPv6 clients: the agent only reads or flushes them, tests inspect them.
// Same conventions as map-codec-state.ts.
import {
  HOST_LITTLE_ENDIAN,
  NETWORK,
  getIPv6,
  ipv6Bytes,
  protocolFromNumber,
  putBe16,
  putIPv6,
  putU32,
  putU8,
  reader,
  writer,
  PROTOCOL_NUMBERS,
} from './map-bytes.js';
import { CT6_KEY, CT6_VAL } from './map-layout.js';
import type { Ct6Key, Ct6Value } from './map-types.js';

/**
 * The client_id tc uses for an IPv6 client (svcplane_lb.h): the address's four
 * words w0..w3, each read as a host __u32, folded as (w1 << 32 | w0) ^ (w3 << 32 | w2).
 */
export function affinityClientIdForIPv6(address: string): bigint {
  const bytes = ipv6Bytes(address);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const half = (i: number): bigint =>
    (BigInt(dv.getUint32(i + 4, HOST_LITTLE_ENDIAN)) << 32n) | BigInt(dv.getUint32(i, HOST_LITTLE_ENDIAN));
  return half(0) ^ half(8);
}

export function encodeCt6Key(key: Ct6Key): Uint8Array {
  const o = CT6_KEY.offsets;
  const [bytes, dv] = writer(CT6_KEY);
  putIPv6(bytes, o.saddr, key.saddr);
  putIPv6(bytes, o.daddr, key.daddr);
  putBe16(dv, o.sport, 'source port', key.sport);
  putBe16(dv, o.dport, 'destination port', key.dport);
  putU8(dv, o.proto, 'proto', PROTOCOL_NUMBERS[key.proto]);
  putU8(dv, o.dir, 'dir', key.dir);
  return bytes;
}

export function decodeCt6Key(bytes: Uint8Array): Ct6Key {
  const o = CT6_KEY.offsets;
  const dv = reader(bytes, CT6_KEY);
  return {
    saddr: getIPv6(dv, o.saddr),
    daddr: getIPv6(dv, o.daddr),
    sport: dv.getUint16(o.sport, NETWORK),
    dport: dv.getUint16(o.dport, NETWORK),
    proto: protocolFromNumber(dv.getUint8(o.proto)),
    dir: dv.getUint8(o.dir) === 0 ? 0 : 1,
  };
}

export function encodeCt6Value(val: Ct6Value): Uint8Array {
  const o = CT6_VAL.offsets;
  const [bytes, dv] = writer(CT6_VAL);
  putIPv6(bytes, o.address, val.address);
  putBe16(dv, o.port, 'port', val.port);
  putU32(dv, o.backend_id, 'backend id', val.backendId);
  putU32(dv, o.rev_nat_index, 'rev_nat_index', val.revNatIndex);
  return bytes;
}

export function decodeCt6Value(bytes: Uint8Array): Ct6Value {
  const o = CT6_VAL.offsets;
  const dv = reader(bytes, CT6_VAL);
  return {
    address: getIPv6(dv, o.address),
    port: dv.getUint16(o.port, NETWORK),
    backendId: dv.getUint32(o.backend_id, HOST_LITTLE_ENDIAN),
    revNatIndex: dv.getUint32(o.rev_nat_index, HOST_LITTLE_ENDIAN),
  };
}
