// Collects a plan's ops by phase and hands them out in the one order that keeps
// every lookup whole: what a service entry points to is written before the
// entry, and removed only after nothing points to it any more.
import type { EbpfMapName, EbpfOp } from './maps-content.js';
import { EbpfPlanError } from './plan-errors.js';

export const PHASES = [
  // Writes: referenced records first, slot-0 entries last (INT before EXT: EXT's TWO_SCOPES points at INT).
  'backends', 'revNat', 'sourceRanges', 'maglev', 'slots', 'slot0Int', 'slot0Ext',
  // Removals: entry points first (EXT before INT), then what they pointed to.
  'removedSlot0Ext', 'removedSlot0Int', 'removedSlots', 'beyondCount',
  'revNatDelete', 'sourceRangesDelete', 'maglevDelete', 'backendsDelete',
] as const;
export type Phase = (typeof PHASES)[number];

export interface MapOpCounts {
  updates: number;
  deletes: number;
}

export class OpsBuilder {
  private readonly buckets = new Map<Phase, EbpfOp[]>(PHASES.map((p) => [p, []]));
  readonly counts: Record<EbpfMapName, MapOpCounts> = {
    services: { updates: 0, deletes: 0 },
    backends: { updates: 0, deletes: 0 },
    revNat: { updates: 0, deletes: 0 },
    sourceRanges: { updates: 0, deletes: 0 },
    maglev: { updates: 0, deletes: 0 },
  };

  add(phase: Phase, op: EbpfOp): void {
    (this.buckets.get(phase) as EbpfOp[]).push(op);
    const c = this.counts[op.map];
    if (op.op === 'update') c.updates++;
    else c.deletes++;
  }

  ops(): EbpfOp[] {
    const out: EbpfOp[] = [];
    for (const p of PHASES) for (const op of this.buckets.get(p) as EbpfOp[]) out.push(op);
    return out;
  }
}

/**
 * Hands out the lowest free ids, monotonically within one plan: an id freed by
 * this plan is deleted only at its end, so reusing it earlier would let a stale
 * entry point at a new record.
 */
export class IdAllocator {
  private cursor: number;
  private lowestFreed = Infinity;

  /** `floor`: every id below it is known to be in use. */
  constructor(private readonly what: string, private readonly inUse: (id: number) => boolean, floor = 1, private readonly max = 0xffffffff) {
    this.cursor = Math.max(1, floor);
  }

  next(): number {
    while (this.inUse(this.cursor)) this.cursor++;
    if (this.cursor > this.max) throw new EbpfPlanError('SVCPLANE_EBPF_ID_SPACE_EXHAUSTED', `no free ${this.what} id up to ${this.max}`);
    return this.cursor++;
  }

  freed(id: number): void {
    if (id < this.lowestFreed) this.lowestFreed = id;
  }

  /** The next plan's floor: ids below it are in use once this plan is applied. */
  floorAfter(): number {
    return Math.min(this.cursor, this.lowestFreed);
  }
}
