// Shared by the eBPF planner's tests (planner.test.ts, planner-ipv6.test.ts); not built into
// dist (tsconfig.build.json leaves test-builders.ts out).
import { expect } from 'vitest';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState } from '../../state/types.js';
import type { EbpfAlgorithm } from './frontends.js';
import { LB_LOOKUP_SCOPE_EXT, type LookupScope } from './map-types.js';
import { emptyMapsContent, type EbpfMapsContent } from './maps-content.js';
import { lookupProblems } from './maps-invariants.js';
import { planEbpf, type EbpfPlan } from './planner.js';

/** A plan whose maps hold no lookup the programs would trip on (every plan a test makes is checked). */
export function checkedPlan(desired: DesiredState, ctx: NodeContext, current: EbpfMapsContent = emptyMapsContent(), algorithm: EbpfAlgorithm = 'random'): EbpfPlan {
  const p = planEbpf(desired, ctx, current, { algorithm });
  expect(lookupProblems(p.content)).toEqual([]);
  return p;
}

/** A lookup as the programs see it: slot 0 plus its backends as `ip:port` (`[ip]:port` for IPv6), sorted. */
export function lookup(c: EbpfMapsContent, address: string, port: number, scope: LookupScope = LB_LOOKUP_SCOPE_EXT) {
  const head = c.services.get(`${address}:${port}/TCP/${scope}/0`);
  if (head === undefined) return undefined;
  const backends: string[] = [];
  for (let s = 1; s <= head.value.count; s++) {
    const id = c.services.get(`${address}:${port}/TCP/${scope}/${s}`)?.value.backendId as number;
    const be = c.backends.get(id);
    backends.push(be === undefined ? `missing ${id}` : be.address.includes(':') ? `[${be.address}]:${be.port}` : `${be.address}:${be.port}`);
  }
  return { ...head.value, backends: backends.sort() };
}
