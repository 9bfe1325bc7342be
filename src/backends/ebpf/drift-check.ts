// The periodic drift check of the eBPF mode: how many keys each kernel map holds (a walk of the
// keys, no value lookups) against the committed content, and the attachments (repaired on the
// spot, as a full sync would). An entry deleted or added by hand is found; a value edited in
// place is not, until the hourly full sync.
import { isIPv6Address, type EbpfMapsContent } from './maps-content.js';
import type { LbMapKey } from './ebpf-maps.js';

/** How many entries the content puts into each kernel map (IPv4 records in the lb4 maps, IPv6 in the lb6). */
export function expectedMapCounts(content: EbpfMapsContent): Record<LbMapKey, number> {
  const n: Record<LbMapKey, number> = { services: 0, backends: 0, revNat: 0, sourceRanges: 0, maglev: content.maglev.size, services6: 0, backends6: 0, revNat6: 0, sourceRanges6: 0 };
  for (const row of content.services.scopes()) n[isIPv6Address(row.address) ? 'services6' : 'services'] += row.size;
  for (const b of content.backends.values()) n[isIPv6Address(b.address) ? 'backends6' : 'backends']++;
  for (const r of content.revNat.values()) n[isIPv6Address(r.address) ? 'revNat6' : 'revNat']++;
  for (const s of content.sourceRanges.values()) n[isIPv6Address(s.cidr) ? 'sourceRanges6' : 'sourceRanges']++;
  return n;
}

/** The maps whose key count differs from the content's (empty: no drift). */
export function mapDrift(expected: Readonly<Record<LbMapKey, number>>, got: Readonly<Record<LbMapKey, number>>, names: Readonly<Record<LbMapKey, string>>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(expected) as LbMapKey[]) {
    if (got[k] !== expected[k]) out.push(`${names[k]}: ${got[k]} entries, ${expected[k]} committed`);
  }
  return out;
}
