// The byte layout of every struct and map in bpf/include/svcplane_lb.h, declared once:
// map-codec.ts encodes with these offsets and map-layout.test.ts checks them against
// the compiled object's BTF, so a field moved in C fails a test instead of corrupting maps.
import { LB_MAGLEV_LUT_SIZE, MAP_NAMES } from './map-types.js';

/** A C struct: its size and each field's byte offset, by the field's C name. */
export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly offsets: Readonly<Record<string, number>>;
}

export const LB4_KEY = {
  name: 'lb4_key',
  size: 12,
  offsets: { address: 0, dport: 4, backend_slot: 6, proto: 8, scope: 9, pad: 10 },
} as const satisfies StructLayout;

export const LB4_SERVICE = {
  name: 'lb4_service',
  size: 16,
  offsets: { backend_id: 0, count: 4, flags: 6, rev_nat_index: 8, affinity_timeout: 12 },
} as const satisfies StructLayout;

export const LB4_BACKEND = {
  name: 'lb4_backend',
  size: 8,
  offsets: { address: 0, port: 4, proto: 6, flags: 7 },
} as const satisfies StructLayout;

export const LB4_REVERSE_NAT = {
  name: 'lb4_reverse_nat',
  size: 8,
  offsets: { address: 0, port: 4, pad: 6 },
} as const satisfies StructLayout;

export const LB4_AFFINITY_KEY = {
  name: 'lb4_affinity_key',
  size: 16,
  offsets: { client_id: 0, rev_nat_index: 8, netns_cookie: 12, pad: 13 },
} as const satisfies StructLayout;

export const LB_AFFINITY_VAL = {
  name: 'lb_affinity_val',
  size: 16,
  offsets: { last_used: 0, backend_id: 8, pad: 12 },
} as const satisfies StructLayout;

export const LB4_SRC_RANGE_KEY = {
  name: 'lb4_src_range_key',
  size: 12,
  offsets: { lpm_prefixlen: 0, rev_nat_index: 4, address: 8 },
} as const satisfies StructLayout;

export const CT4_KEY = {
  name: 'ct4_key',
  size: 16,
  offsets: { saddr: 0, daddr: 4, sport: 8, dport: 10, proto: 12, dir: 13, pad: 14 },
} as const satisfies StructLayout;

export const CT4_VAL = {
  name: 'ct4_val',
  size: 16,
  offsets: { address: 0, port: 4, pad: 6, backend_id: 8, rev_nat_index: 12 },
} as const satisfies StructLayout;

export const SOCK4_REV_KEY = {
  name: 'sock4_rev_key',
  size: 16,
  offsets: { cookie: 0, address: 8, port: 12, pad: 14 },
} as const satisfies StructLayout;

export const SOCK4_REV_VAL = {
  name: 'sock4_rev_val',
  size: 12,
  offsets: { address: 0, port: 4, pad: 6, rev_nat_index: 8 },
} as const satisfies StructLayout;

export const LB6_KEY = {
  name: 'lb6_key',
  size: 24,
  offsets: { address: 0, dport: 16, backend_slot: 18, proto: 20, scope: 21, pad: 22 },
} as const satisfies StructLayout;

export const LB6_BACKEND = {
  name: 'lb6_backend',
  size: 20,
  offsets: { address: 0, port: 16, proto: 18, flags: 19 },
} as const satisfies StructLayout;

export const LB6_REVERSE_NAT = {
  name: 'lb6_reverse_nat',
  size: 20,
  offsets: { address: 0, port: 16, pad: 18 },
} as const satisfies StructLayout;

export const SOCK6_REV_KEY = {
  name: 'sock6_rev_key',
  size: 32,
  offsets: { cookie: 0, address: 8, port: 24, pad: 26 },
} as const satisfies StructLayout;

export const SOCK6_REV_VAL = {
  name: 'sock6_rev_val',
  size: 24,
  offsets: { address: 0, port: 16, pad: 18, rev_nat_index: 20 },
} as const satisfies StructLayout;

export const LB6_SRC_RANGE_KEY = {
  name: 'lb6_src_range_key',
  size: 24,
  offsets: { lpm_prefixlen: 0, rev_nat_index: 4, address: 8 },
} as const satisfies StructLayout;

export const CT6_KEY = {
  name: 'ct6_key',
  size: 40,
  offsets: { saddr: 0, daddr: 16, sport: 32, dport: 34, proto: 36, dir: 37, pad: 38 },
} as const satisfies StructLayout;

export const CT6_VAL = {
  name: 'ct6_val',
  size: 28,
  offsets: { address: 0, port: 16, pad: 18, backend_id: 20, rev_nat_index: 24 },
} as const satisfies StructLayout;

export const STRUCT_LAYOUTS: readonly StructLayout[] = [
  LB4_KEY,
  LB4_SERVICE,
  LB4_BACKEND,
  LB4_REVERSE_NAT,
  LB4_AFFINITY_KEY,
  LB_AFFINITY_VAL,
  LB4_SRC_RANGE_KEY,
  CT4_KEY,
  CT4_VAL,
  SOCK4_REV_KEY,
  SOCK4_REV_VAL,
  LB6_KEY,
  LB6_BACKEND,
  LB6_REVERSE_NAT,
  SOCK6_REV_KEY,
  SOCK6_REV_VAL,
  LB6_SRC_RANGE_KEY,
  CT6_KEY,
  CT6_VAL,
];

// enum bpf_map_type values (include/uapi/linux/bpf.h).
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_LRU_HASH = 9;
export const BPF_MAP_TYPE_LPM_TRIE = 11;
export const BPF_F_NO_PREALLOC = 1;

const U32_SIZE = 4;
const U8_SIZE = 1;

/** A map of the object as created by the kernel. */
export interface MapSpec {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
}

export const MAP_SPECS: readonly MapSpec[] = [
  { name: MAP_NAMES.services, type: BPF_MAP_TYPE_HASH, keySize: LB4_KEY.size, valueSize: LB4_SERVICE.size, maxEntries: 262144, flags: 0 },
  { name: MAP_NAMES.backends, type: BPF_MAP_TYPE_HASH, keySize: U32_SIZE, valueSize: LB4_BACKEND.size, maxEntries: 262144, flags: 0 },
  { name: MAP_NAMES.revNat, type: BPF_MAP_TYPE_HASH, keySize: U32_SIZE, valueSize: LB4_REVERSE_NAT.size, maxEntries: 65536, flags: 0 },
  { name: MAP_NAMES.affinity, type: BPF_MAP_TYPE_LRU_HASH, keySize: LB4_AFFINITY_KEY.size, valueSize: LB_AFFINITY_VAL.size, maxEntries: 65536, flags: 0 },
  { name: MAP_NAMES.sourceRanges, type: BPF_MAP_TYPE_LPM_TRIE, keySize: LB4_SRC_RANGE_KEY.size, valueSize: U8_SIZE, maxEntries: 16384, flags: BPF_F_NO_PREALLOC },
  { name: MAP_NAMES.maglev, type: BPF_MAP_TYPE_HASH, keySize: U32_SIZE, valueSize: LB_MAGLEV_LUT_SIZE * U32_SIZE, maxEntries: 16384, flags: BPF_F_NO_PREALLOC },
  { name: MAP_NAMES.conntrack, type: BPF_MAP_TYPE_LRU_HASH, keySize: CT4_KEY.size, valueSize: CT4_VAL.size, maxEntries: 262144, flags: 0 },
  { name: MAP_NAMES.sockRevNat, type: BPF_MAP_TYPE_LRU_HASH, keySize: SOCK4_REV_KEY.size, valueSize: SOCK4_REV_VAL.size, maxEntries: 262144, flags: 0 },
  { name: MAP_NAMES.services6, type: BPF_MAP_TYPE_HASH, keySize: LB6_KEY.size, valueSize: LB4_SERVICE.size, maxEntries: 262144, flags: 0 },
  { name: MAP_NAMES.backends6, type: BPF_MAP_TYPE_HASH, keySize: U32_SIZE, valueSize: LB6_BACKEND.size, maxEntries: 262144, flags: 0 },
  { name: MAP_NAMES.revNat6, type: BPF_MAP_TYPE_HASH, keySize: U32_SIZE, valueSize: LB6_REVERSE_NAT.size, maxEntries: 65536, flags: 0 },
  { name: MAP_NAMES.sockRevNat6, type: BPF_MAP_TYPE_LRU_HASH, keySize: SOCK6_REV_KEY.size, valueSize: SOCK6_REV_VAL.size, maxEntries: 262144, flags: 0 },
  { name: MAP_NAMES.sourceRanges6, type: BPF_MAP_TYPE_LPM_TRIE, keySize: LB6_SRC_RANGE_KEY.size, valueSize: U8_SIZE, maxEntries: 16384, flags: BPF_F_NO_PREALLOC },
  { name: MAP_NAMES.conntrack6, type: BPF_MAP_TYPE_LRU_HASH, keySize: CT6_KEY.size, valueSize: CT6_VAL.size, maxEntries: 262144, flags: 0 },
];
