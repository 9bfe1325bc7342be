// Codec for the maps the programs write themselves (affinity, tc connection
// table, socket reverse translation): the agent only reads, ages or flushes
// them, and tests inspect them. Same conventions as map-codec.ts.
import {
  HOST_LITTLE_ENDIAN,
  NETWORK,
  getIPv4,
  getU64,
  ipv4Bytes,
  protocolFromNumber,
  putBe16,
  putIPv4,
  putU32,
  putU64,
  putU8,
  reader,
  writer,
  PROTOCOL_NUMBERS,
} from './map-bytes.js';
import { CT4_KEY, CT4_VAL, LB4_AFFINITY_KEY, LB_AFFINITY_VAL, SOCK4_REV_KEY, SOCK4_REV_VAL } from './map-layout.js';
import type { Ct4Key, Ct4Value, Lb4AffinityKey, LbAffinityValue, Sock4RevKey, Sock4RevValue } from './map-types.js';

/**
 * The client_id tc uses for a client address: the __be32 widened as a host
 * integer, i.e. the four address bytes first in memory on a little-endian host.
 */
export function affinityClientIdForIPv4(address: string): bigint {
  const bytes = ipv4Bytes(address);
  return BigInt(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, HOST_LITTLE_ENDIAN));
}

export function encodeLb4AffinityKey(key: Lb4AffinityKey): Uint8Array {
  const o = LB4_AFFINITY_KEY.offsets;
  const [bytes, dv] = writer(LB4_AFFINITY_KEY);
  putU64(dv, o.client_id, 'client id', key.clientId);
  putU32(dv, o.rev_nat_index, 'rev_nat_index', key.revNatIndex);
  putU8(dv, o.netns_cookie, 'netns_cookie', key.netnsCookie ? 1 : 0);
  return bytes;
}

export function decodeLb4AffinityKey(bytes: Uint8Array): Lb4AffinityKey {
  const o = LB4_AFFINITY_KEY.offsets;
  const dv = reader(bytes, LB4_AFFINITY_KEY);
  return {
    clientId: getU64(dv, o.client_id),
    revNatIndex: dv.getUint32(o.rev_nat_index, HOST_LITTLE_ENDIAN),
    netnsCookie: dv.getUint8(o.netns_cookie) !== 0,
  };
}

export function encodeLbAffinityValue(val: LbAffinityValue): Uint8Array {
  const o = LB_AFFINITY_VAL.offsets;
  const [bytes, dv] = writer(LB_AFFINITY_VAL);
  putU64(dv, o.last_used, 'last used', val.lastUsed);
  putU32(dv, o.backend_id, 'backend id', val.backendId);
  return bytes;
}

export function decodeLbAffinityValue(bytes: Uint8Array): LbAffinityValue {
  const o = LB_AFFINITY_VAL.offsets;
  const dv = reader(bytes, LB_AFFINITY_VAL);
  return { lastUsed: getU64(dv, o.last_used), backendId: dv.getUint32(o.backend_id, HOST_LITTLE_ENDIAN) };
}

export function encodeCt4Key(key: Ct4Key): Uint8Array {
  const o = CT4_KEY.offsets;
  const [bytes, dv] = writer(CT4_KEY);
  putIPv4(bytes, o.saddr, key.saddr);
  putIPv4(bytes, o.daddr, key.daddr);
  putBe16(dv, o.sport, 'source port', key.sport);
  putBe16(dv, o.dport, 'destination port', key.dport);
  putU8(dv, o.proto, 'proto', PROTOCOL_NUMBERS[key.proto]);
  putU8(dv, o.dir, 'dir', key.dir);
  return bytes;
}

export function decodeCt4Key(bytes: Uint8Array): Ct4Key {
  const o = CT4_KEY.offsets;
  const dv = reader(bytes, CT4_KEY);
  return {
    saddr: getIPv4(dv, o.saddr),
    daddr: getIPv4(dv, o.daddr),
    sport: dv.getUint16(o.sport, NETWORK),
    dport: dv.getUint16(o.dport, NETWORK),
    proto: protocolFromNumber(dv.getUint8(o.proto)),
    dir: dv.getUint8(o.dir) === 0 ? 0 : 1,
  };
}

export function encodeCt4Value(val: Ct4Value): Uint8Array {
  const o = CT4_VAL.offsets;
  const [bytes, dv] = writer(CT4_VAL);
  putIPv4(bytes, o.address, val.address);
  putBe16(dv, o.port, 'port', val.port);
  putU32(dv, o.backend_id, 'backend id', val.backendId);
  putU32(dv, o.rev_nat_index, 'rev_nat_index', val.revNatIndex);
  return bytes;
}

export function decodeCt4Value(bytes: Uint8Array): Ct4Value {
  const o = CT4_VAL.offsets;
  const dv = reader(bytes, CT4_VAL);
  return {
    address: getIPv4(dv, o.address),
    port: dv.getUint16(o.port, NETWORK),
    backendId: dv.getUint32(o.backend_id, HOST_LITTLE_ENDIAN),
    revNatIndex: dv.getUint32(o.rev_nat_index, HOST_LITTLE_ENDIAN),
  };
}

export function encodeSock4RevKey(key: Sock4RevKey): Uint8Array {
  const o = SOCK4_REV_KEY.offsets;
  const [bytes, dv] = writer(SOCK4_REV_KEY);
  putU64(dv, o.cookie, 'socket cookie', key.cookie);
  putIPv4(bytes, o.address, key.address);
  putBe16(dv, o.port, 'port', key.port);
  return bytes;
}

export function decodeSock4RevKey(bytes: Uint8Array): Sock4RevKey {
  const o = SOCK4_REV_KEY.offsets;
  const dv = reader(bytes, SOCK4_REV_KEY);
  return { cookie: getU64(dv, o.cookie), address: getIPv4(dv, o.address), port: dv.getUint16(o.port, NETWORK) };
}

export function encodeSock4RevValue(val: Sock4RevValue): Uint8Array {
  const o = SOCK4_REV_VAL.offsets;
  const [bytes, dv] = writer(SOCK4_REV_VAL);
  putIPv4(bytes, o.address, val.address);
  putBe16(dv, o.port, 'port', val.port);
  putU32(dv, o.rev_nat_index, 'rev_nat_index', val.revNatIndex);
  return bytes;
}

export function decodeSock4RevValue(bytes: Uint8Array): Sock4RevValue {
  const o = SOCK4_REV_VAL.offsets;
  const dv = reader(bytes, SOCK4_REV_VAL);
  return {
    address: getIPv4(dv, o.address),
    port: dv.getUint16(o.port, NETWORK),
    revNatIndex: dv.getUint32(o.rev_nat_index, HOST_LITTLE_ENDIAN),
  };
}
