// Stable ids across restarts: backend ids and rev_nat indexes are recovered
// from what the maps hold, so conntrack, affinity and socket entries that
// carry them stay valid. Everything any entry still mentions counts as in use
// until the plan that drops it has been applied.
import { backendKey, frontendId, type BackendKey, type EbpfMapsContent } from './maps-content.js';
import { LB_LOOKUP_SCOPE_EXT } from './map-types.js';
import type { FrontendSpec } from './frontends.js';

export interface RecoveredIds {
  /** backendKey -> id (a key stored twice keeps the id slots use, else the lowest). */
  readonly backendIds: Map<BackendKey, number>;
  readonly backendInUse: (id: number) => boolean;
  readonly revNatInUse: (id: number) => boolean;
  /** The frontend's rev_nat_index: its slot-0 entries' (EXT first), else an unclaimed rev-nat entry of its address and port. */
  readonly revNatOf: (spec: FrontendSpec) => number | undefined;
}

export function recoverIds(current: EbpfMapsContent): RecoveredIds {
  const referenced = new Set<number>();
  const usedRev = new Set<number>();
  const extRev = new Map<string, number>();
  const intRev = new Map<string, number>();
  for (const row of current.services.scopes()) {
    for (const slot of row.slots()) {
      const rev = row.revNatIndex(slot) as number;
      if (rev !== 0) usedRev.add(rev);
      if (slot !== 0) referenced.add(row.backendId(slot) as number);
    }
    const rev0 = row.revNatIndex(0);
    if (rev0 === undefined || rev0 === 0) continue;
    const scoped = row.scope === LB_LOOKUP_SCOPE_EXT ? extRev : intRev;
    const fid = frontendId(row.address, row.port, row.proto);
    if (!scoped.has(fid)) scoped.set(fid, rev0);
  }
  for (const id of current.revNat.keys()) usedRev.add(id);
  for (const r of current.sourceRanges.values()) usedRev.add(r.revNatIndex);
  for (const id of current.maglev.keys()) usedRev.add(id);

  // One index per frontend and one frontend per index, EXT's word first.
  const revByFid = new Map<string, number>();
  const claimed = new Set<number>();
  for (const source of [extRev, intRev]) {
    for (const [fid, rev] of source) {
      if (revByFid.has(fid) || claimed.has(rev)) continue;
      revByFid.set(fid, rev);
      claimed.add(rev);
    }
  }
  // Rev-nat entries no service entry claims (a plan cut short): reusable by a frontend of that address and port.
  const orphans = new Map<string, number[]>();
  for (const [id, nat] of current.revNat) {
    if (claimed.has(id)) continue;
    const k = `${nat.address}:${nat.port}`;
    const list = orphans.get(k);
    if (list === undefined) orphans.set(k, [id]);
    else list.push(id);
  }
  for (const list of orphans.values()) list.sort((a, b) => a - b);

  const backendIds = new Map<BackendKey, number>();
  for (const [id, be] of current.backends) {
    const k = backendKey(be);
    const prev = backendIds.get(k);
    if (prev === undefined) {
      backendIds.set(k, id);
      continue;
    }
    const a = referenced.has(id);
    const b = referenced.has(prev);
    if ((a && !b) || (a === b && id < prev)) backendIds.set(k, id);
  }

  return {
    backendIds,
    backendInUse: (id) => current.backends.has(id) || referenced.has(id),
    revNatInUse: (id) => usedRev.has(id),
    revNatOf: (spec) => {
      const rev = revByFid.get(spec.id);
      if (rev !== undefined) return rev;
      const list = orphans.get(`${spec.address}:${spec.port}`);
      const id = list?.shift();
      if (id !== undefined) revByFid.set(spec.id, id);
      return id;
    },
  };
}

/** The lowest id >= 1 not in `ids`. */
export function lowestFree(ids: { has(id: number): boolean }): number {
  let id = 1;
  while (ids.has(id)) id++;
  return id;
}
