// The one table of svcplane's eBPF maps: for each map of bpf/include/svcp_maps.h, its
// name, type, flags and size limit, and the codecs of its keys and values. The applier
// and the dump (ebpf-maps.ts), `svcplane maps` and the tests all go through it, and
// map-layout.test.ts checks every row against the compiled object's BTF.
import {
  CT4_KEY, CT4_VAL, CT6_KEY, CT6_VAL, LB4_AFFINITY_KEY, LB4_BACKEND, LB4_KEY, LB4_REVERSE_NAT, LB4_SERVICE, LB4_SRC_RANGE_KEY, LB6_BACKEND,
  LB6_KEY, LB6_REVERSE_NAT, LB6_SRC_RANGE_KEY, LB_AFFINITY_VAL, SOCK4_REV_KEY, SOCK4_REV_VAL, SOCK6_REV_KEY, SOCK6_REV_VAL,
} from './map-layout.js';
import { MAGLEV_TABLE, sourceRangeKeyCodec } from './map-special-codecs.js';
import { scalarCodec, structCodec, type Codec } from './map-struct-codec.js';
import {
  MAP_NAMES, type Ct4Key, type Ct4Value, type Lb4AffinityKey, type Lb4Backend, type Lb4Key, type Lb4ReverseNat, type Lb4Service,
  type Lb4SourceRange, type LbAffinityValue, type Sock4RevKey, type Sock4RevValue,
} from './map-types.js';

// enum bpf_map_type values (include/uapi/linux/bpf.h).
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_LRU_HASH = 9;
export const BPF_MAP_TYPE_LPM_TRIE = 11;
export const BPF_F_NO_PREALLOC = 1;

/** A map as the kernel creates it, and how its keys and values are encoded. */
export interface MapDef<K, V> {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly maxEntries: number;
  readonly key: Codec<K>;
  readonly value: Codec<V>;
}

export type MapKey = keyof typeof MAP_NAMES;

/** Each map's key and value records (the IPv6 maps hold the IPv4 records with IPv6 addresses, see map-types.ts). */
export interface MapRecords {
  services: { key: Lb4Key; value: Lb4Service };
  backends: { key: number; value: Lb4Backend };
  revNat: { key: number; value: Lb4ReverseNat };
  affinity: { key: Lb4AffinityKey; value: LbAffinityValue };
  sourceRanges: { key: Lb4SourceRange; value: number };
  maglev: { key: number; value: Uint32Array };
  conntrack: { key: Ct4Key; value: Ct4Value };
  sockRevNat: { key: Sock4RevKey; value: Sock4RevValue };
  services6: { key: Lb4Key; value: Lb4Service };
  backends6: { key: number; value: Lb4Backend };
  revNat6: { key: number; value: Lb4ReverseNat };
  sockRevNat6: { key: Sock4RevKey; value: Sock4RevValue };
  sourceRanges6: { key: Lb4SourceRange; value: number };
  conntrack6: { key: Ct4Key; value: Ct4Value };
}

export type MapKeyOf<M extends MapKey> = MapRecords[M]['key'];
export type MapValueOf<M extends MapKey> = MapRecords[M]['value'];
export type MapTable = { readonly [M in MapKey]: MapDef<MapKeyOf<M>, MapValueOf<M>> };

// The annotations make tsc prove each struct's declared fields give exactly the record type.
const LB4_KEY_CODEC: Codec<Lb4Key> = structCodec(LB4_KEY);
const LB6_KEY_CODEC: Codec<Lb4Key> = structCodec(LB6_KEY);
const SERVICE_CODEC: Codec<Lb4Service> = structCodec(LB4_SERVICE);
const U32: Codec<number> = scalarCodec('u32');

const hash = <K, V>(name: string, key: Codec<K>, value: Codec<V>, maxEntries: number): MapDef<K, V> =>
  ({ name, type: BPF_MAP_TYPE_HASH, flags: 0, maxEntries, key, value });
const lru = <K, V>(name: string, key: Codec<K>, value: Codec<V>, maxEntries: number): MapDef<K, V> =>
  ({ name, type: BPF_MAP_TYPE_LRU_HASH, flags: 0, maxEntries, key, value });
const lpm = (name: string, key: Codec<Lb4SourceRange>): MapDef<Lb4SourceRange, number> =>
  ({ name, type: BPF_MAP_TYPE_LPM_TRIE, flags: BPF_F_NO_PREALLOC, maxEntries: 16384, key, value: scalarCodec('u8') });

export const EBPF_MAPS: MapTable = {
  services: hash(MAP_NAMES.services, LB4_KEY_CODEC, SERVICE_CODEC, 524288),
  backends: hash(MAP_NAMES.backends, U32, structCodec(LB4_BACKEND), 524288),
  revNat: hash(MAP_NAMES.revNat, U32, structCodec(LB4_REVERSE_NAT), 65536),
  affinity: lru(MAP_NAMES.affinity, structCodec(LB4_AFFINITY_KEY), structCodec(LB_AFFINITY_VAL), 65536),
  sourceRanges: lpm(MAP_NAMES.sourceRanges, sourceRangeKeyCodec(LB4_SRC_RANGE_KEY, 'IPv4')),
  maglev: { ...hash(MAP_NAMES.maglev, U32, MAGLEV_TABLE, 16384), flags: BPF_F_NO_PREALLOC },
  conntrack: lru(MAP_NAMES.conntrack, structCodec(CT4_KEY), structCodec(CT4_VAL), 262144),
  sockRevNat: lru(MAP_NAMES.sockRevNat, structCodec(SOCK4_REV_KEY), structCodec(SOCK4_REV_VAL), 262144),
  services6: hash(MAP_NAMES.services6, LB6_KEY_CODEC, SERVICE_CODEC, 262144),
  backends6: hash(MAP_NAMES.backends6, U32, structCodec(LB6_BACKEND), 262144),
  revNat6: hash(MAP_NAMES.revNat6, U32, structCodec(LB6_REVERSE_NAT), 65536),
  sockRevNat6: lru(MAP_NAMES.sockRevNat6, structCodec(SOCK6_REV_KEY), structCodec(SOCK6_REV_VAL), 262144),
  sourceRanges6: lpm(MAP_NAMES.sourceRanges6, sourceRangeKeyCodec(LB6_SRC_RANGE_KEY, 'IPv6')),
  conntrack6: lru(MAP_NAMES.conntrack6, structCodec(CT6_KEY), structCodec(CT6_VAL), 262144),
};

/** A map as BTF declares it: what map-layout.test.ts compares with the object. */
export interface MapSpec {
  readonly name: string;
  readonly type: number;
  readonly keyType: string;
  readonly keySize: number;
  readonly valueType: string;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
}

type Sized = Pick<Codec<never>, 'ctype' | 'size'>;

export function mapSpec(def: Omit<MapDef<never, never>, 'key' | 'value'> & { readonly key: Sized; readonly value: Sized }): MapSpec {
  const { name, type, key, value, maxEntries, flags } = def;
  return { name, type, keyType: key.ctype, keySize: key.size, valueType: value.ctype, valueSize: value.size, maxEntries, flags };
}

export const MAP_SPECS: readonly MapSpec[] = Object.values(EBPF_MAPS).map(mapSpec);
