// The eBPF maps' records as TypeScript sees them: bpf/include/svcplane_lb.h mirrored
// field for field (map-layout.ts declares how, map-table.ts encodes them; a test checks both against BTF).
// The load-balancer records hold addresses as strings of either family: an Lb4Key
// with an IPv6 address is encoded as struct lb6_key into svcp_lb6_svc, an Lb4Backend
// with one as struct lb6_backend, and so on (backend ids and rev_nat indexes are
// one id space across both families, see svcplane_lb.h).
import type { Protocol } from '../../model/types.js';

export const LB_LOOKUP_SCOPE_EXT = 0;
export const LB_LOOKUP_SCOPE_INT = 1;
export type LookupScope = typeof LB_LOOKUP_SCOPE_EXT | typeof LB_LOOKUP_SCOPE_INT;

export const SVC_FLAG_CLUSTER_IP = 1 << 0;
export const SVC_FLAG_NODEPORT = 1 << 1;
export const SVC_FLAG_EXTERNAL_IP = 1 << 2;
export const SVC_FLAG_LOADBALANCER = 1 << 3;
export const SVC_FLAG_TWO_SCOPES = 1 << 4;
export const SVC_FLAG_SOURCE_RANGES = 1 << 5;
export const SVC_FLAG_AFFINITY = 1 << 6;
export const SVC_FLAG_MAGLEV = 1 << 7;

export const BE_FLAG_LOCAL = 1 << 0;
/** Not written since backend records became shared by every service naming the address (see frontends.ts); maps of older builds may hold it. */
export const BE_FLAG_TERMINATING = 1 << 1;

export const LB_MAGLEV_LUT_SIZE = 16381;
export const SVCP_MARK_MASQ = 0x4000;

/** Map names as in the BPF object (and their pin names under the pin root). */
export const MAP_NAMES = {
  services: 'svcp_lb4_svc',
  backends: 'svcp_lb4_be',
  revNat: 'svcp_lb4_rnat',
  affinity: 'svcp_lb4_aff',
  sourceRanges: 'svcp_lb4_srcr',
  maglev: 'svcp_lb4_mglv',
  conntrack: 'svcp_ct4',
  sockRevNat: 'svcp_sk4_rev',
  services6: 'svcp_lb6_svc',
  backends6: 'svcp_lb6_be',
  revNat6: 'svcp_lb6_rnat',
  sockRevNat6: 'svcp_sk6_rev',
  sourceRanges6: 'svcp_lb6_srcr',
  conntrack6: 'svcp_ct6',
} as const;

/** struct lb4_key. Addresses are dotted quads; ports host order (the codec swaps). */
export interface Lb4Key {
  readonly address: string;
  readonly port: number;
  readonly slot: number;
  readonly proto: Protocol;
  readonly scope: LookupScope;
}

/** struct lb4_service: slot 0 uses count/flags/revNatIndex/affinityTimeout, slots > 0 backendId. */
export interface Lb4Service {
  readonly backendId: number;
  readonly count: number;
  readonly flags: number;
  readonly revNatIndex: number;
  readonly affinityTimeout: number;
}

/** struct lb4_backend (key: backend id). */
export interface Lb4Backend {
  readonly address: string;
  readonly port: number;
  readonly proto: Protocol;
  readonly flags: number;
}

/** struct lb4_reverse_nat (key: rev_nat_index). */
export interface Lb4ReverseNat {
  readonly address: string;
  readonly port: number;
}

/** struct lb4_src_range_key, or lb6_src_range_key for an IPv6 CIDR (value: a u8 1). */
export interface Lb4SourceRange {
  readonly revNatIndex: number;
  readonly cidr: string;
}

/** struct lb4_affinity_key. clientId: a netns cookie, or (tc) the client address as the kernel stores it (IPv6: folded, svcplane_lb.h). */
export interface Lb4AffinityKey {
  readonly clientId: bigint;
  readonly revNatIndex: number;
  readonly netnsCookie: boolean;
}

/** struct lb_affinity_val. lastUsed: bpf_ktime_get_ns() of the last selection. */
export interface LbAffinityValue {
  readonly lastUsed: bigint;
  readonly backendId: number;
}

/** struct ct4_key: tc's connection table (dir 0 forward, 1 reply). Ports host order. */
export interface Ct4Key {
  readonly saddr: string;
  readonly daddr: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: Protocol;
  readonly dir: 0 | 1;
}

/** struct ct4_val: forward entries name the backend, reply entries the frontend. */
export interface Ct4Value {
  readonly address: string;
  readonly port: number;
  readonly backendId: number;
  readonly revNatIndex: number;
}

/** struct sock4_rev_key: socket LB reverse translation, by socket cookie and backend. */
export interface Sock4RevKey {
  readonly cookie: bigint;
  readonly address: string;
  readonly port: number;
}

/** struct sock4_rev_val: the frontend the application connected to. */
export interface Sock4RevValue {
  readonly address: string;
  readonly port: number;
  readonly revNatIndex: number;
}

/** struct sock6_rev_key: as Sock4RevKey, with an IPv6 address. */
export type Sock6RevKey = Sock4RevKey;

/** struct sock6_rev_val: as Sock4RevValue, with an IPv6 address. */
export type Sock6RevValue = Sock4RevValue;

/** struct ct6_key: as Ct4Key, with IPv6 addresses. */
export type Ct6Key = Ct4Key;

/** struct ct6_val: as Ct4Value, with an IPv6 address. */
export type Ct6Value = Ct4Value;
