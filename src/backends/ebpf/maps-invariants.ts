// What must hold of the maps between any two writes for every lookup the
// programs make to be whole: a slot-0 entry's rev-nat entry, slots, backends,
// INT lookup and Maglev table all exist. Used by the ordering tests after each
// op, and usable on a kernel dump.
import { scopePrefix, frontendId, type EbpfMapsContent } from './maps-content.js';
import { LB_LOOKUP_SCOPE_INT, SVC_FLAG_MAGLEV, SVC_FLAG_TWO_SCOPES } from './map-types.js';

/** Problems with the maps as the programs would see them; empty when every lookup is whole. */
export function lookupProblems(c: EbpfMapsContent, opts: { limit?: number; tableIds?: WeakMap<Uint32Array, readonly number[]> } = {}): string[] {
  const limit = opts.limit ?? 10;
  // A table's distinct ids: 16,381 entries hold a handful; cached by the caller across checks of the same table.
  const idsOf = (table: Uint32Array): readonly number[] => {
    let ids = opts.tableIds?.get(table);
    if (ids === undefined) {
      ids = [...new Set(table)];
      opts.tableIds?.set(table, ids);
    }
    return ids;
  };
  const problems: string[] = [];
  for (const [k, { key, value }] of c.services.entries()) {
    if (problems.length >= limit) break;
    if (key.slot !== 0) continue;
    const prefix = scopePrefix(frontendId(key.address, key.port, key.proto), key.scope);
    if (!c.revNat.has(value.revNatIndex)) problems.push(`${k}: rev-nat ${value.revNatIndex} missing`);
    for (let s = 1; s <= value.count; s++) {
      const slot = c.services.get(`${prefix}/${s}`);
      if (slot === undefined) problems.push(`${k}: slot ${s} of ${value.count} missing`);
      else if (!c.backends.has(slot.value.backendId)) problems.push(`${k}: slot ${s} -> backend ${slot.value.backendId} missing`);
    }
    if ((value.flags & SVC_FLAG_TWO_SCOPES) !== 0) {
      const fid = frontendId(key.address, key.port, key.proto);
      if (!c.services.has(`${scopePrefix(fid, LB_LOOKUP_SCOPE_INT)}/0`)) problems.push(`${k}: TWO_SCOPES without an INT entry`);
    }
    if ((value.flags & SVC_FLAG_MAGLEV) !== 0 && value.count > 0) {
      const table = c.maglev.get(value.revNatIndex);
      if (table === undefined) problems.push(`${k}: Maglev table ${value.revNatIndex} missing`);
      else if (idsOf(table).some((id) => !c.backends.has(id))) problems.push(`${k}: Maglev table ${value.revNatIndex} names a missing backend`);
    }
  }
  return problems;
}
