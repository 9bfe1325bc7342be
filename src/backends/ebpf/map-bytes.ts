// Field-level helpers for the map codec: bounds-checked integers in host or
// network order and IPv4 addresses at given offsets of a struct's bytes.
import { endianness } from 'node:os';
import type { Protocol } from '../../model/types.js';
import { formatIP, parseIP } from '../../model/ip.js';
import { SvcplaneError } from '../../util/errors.js';
import type { StructLayout } from './map-layout.js';

export class MapCodecError extends SvcplaneError {
  override readonly code = 'SVCPLANE_EBPF_MAP_CODEC';
}

/** IANA protocol numbers, as in struct lb4_key.proto. */
export const PROTOCOL_NUMBERS: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

export const HOST_LITTLE_ENDIAN = endianness() === 'LE';
export const NETWORK = false; // DataView's littleEndian argument for network (big-endian) order

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export function protocolFromNumber(n: number): Protocol {
  const protocol = PROTOCOLS.find((p) => PROTOCOL_NUMBERS[p] === n);
  if (protocol === undefined) throw new MapCodecError(`unknown IP protocol number ${n}`);
  return protocol;
}

export function writer(layout: StructLayout): [Uint8Array, DataView] {
  const bytes = new Uint8Array(layout.size);
  return [bytes, new DataView(bytes.buffer)];
}

export function reader(bytes: Uint8Array, layout: StructLayout | { name: string; size: number }): DataView {
  if (bytes.length !== layout.size) {
    throw new MapCodecError(`${layout.name}: expected ${layout.size} bytes, got ${bytes.length}`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function checkInt(what: string, value: number, bits: 8 | 16 | 32): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new MapCodecError(`${what} ${value} does not fit in ${bits} unsigned bits`);
  }
  return value;
}

export function checkU64(what: string, value: bigint): bigint {
  if (value < 0n || value >= 1n << 64n) throw new MapCodecError(`${what} ${value} does not fit in 64 unsigned bits`);
  return value;
}

export function ipv4Bytes(address: string): Uint8Array {
  const ip = parseIP(address);
  if (!ip || ip.family !== 'IPv4') throw new MapCodecError(`not an IPv4 address: ${JSON.stringify(address)}`);
  return ip.bytes;
}

export function putIPv4(bytes: Uint8Array, offset: number, address: string): void {
  bytes.set(ipv4Bytes(address), offset);
}

export function getIPv4(dv: DataView, offset: number): string {
  return formatIP({ family: 'IPv4', bytes: new Uint8Array(dv.buffer, dv.byteOffset + offset, 4) });
}

export function ipv6Bytes(address: string): Uint8Array {
  const ip = parseIP(address);
  if (!ip || ip.family !== 'IPv6') throw new MapCodecError(`not an IPv6 address: ${JSON.stringify(address)}`);
  return ip.bytes;
}

export function putIPv6(bytes: Uint8Array, offset: number, address: string): void {
  bytes.set(ipv6Bytes(address), offset);
}

/** RFC 5952 text, as the planner keys IPv6 addresses. */
export function getIPv6(dv: DataView, offset: number): string {
  return formatIP({ family: 'IPv6', bytes: new Uint8Array(dv.buffer, dv.byteOffset + offset, 16) });
}

export function putBe16(dv: DataView, offset: number, what: string, value: number): void {
  dv.setUint16(offset, checkInt(what, value, 16), NETWORK);
}

export function putU32(dv: DataView, offset: number, what: string, value: number): void {
  dv.setUint32(offset, checkInt(what, value, 32), HOST_LITTLE_ENDIAN);
}

export function putU16(dv: DataView, offset: number, what: string, value: number): void {
  dv.setUint16(offset, checkInt(what, value, 16), HOST_LITTLE_ENDIAN);
}

export function putU8(dv: DataView, offset: number, what: string, value: number): void {
  dv.setUint8(offset, checkInt(what, value, 8));
}

export function putU64(dv: DataView, offset: number, what: string, value: bigint): void {
  dv.setBigUint64(offset, checkU64(what, value), HOST_LITTLE_ENDIAN);
}

export function getU64(dv: DataView, offset: number): bigint {
  return dv.getBigUint64(offset, HOST_LITTLE_ENDIAN);
}
