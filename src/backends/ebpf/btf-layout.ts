// Reads struct layouts and map definitions out of a BPF object's BTF, as
// printed by `bpftool btf dump file <obj> -j`, and compares them with the
// layouts the codec declares (map-layout.ts): the C header and the agent must
// agree byte for byte, and this is where a disagreement shows up.
import { SvcplaneError } from '../../util/errors.js';
import type { MapSpec, StructLayout } from './map-layout.js';

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
    let t = this.get(id);
    for (let hops = 0; ['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind); hops++) {
      if (hops > 32 || t.type_id === undefined) throw new BtfFormatError(`BTF type ${t.id}: typedef chain too long`);
      t = this.get(t.type_id);
    }
    return t;
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

/** Every named struct in the BTF: its size and member offsets in bytes. */
export function btfStructLayouts(json: string): Map<string, StructLayout> {
  const layouts = new Map<string, StructLayout>();
  for (const t of parseTypes(json).values()) {
    if (t.kind !== 'STRUCT' || !t.name || t.name === '(anon)') continue;
    const offsets: Record<string, number> = {};
    for (const m of t.members ?? []) {
      if (m.bits_offset % 8 !== 0) throw new BtfFormatError(`${t.name}.${m.name} is a bitfield`);
      offsets[m.name] = m.bits_offset / 8;
    }
    layouts.set(t.name, { name: t.name, size: t.size ?? 0, offsets });
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
      const sized = (name: string): number => {
        const m = field(name);
        if (!m) throw new BtfFormatError(`map ${variable.name ?? '?'} has no ${name} type`);
        return types.sizeOf(types.pointee(m.type_id));
      };
      const name = variable.name ?? '';
      maps.set(name, {
        name,
        type: uint('type'),
        keySize: sized('key'),
        valueSize: sized('value'),
        maxEntries: uint('max_entries'),
        flags: uint('map_flags'),
        pinning: uint('pinning'),
      });
    }
  }
  return maps;
}

/** How `declared` differs from `actual` (empty: identical), one line per difference. */
export function layoutDifferences(declared: StructLayout, actual: StructLayout | undefined): string[] {
  if (!actual) return [`struct ${declared.name} is missing from the BTF`];
  const diffs: string[] = [];
  if (declared.size !== actual.size) diffs.push(`${declared.name}: size ${declared.size} declared, ${actual.size} in BTF`);
  const names = new Set([...Object.keys(declared.offsets), ...Object.keys(actual.offsets)]);
  for (const name of names) {
    const d = declared.offsets[name];
    const a = actual.offsets[name];
    if (d !== a) diffs.push(`${declared.name}.${name}: offset ${d ?? 'none'} declared, ${a ?? 'none'} in BTF`);
  }
  return diffs;
}
