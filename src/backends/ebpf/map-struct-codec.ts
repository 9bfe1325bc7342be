// One encoder/decoder for every struct map-layout.ts declares: it walks the fields with a
// DataView, no per-struct code. Encoding starts from zeroed bytes, so padding is zero (the
// kernel compares hash keys byte for byte); decoding checks the length and any enum field.
import {
  C_TYPES, FIELD_ACCESS, MapCodecError, type FieldLayout, type FieldType, type FieldValues, type Fields, type RecordOf, type StructLayout,
} from './map-fields.js';

/** A map key's or value's bytes <-> its record. ctype: the C type as BTF names it (`struct lb4_key`, `u32`). */
export interface Codec<T> {
  readonly ctype: string;
  readonly size: number;
  readonly encode: (value: T) => Uint8Array;
  /**
   * Writes the encoding at `offset` of `dv` (a batch buffer) without allocating; the caller
   * hands zeroed bytes (padding is not written).
   */
  readonly encodeInto: (value: T, dv: DataView, offset: number) => void;
  readonly decode: (bytes: Uint8Array) => T;
}

/** encode() for a codec that has encodeInto: fresh zeroed bytes, filled. */
export function encodeFresh<T>(size: number, encodeInto: (value: T, dv: DataView, offset: number) => void): (value: T) => Uint8Array {
  return (value) => {
    const bytes = new Uint8Array(size);
    encodeInto(value, new DataView(bytes.buffer), 0);
    return bytes;
  };
}

/** A DataView over exactly `size` bytes (which may sit inside a larger buffer). */
export function viewOf(bytes: Uint8Array, what: string, size: number): DataView {
  if (bytes.length !== size) throw new MapCodecError(`${what}: expected ${size} bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface Member {
  readonly field: FieldLayout;
  readonly access: (typeof FIELD_ACCESS)[FieldType];
  readonly prop: string;
  readonly what: string;
}

export function structCodec<F extends Fields>(layout: StructLayout<F>): Codec<RecordOf<F>> {
  const members: Member[] = Object.entries(layout.fields).flatMap(([cname, field]) =>
    field.prop === undefined ? [] : [{ field, access: FIELD_ACCESS[field.type], prop: field.prop, what: `${layout.name}.${cname}` }]);
  const encodeInto = (record: RecordOf<F>, dv: DataView, offset: number): void => {
    for (const { field, access, prop, what } of members) {
      const value = (record as Readonly<Record<string, unknown>>)[prop];
      // field.as is loosely typed in the layout; Field<P, V> made the record's property its input type.
      const raw = field.as ? (field.as.encode as (v: unknown) => unknown)(value) : value;
      access.put(dv, offset + field.offset, raw, what);
    }
  };
  return {
    ctype: `struct ${layout.name}`,
    size: layout.size,
    encode: encodeFresh(layout.size, encodeInto),
    encodeInto,
    decode(bytes) {
      const dv = viewOf(bytes, layout.name, layout.size);
      const record: Record<string, unknown> = {};
      for (const { field, access, prop, what } of members) {
        const raw = access.get(dv, field.offset);
        record[prop] = field.as ? (field.as.decode as (r: unknown, w: string) => unknown)(raw, what) : raw;
      }
      return record as RecordOf<F>;
    },
  };
}

/** A map key or value that is a single C integer (`__u32` backend id, the `__u8` of an LPM map). */
export function scalarCodec<T extends FieldType>(type: T): Codec<FieldValues[T]> {
  const access = FIELD_ACCESS[type];
  const ctype = C_TYPES[type];
  return {
    ctype,
    size: access.size,
    encode: encodeFresh(access.size, (value, dv, offset) => access.put(dv, offset, value, ctype)),
    encodeInto: (value, dv, offset) => access.put(dv, offset, value, ctype),
    decode: (bytes) => access.get(viewOf(bytes, ctype, access.size), 0),
  };
}
