// One frontend's records (slot-0 and backend slots per lookup scope, rev-nat,
// source ranges, Maglev table) compared with what the maps hold, differences
// queued by phase. Backends keep their slots where they can, so a one-endpoint
// change rewrites one slot, not every slot after it.
import { backendKeyString, familyTag, scopePrefix, type BackendKey, type EbpfMapsContent } from './maps-content.js';
import { maglevTable } from './maglev.js';
import { LB_LOOKUP_SCOPE_EXT, LB_LOOKUP_SCOPE_INT, type Lb4Service, type LookupScope } from './map-types.js';
import type { BackendRef, FrontendSpec } from './frontends.js';
import type { IdAllocator, OpsBuilder, Phase } from './ops-builder.js';

/** Where each slot goes: backends already in a slot within the new count stay there; the rest fill the holes in order. */
export function assignSlots(desired: readonly number[], current: readonly (number | undefined)[]): number[] {
  const m = desired.length;
  const want = new Set(desired);
  const placed = new Set<number>();
  const out = new Array<number>(m).fill(0);
  const lim = Math.min(m, current.length);
  for (let s = 0; s < lim; s++) {
    const id = current[s];
    if (id !== undefined && want.has(id) && !placed.has(id)) {
      out[s] = id;
      placed.add(id);
    }
  }
  let j = 0;
  for (let s = 0; s < m; s++) {
    if (out[s] !== 0) continue;
    while (placed.has(desired[j] as number)) j++;
    const id = desired[j++] as number;
    out[s] = id;
    placed.add(id);
  }
  return out;
}

function sameTable(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The state one plan shares across its frontends. */
export interface DiffContext {
  readonly current: EbpfMapsContent;
  readonly out: OpsBuilder;
  readonly maglev: boolean;
  /** Partial plans delete what a frontend no longer holds as they go; full plans sweep the maps afterwards. */
  readonly partial: boolean;
  /** backendKey -> id: recovered or allocated. */
  readonly backendIds: Map<BackendKey, number>;
  readonly backendAlloc: IdAllocator;
  readonly revAlloc: IdAllocator;
  /** The frontend's rev_nat_index to keep, if any (full: recovered from the maps; partial: its slot-0 entry). */
  readonly recoverRevNat: (spec: FrontendSpec) => number | undefined;
  /** Backend id -> slot references once the plan is applied. */
  readonly refs: Map<number, number>;
  /** Backends whose references dropped in this plan (partial): deleted at the end if none is left. */
  readonly unreferenced: Set<number>;
  /** Backend id -> the first reference of this plan: its record. */
  readonly backends: Map<number, BackendRef>;
  /** rev_nat_index -> its source ranges once the plan is applied. */
  readonly rangesByRev: Map<number, readonly string[]>;
  /** Full plans: what stays (everything else is swept). Scope prefix -> count. */
  readonly keptScopes: Map<string, number>;
  readonly keptRevNat: Set<number>;
  readonly keptMaglev: Set<number>;
  readonly keptRanges: Set<string>;
  /** Full plans: how many kept entries the maps already hold (all of them: nothing to sweep). */
  readonly hits: { services: number; backends: number };
}

export function backendIdOf(c: DiffContext, ref: BackendRef): number {
  let id = c.backendIds.get(ref.key);
  if (id === undefined) {
    id = c.backendAlloc.next();
    c.backendIds.set(ref.key, id);
  }
  if (!c.backends.has(id)) c.backends.set(id, ref);
  return id;
}

function ref(c: DiffContext, id: number, delta: number): void {
  const n = (c.refs.get(id) ?? 0) + delta;
  c.refs.set(id, n);
  if (n === 0) c.unreferenced.add(id);
}

interface Frontend {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly proto: FrontendSpec['proto'];
}

/** One lookup scope: its slots, then its slot-0 entry. Returns the backend ids in slot order. */
function planScope(
  c: DiffContext, fe: Frontend, scope: LookupScope, refs: readonly BackendRef[] | undefined, rev: number, flags: number, affinityTimeout: number,
): number[] {
  const prefix = scopePrefix(fe.id, scope);
  // One lookup per scope: the row holds slot 0 and every backend slot.
  const row = c.current.services.scope(prefix);
  const has0 = row?.has(0) === true;
  const curCount = row?.count() ?? 0;
  const curIds: (number | undefined)[] = [];
  for (let s = 1; s <= curCount; s++) curIds.push(row?.backendId(s));
  if (c.partial) for (const id of curIds) if (id !== undefined) ref(c, id, -1);
  const key = (slot: number) => ({ address: fe.address, port: fe.port, slot, proto: fe.proto, scope });

  if (refs === undefined) {
    if (c.partial && has0) {
      c.out.add(scope === LB_LOOKUP_SCOPE_EXT ? 'removedSlot0Ext' : 'removedSlot0Int', { map: 'services', op: 'delete', key: key(0) });
      curIds.forEach((id, i) => { if (id !== undefined) c.out.add('removedSlots', { map: 'services', op: 'delete', key: key(i + 1) }); });
    }
    return [];
  }

  const wanted: number[] = [];
  for (const r of refs) wanted.push(backendIdOf(c, r));
  const slots = assignSlots(wanted, curIds);
  for (let s = 1; s <= slots.length; s++) {
    const id = slots[s - 1] as number;
    // Beyond the current count only a full plan can meet a (stale) entry.
    const held = row !== undefined && (s <= curCount || !c.partial) && row.has(s);
    if (held) c.hits.services++;
    if (!held || !row.isBackendSlot(s, id, rev)) {
      c.out.add('slots', { map: 'services', op: 'update', key: key(s), value: { backendId: id, count: 0, flags: 0, revNatIndex: rev, affinityTimeout: 0 } });
    }
    ref(c, id, 1);
  }
  const head: Lb4Service = { backendId: 0, count: slots.length, flags, revNatIndex: rev, affinityTimeout };
  if (has0) c.hits.services++;
  if (!has0 || !row.equals(0, head)) {
    c.out.add(scope === LB_LOOKUP_SCOPE_EXT ? 'slot0Ext' : 'slot0Int', { map: 'services', op: 'update', key: key(0), value: head });
  }
  if (c.partial) {
    for (let s = slots.length + 1; s <= curCount; s++) {
      if (curIds[s - 1] !== undefined) c.out.add('beyondCount', { map: 'services', op: 'delete', key: key(s) });
    }
  } else {
    c.keptScopes.set(prefix, slots.length);
  }
  return slots;
}

function planSourceRanges(c: DiffContext, rev: number, ranges: readonly string[]): void {
  const phase: Phase = 'sourceRanges';
  for (const cidr of ranges) {
    const k = `${rev}|${cidr}`;
    if (!c.current.sourceRanges.has(k)) c.out.add(phase, { map: 'sourceRanges', op: 'update', key: { revNatIndex: rev, cidr }, value: 1 });
    if (!c.partial) c.keptRanges.add(k);
  }
  if (c.partial) {
    const wanted = new Set(ranges);
    for (const cidr of c.rangesByRev.get(rev) ?? []) {
      if (!wanted.has(cidr)) c.out.add('sourceRangesDelete', { map: 'sourceRanges', op: 'delete', key: { revNatIndex: rev, cidr } });
    }
  }
  if (ranges.length > 0) c.rangesByRev.set(rev, ranges);
  else c.rangesByRev.delete(rev);
}

/** A frontend's slot-0 entry (EXT's, else INT's), as the maps hold it. */
export function headOf(current: EbpfMapsContent, fid: string): Lb4Service | undefined {
  return current.services.scope(scopePrefix(fid, LB_LOOKUP_SCOPE_EXT))?.value(0) ?? current.services.scope(scopePrefix(fid, LB_LOOKUP_SCOPE_INT))?.value(0);
}

/** Plans one frontend: `spec` undefined removes it (partial plans; full plans sweep instead). */
export function planFrontend(c: DiffContext, fe: Frontend, spec: FrontendSpec | undefined): void {
  if (spec === undefined) {
    if (!c.partial) return;
    const head = headOf(c.current, fe.id);
    planScope(c, fe, LB_LOOKUP_SCOPE_EXT, undefined, 0, 0, 0);
    planScope(c, fe, LB_LOOKUP_SCOPE_INT, undefined, 0, 0, 0);
    if (head === undefined) return;
    const rev = head.revNatIndex;
    if (c.current.revNat.has(rev)) c.out.add('revNatDelete', { map: 'revNat', op: 'delete', key: rev, ...familyTag(fe.address) });
    planSourceRanges(c, rev, []);
    if (c.current.maglev.has(rev)) c.out.add('maglevDelete', { map: 'maglev', op: 'delete', key: rev });
    c.revAlloc.freed(rev);
    return;
  }

  const rev = c.recoverRevNat(spec) ?? c.revAlloc.next();
  // INT before EXT, as their slot-0 entries are written: EXT's TWO_SCOPES flag points at INT.
  planScope(c, fe, LB_LOOKUP_SCOPE_INT, spec.int, rev, spec.intFlags, spec.affinityTimeout);
  const ext = planScope(c, fe, LB_LOOKUP_SCOPE_EXT, spec.ext, rev, spec.extFlags, spec.affinityTimeout);

  const nat = c.current.revNat.get(rev);
  if (nat === undefined || nat.address !== spec.address || nat.port !== spec.port) {
    c.out.add('revNat', { map: 'revNat', op: 'update', key: rev, value: { address: spec.address, port: spec.port } });
  }
  if (!c.partial) c.keptRevNat.add(rev);
  planSourceRanges(c, rev, spec.sourceRanges);

  const cur = c.current.maglev.get(rev);
  if (c.maglev && ext.length > 0) {
    const table = maglevTable(spec.ext.map((r) => ({ id: c.backendIds.get(r.key) as number, identity: backendKeyString(r) })));
    if (cur === undefined || !sameTable(cur, table)) c.out.add('maglev', { map: 'maglev', op: 'update', key: rev, value: table });
    if (!c.partial) c.keptMaglev.add(rev);
  } else if (c.partial && cur !== undefined) {
    c.out.add('maglevDelete', { map: 'maglev', op: 'delete', key: rev });
  }
}
