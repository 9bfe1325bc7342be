// Reads struct layouts and map definitions out of a BPF object's BTF, as
// printed by `bpftool btf dump file <obj> -j`, and compares them with the
// layouts the codec declares (map-layout.ts, map-table.ts): the C header and the
// agent must agree on every offset, size and field type (byte order included:
// a __be16 is not a __u16), and this is where a disagreement shows up.
import { SvcplaneError } from '../../util/errors.js';
import { fieldCType, type StructLayout } from './map-fields.js';
import type { MapSpec } from './map-table.js';

export class BtfFormatError extends SvcplaneError {
  override readonly code = 'SVCPLANE_EBPF_BTF_FORMAT';
}

interface BtfMember {
  readonly name: string;
  readonly type_id: number;
  readonly bits_offset: number;
}

interface BtfType {
  readonly id: number;
  readonly kind: string;
  readonly name?: string;
  readonly size?: number;
  readonly type_id?: number;
  readonly nr_elems?: number;
  readonly encoding?: string;
  readonly members?: readonly BtfMember[];
  readonly vars?: readonly { readonly type_id: number }[];
}

/** A map as its BTF definition in the .maps section declares it. */
export interface BtfMapDefinition extends MapSpec {
  readonly pinning: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function parseTypes(json: string): Map<number, BtfType> {
  const doc: unknown = JSON.parse(json);
  if (!isRecord(doc) || !Array.isArray(doc.types)) throw new BtfFormatError('bpftool BTF JSON without a "types" array');
  const types = new Map<number, BtfType>();
  for (const t of doc.types as unknown[]) {
    if (!isRecord(t) || typeof t.id !== 'number' || typeof t.kind !== 'string') throw new BtfFormatError('malformed BTF type');
    types.set(t.id, t as unknown as BtfType);
  }
  return types;
}

class BtfTypes {
  constructor(private readonly types: Map<number, BtfType>) {}

  get(id: number): BtfType {
    const t = this.types.get(id);
    if (!t) throw new BtfFormatError(`BTF type ${id} not found`);
    return t;
  }

  /** Follows typedefs and qualifiers to the type that has a size. */
  resolve(id: number): BtfType {
    return this.typedefs(id).type;
  }

  /** The type behind typedefs and qualifiers, and the typedef names passed on the way. */
  typedefs(id: number): { type: BtfType; names: string[] } {
    let t = this.get(id);
    const names: string[] = [];
    for (let hops = 0; ['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind); hops++) {
      if (hops > 32 || t.type_id === undefined) throw new BtfFormatError(`BTF type ${t.id}: typedef chain too long`);
      if (t.kind === 'TYPEDEF' && t.name) names.push(t.name);
      t = this.get(t.type_id);
    }
    return { type: t, names };
  }

  /**
   * A type as map-fields.ts writes C types: `u16`, `s32`, `be16` (an integer reached through
   * a __be16 typedef: the header's mark for network order), `u8[2]`, `struct lb4_key`.
   */
  ctype(id: number): string {
    const { type: t, names } = this.typedefs(id);
    if (t.kind === 'ARRAY') return `${this.ctype(t.type_id ?? 0)}[${t.nr_elems ?? 0}]`;
    if (t.kind === 'INT') {
      const be = names.find((n) => /^__be(16|32|64)$/.test(n));
      if (be !== undefined) return be.slice(2);
      return `${t.encoding === 'SIGNED' ? 's' : 'u'}${(t.size ?? 0) * 8}`;
    }
    return `${t.kind.toLowerCase()} ${t.name ?? '(anon)'}`;
  }

  sizeOf(id: number): number {
    const t = this.resolve(id);
    if (t.kind === 'ARRAY') return (t.nr_elems ?? 0) * this.sizeOf(t.type_id ?? 0);
    if (t.size === undefined) throw new BtfFormatError(`BTF type ${t.id} (${t.kind}) has no size`);
    return t.size;
  }

  /** __uint(name, N) is encoded as `int (*name)[N]`. */
  uintMember(id: number): number {
    const ptr = this.resolve(id);
    const arr = ptr.kind === 'PTR' && ptr.type_id !== undefined ? this.resolve(ptr.type_id) : undefined;
    if (!arr || arr.kind !== 'ARRAY' || arr.nr_elems === undefined) throw new BtfFormatError(`BTF type ${id} is not an __uint()`);
    return arr.nr_elems;
  }

  /** __type(name, T) is encoded as `T *name`. */
  pointee(id: number): number {
    const ptr = this.resolve(id);
    if (ptr.kind !== 'PTR' || ptr.type_id === undefined) throw new BtfFormatError(`BTF type ${id} is not a __type()`);
    return ptr.type_id;
  }

  all(): IterableIterator<BtfType> {
    return this.types.values();
  }
}

/** A struct as BTF has it: its size and each member's byte offset and C type. */
export interface BtfStruct {
  readonly name: string;
  readonly size: number;
  readonly members: Readonly<Record<string, { readonly offset: number; readonly ctype: string }>>;
}

/** Every named struct in the BTF. */
export function btfStructLayouts(json: string): Map<string, BtfStruct> {
  const types = new BtfTypes(parseTypes(json));
  const layouts = new Map<string, BtfStruct>();
  for (const t of types.all()) {
    if (t.kind !== 'STRUCT' || !t.name || t.name === '(anon)') continue;
    const members: Record<string, { offset: number; ctype: string }> = {};
    for (const m of t.members ?? []) {
      if (m.bits_offset % 8 !== 0) throw new BtfFormatError(`${t.name}.${m.name} is a bitfield`);
      members[m.name] = { offset: m.bits_offset / 8, ctype: types.ctype(m.type_id) };
    }
    layouts.set(t.name, { name: t.name, size: t.size ?? 0, members });
  }
  return layouts;
}

/** The maps defined in the object's .maps section, by name. */
export function btfMapDefinitions(json: string): Map<string, BtfMapDefinition> {
  const types = new BtfTypes(parseTypes(json));
  const maps = new Map<string, BtfMapDefinition>();
  for (const sec of types.all()) {
    if (sec.kind !== 'DATASEC' || sec.name !== '.maps') continue;
    for (const v of sec.vars ?? []) {
      const variable = types.get(v.type_id);
      const def = types.resolve(variable.type_id ?? 0);
      const field = (name: string): BtfMember | undefined => def.members?.find((m) => m.name === name);
      const uint = (name: string): number => {
        const m = field(name);
        return m ? types.uintMember(m.type_id) : 0;
      };
      const typed = (name: string): number => {
        const m = field(name);
        if (!m) throw new BtfFormatError(`map ${variable.name ?? '?'} has no ${name} type`);
        return types.pointee(m.type_id);
      };
      const name = variable.name ?? '';
      maps.set(name, {
        name,
        type: uint('type'),
        keyType: types.ctype(typed('key')),
        keySize: types.sizeOf(typed('key')),
        valueType: types.ctype(typed('value')),
        valueSize: types.sizeOf(typed('value')),
        maxEntries: uint('max_entries'),
        flags: uint('map_flags'),
        pinning: uint('pinning'),
      });
    }
  }
  return maps;
}

/** How `declared` differs from `actual` (empty: identical), one line per difference. */
export function layoutDifferences(declared: StructLayout, actual: BtfStruct | undefined): string[] {
  if (!actual) return [`struct ${declared.name} is missing from the BTF`];
  const diffs: string[] = [];
  if (declared.size !== actual.size) diffs.push(`${declared.name}: size ${declared.size} declared, ${actual.size} in BTF`);
  const names = new Set([...Object.keys(declared.fields), ...Object.keys(actual.members)]);
  for (const name of names) {
    const d = declared.fields[name];
    const a = actual.members[name];
    if (d?.offset !== a?.offset) diffs.push(`${declared.name}.${name}: offset ${d?.offset ?? 'none'} declared, ${a?.offset ?? 'none'} in BTF`);
    if (d && a && fieldCType(d) !== a.ctype) diffs.push(`${declared.name}.${name}: type ${fieldCType(d)} declared, ${a.ctype} in BTF`);
  }
  return diffs;
}
