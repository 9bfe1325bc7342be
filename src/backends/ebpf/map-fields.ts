// The C field types of bpf/include/svcplane_lb.h and how each is read and written at
// an offset of a struct's bytes, plus the builders map-layout.ts declares structs with.
// __be fields (and addresses) are network order; every other integer is host order,
// as the programs read them. map-struct-codec.ts drives these from the declarations.
import { endianness } from 'node:os';
import { formatIP, parseIP, parseIPv4Uint32 } from '../../model/ip.js';
import type { Protocol } from '../../model/types.js';
import { SvcplaneError } from '../../util/errors.js';

export class MapCodecError extends SvcplaneError {
  override readonly code = 'SVCPLANE_EBPF_MAP_CODEC';
}

export const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** A field's C type: ipv4 is a __be32, ipv6 a __be32[4], both holding an address in network order. */
export type FieldType = 'u8' | 'u16' | 'be16' | 'u32' | 'be32' | 'u64' | 'ipv4' | 'ipv6';

/** What a record holds for each field type. */
export interface FieldValues {
  u8: number;
  u16: number;
  be16: number;
  u32: number;
  be32: number;
  u64: bigint;
  ipv4: string;
  ipv6: string;
}

/** The C type as BTF names it (see btf-layout.ts): the layout test compares these strings. */
export const C_TYPES: Readonly<Record<FieldType, string>> = {
  u8: 'u8', u16: 'u16', be16: 'be16', u32: 'u32', be32: 'be32', u64: 'u64', ipv4: 'be32', ipv6: 'be32[4]',
};

interface Access<V> {
  readonly size: number;
  put(dv: DataView, offset: number, value: unknown, what: string): void;
  get(dv: DataView, offset: number): V;
}

function checkUint(what: string, value: unknown, bits: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new MapCodecError(`${what} ${String(value)} does not fit in ${bits} unsigned bits`);
  }
  return value;
}

function uint(bytes: 1 | 2 | 4, network: boolean): Access<number> {
  const little = !network && HOST_LITTLE_ENDIAN;
  const bits = bytes * 8;
  // Direct DataView calls per width: the applier encodes hundreds of thousands of records per full sync.
  switch (bytes) {
    case 1:
      return { size: 1, put: (dv, o, v, what) => dv.setUint8(o, checkUint(what, v, bits)), get: (dv, o) => dv.getUint8(o) };
    case 2:
      return { size: 2, put: (dv, o, v, what) => dv.setUint16(o, checkUint(what, v, bits), little), get: (dv, o) => dv.getUint16(o, little) };
    case 4:
      return { size: 4, put: (dv, o, v, what) => dv.setUint32(o, checkUint(what, v, bits), little), get: (dv, o) => dv.getUint32(o, little) };
  }
}

const u64: Access<bigint> = {
  size: 8,
  put(dv, offset, value, what) {
    if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
      throw new MapCodecError(`${what} ${String(value)} does not fit in 64 unsigned bits`);
    }
    dv.setBigUint64(offset, value, HOST_LITTLE_ENDIAN);
  },
  get: (dv, offset) => dv.getBigUint64(offset, HOST_LITTLE_ENDIAN),
};

/** The address's bytes in network order; throws unless it is a `family` address. */
export function addressBytes(family: 'IPv4' | 'IPv6', address: unknown, what = 'address'): Uint8Array {
  const ip = typeof address === 'string' ? parseIP(address) : undefined;
  if (!ip || ip.family !== family) throw new MapCodecError(`${what}: not an ${family} address: ${JSON.stringify(address)}`);
  return ip.bytes;
}

function address(family: 'IPv4' | 'IPv6'): Access<string> {
  const size = family === 'IPv4' ? 4 : 16;
  if (family === 'IPv4') {
    // No allocation per address: a full sync encodes and dumps hundreds of thousands of them.
    return {
      size,
      put(dv, offset, value, what) {
        const n = typeof value === 'string' ? parseIPv4Uint32(value) : undefined;
        if (n === undefined) throw new MapCodecError(`${what}: not an IPv4 address: ${JSON.stringify(value)}`);
        dv.setUint32(offset, n, false);
      },
      get: (dv, offset) => `${dv.getUint8(offset)}.${dv.getUint8(offset + 1)}.${dv.getUint8(offset + 2)}.${dv.getUint8(offset + 3)}`,
    };
  }
  return {
    size,
    put: (dv, offset, value, what) => new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength).set(addressBytes(family, value, what), offset),
    // RFC 5952 text for IPv6, as the planner keys addresses.
    get: (dv, offset) => formatIP({ family, bytes: new Uint8Array(dv.buffer, dv.byteOffset + offset, size) }),
  };
}

export const FIELD_ACCESS: { readonly [T in FieldType]: Access<FieldValues[T]> } = {
  u8: uint(1, false),
  u16: uint(2, false),
  be16: uint(2, true),
  u32: uint(4, false),
  be32: uint(4, true),
  u64,
  ipv4: address('IPv4'),
  ipv6: address('IPv6'),
};

/** How a record holds a field when not as the raw C value (an enum, a boolean). */
export interface Representation<T, Raw> {
  readonly encode: (value: T) => Raw;
  readonly decode: (raw: Raw, what: string) => T;
}

/** IANA protocol numbers, as in the structs' proto fields. */
export const PROTOCOL_NUMBERS: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

export function protocolFromNumber(n: number, what = 'proto'): Protocol {
  const protocol = (Object.keys(PROTOCOL_NUMBERS) as Protocol[]).find((p) => PROTOCOL_NUMBERS[p] === n);
  if (protocol === undefined) throw new MapCodecError(`${what}: unknown IP protocol number ${n}`);
  return protocol;
}

export const AS_PROTOCOL: Representation<Protocol, number> = { encode: (p) => PROTOCOL_NUMBERS[p], decode: protocolFromNumber };

export const AS_SCOPE: Representation<0 | 1, number> = {
  encode: (s) => s,
  decode(n, what) {
    if (n !== 0 && n !== 1) throw new MapCodecError(`${what}: unknown lookup scope ${n}`);
    return n;
  },
};

export const AS_BOOLEAN: Representation<boolean, number> = { encode: (b) => (b ? 1 : 0), decode: (n) => n !== 0 };

/** ct*_key.dir: 0 forward, anything else reply. */
export const AS_DIRECTION: Representation<0 | 1, number> = { encode: (d) => d, decode: (n) => (n === 0 ? 0 : 1) };

/** A field as map-layout.ts declares it: C type and offset, and the record property holding it. */
export interface FieldLayout {
  readonly offset: number;
  readonly type: FieldType;
  /** C array length; absent: a scalar. Only padding is an array of a plain integer type. */
  readonly count?: number;
  /** The record property; absent: padding, written as zeros and never read. */
  readonly prop?: string;
  /** Typed loosely here (any Representation fits); Field<P, V> carries the precise type. */
  readonly as?: { readonly encode: (value: never) => unknown; readonly decode: (raw: never, what: string) => unknown };
}

/** A field held by record property P as a V (V is only a type: the record type is inferred from it). */
export interface Field<P extends string, V> extends FieldLayout {
  readonly prop: P;
  readonly valueType?: V;
}

export function field<T extends FieldType, P extends string>(type: T, offset: number, prop: P): Field<P, FieldValues[T]>;
export function field<T extends FieldType, P extends string, V>(
  type: T, offset: number, prop: P, as: Representation<V, FieldValues[T]>): Field<P, V>;
export function field(type: FieldType, offset: number, prop: string, as?: FieldLayout['as']): FieldLayout {
  return as === undefined ? { offset, type, prop } : { offset, type, prop, as };
}

/** Explicit padding (`__u8 pad[2]`, `__u16 pad`): part of the layout and the BTF check, never of the record. */
export function pad(type: 'u8' | 'u16' | 'u32', offset: number, count?: number): FieldLayout {
  return count === undefined ? { offset, type } : { offset, type, count };
}

export function fieldSize(f: FieldLayout): number {
  return FIELD_ACCESS[f.type].size * (f.count ?? 1);
}

/** The field's C type in the form btf-layout.ts prints BTF member types: `be16`, `u8[2]`, `be32[4]`. */
export function fieldCType(f: FieldLayout): string {
  return f.count === undefined ? C_TYPES[f.type] : `${C_TYPES[f.type]}[${f.count}]`;
}

export type Fields = Readonly<Record<string, FieldLayout>>;

/** A C struct: its size and each field, by the field's C name. */
export interface StructLayout<F extends Fields = Fields> {
  readonly name: string;
  readonly size: number;
  readonly fields: F;
}

/** The TypeScript record of a struct: one property per non-padding field. */
export type RecordOf<F extends Fields> = {
  readonly [K in keyof F as F[K] extends Field<infer P, unknown> ? P : never]: F[K] extends Field<string, infer V> ? V : never;
};

/**
 * Declares a struct. Its fields must tile it exactly, padding included (the header spells out
 * every pad, so a hash key has no byte the kernel compares that the codec does not write).
 */
export function struct<F extends Fields>(name: string, size: number, fields: F): StructLayout<F> {
  let end = 0;
  for (const [cname, f] of Object.entries(fields).sort(([, a], [, b]) => a.offset - b.offset)) {
    if (f.offset !== end) throw new MapCodecError(`struct ${name}: ${cname} at ${f.offset}, expected ${end} (overlap or gap)`);
    end += fieldSize(f);
  }
  if (end !== size) throw new MapCodecError(`struct ${name}: fields end at ${end}, size is ${size}`);
  return { name, size, fields };
}
