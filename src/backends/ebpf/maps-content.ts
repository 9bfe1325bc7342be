// The typed contents of svcplane's load-balancer maps, as the planner reads and
// writes them: either dumped from the kernel (full syncs) or the backend's copy
// of what it last committed (partial syncs). The services maps are held by
// lookup scope (service-table.ts); source range keys are canonical strings.
// Both families live in the same maps here (addresses tell them apart; backend
// ids and rev_nat indexes are one id space): the applier sends each record to
// its family's kernel map (svcp_lb4_* or svcp_lb6_*).
import type { Protocol } from '../../model/types.js';
import type { Lb4Backend, Lb4Key, Lb4ReverseNat, Lb4Service, Lb4SourceRange, LookupScope } from './map-types.js';
import { ServiceTable } from './service-table.js';

export type { ServiceEntry } from './service-table.js';

export interface EbpfMapsContent {
  /** svcp_lb4_svc and svcp_lb6_svc, by lookup scope (service-table.ts); lb4KeyString(key) for single entries. */
  readonly services: ServiceTable;
  /** svcp_lb4_be and svcp_lb6_be: backend id -> backend. */
  readonly backends: Map<number, Lb4Backend>;
  /** svcp_lb4_rnat and svcp_lb6_rnat: rev_nat_index -> frontend. */
  readonly revNat: Map<number, Lb4ReverseNat>;
  /** svcp_lb4_srcr and svcp_lb6_srcr (by the CIDR's family), keyed by sourceRangeKeyString(key); the value is always 1. */
  readonly sourceRanges: Map<string, Lb4SourceRange>;
  /** svcp_lb4_mglv: rev_nat_index -> LB_MAGLEV_LUT_SIZE backend ids. Treated as immutable. */
  readonly maglev: Map<number, Uint32Array>;
}

export type EbpfMapName = 'services' | 'backends' | 'revNat' | 'sourceRanges' | 'maglev';

/** Deletes by id carry the family of the record they delete (absent: IPv4), so the applier knows its map. */
export interface FamilyTag {
  readonly family?: 'IPv6';
}

/** One map write, in the order the plan must apply them. */
export type EbpfOp =
  | { readonly map: 'services'; readonly op: 'update'; readonly key: Lb4Key; readonly value: Lb4Service }
  | { readonly map: 'services'; readonly op: 'delete'; readonly key: Lb4Key }
  | { readonly map: 'backends'; readonly op: 'update'; readonly key: number; readonly value: Lb4Backend }
  | ({ readonly map: 'backends'; readonly op: 'delete'; readonly key: number } & FamilyTag)
  | { readonly map: 'revNat'; readonly op: 'update'; readonly key: number; readonly value: Lb4ReverseNat }
  | ({ readonly map: 'revNat'; readonly op: 'delete'; readonly key: number } & FamilyTag)
  | { readonly map: 'sourceRanges'; readonly op: 'update'; readonly key: Lb4SourceRange; readonly value: 1 }
  | { readonly map: 'sourceRanges'; readonly op: 'delete'; readonly key: Lb4SourceRange }
  | { readonly map: 'maglev'; readonly op: 'update'; readonly key: number; readonly value: Uint32Array }
  | { readonly map: 'maglev'; readonly op: 'delete'; readonly key: number };

export function isIPv6Address(address: string): boolean {
  return address.includes(':');
}

/** The FamilyTag of a delete by id of a record with this address. */
export function familyTag(address: string | undefined): FamilyTag {
  return address !== undefined && isIPv6Address(address) ? { family: 'IPv6' } : {};
}

/** A frontend's identity, the part of lb4_key rev_nat indexes are keyed by: `address:port/proto`. */
export function frontendId(address: string, port: number, proto: Protocol): string {
  return `${address}:${port}/${proto}`;
}

/** frontendId + scope: the prefix of every service-map key of one lookup. */
export function scopePrefix(frontend: string, scope: LookupScope): string {
  return `${frontend}/${scope}`;
}

/** `address:port/proto/scope/slot`: the canonical string of an lb4_key. */
export function lb4KeyString(k: Lb4Key): string {
  return `${k.address}:${k.port}/${k.proto}/${k.scope}/${k.slot}`;
}

/** `revNatIndex|cidr`. */
export function sourceRangeKeyString(k: Lb4SourceRange): string {
  return `${k.revNatIndex}|${k.cidr}`;
}

type BackendIdentity = { readonly address: string; readonly port: number; readonly proto: Protocol };

/** A backend's identity as text: `address:port/proto` (what Maglev hashes, what reports show). */
export function backendKeyString(b: BackendIdentity): string {
  return `${b.address}:${b.port}/${b.proto}`;
}

/** What backend ids are keyed by: a number for an IPv4 backend, backendKeyString for an IPv6 one. */
export type BackendKey = number | string;

const PROTO_CODE: Readonly<Record<Protocol, number>> = { TCP: 0, UDP: 1, SCTP: 2 };

/** A dotted quad as a u32, or -1 if it is not one. */
function ipv4Number(a: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i) - 48;
    if (c === -2) {
      if (digits === 0 || ++dots > 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 0 && c <= 9 && digits < 3) {
      part = part * 10 + c;
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? n * 256 + part : -1;
}

/**
 * A backend's key in the planner's index: IPv4 address, port and protocol packed into one
 * number below 2^50 (exact in a double), so 100,000 backends are not 100,000 strings held
 * between syncs; anything else by its backendKeyString.
 */
export function backendKey(b: BackendIdentity): BackendKey {
  const ip = ipv4Number(b.address);
  return ip < 0 ? backendKeyString(b) : (ip * 65536 + b.port) * 4 + PROTO_CODE[b.proto];
}

export function emptyMapsContent(): EbpfMapsContent {
  return { services: new ServiceTable(), backends: new Map(), revNat: new Map(), sourceRanges: new Map(), maglev: new Map() };
}

/** A copy whose maps can be changed without touching `c` (records and Maglev tables are shared: they are never mutated). */
export function cloneMapsContent(c: EbpfMapsContent): EbpfMapsContent {
  return {
    services: c.services.clone(),
    backends: new Map(c.backends),
    revNat: new Map(c.revNat),
    sourceRanges: new Map(c.sourceRanges),
    maglev: new Map(c.maglev),
  };
}

/** Applies one op to `c` in place: what the kernel does with it. */
export function applyEbpfOp(c: EbpfMapsContent, op: EbpfOp): void {
  switch (op.map) {
    case 'services':
      if (op.op === 'update') c.services.put(op.key, op.value);
      else c.services.remove(op.key);
      return;
    case 'backends':
      if (op.op === 'update') c.backends.set(op.key, op.value);
      else c.backends.delete(op.key);
      return;
    case 'revNat':
      if (op.op === 'update') c.revNat.set(op.key, op.value);
      else c.revNat.delete(op.key);
      return;
    case 'sourceRanges':
      if (op.op === 'update') c.sourceRanges.set(sourceRangeKeyString(op.key), op.key);
      else c.sourceRanges.delete(sourceRangeKeyString(op.key));
      return;
    case 'maglev':
      if (op.op === 'update') c.maglev.set(op.key, op.value);
      else c.maglev.delete(op.key);
  }
}

export function applyEbpfOps(c: EbpfMapsContent, ops: readonly EbpfOp[]): void {
  for (const op of ops) applyEbpfOp(c, op);
}
