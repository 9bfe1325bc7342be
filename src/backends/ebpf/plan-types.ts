// What planEbpf takes and returns.
import type { ClaimBook } from '../../state/claims.js';
import type { EbpfAlgorithm } from './frontends.js';
import type { BackendKey, EbpfMapName, EbpfMapsContent, EbpfOp } from './maps-content.js';
import type { MapOpCounts } from './ops-builder.js';

export interface EbpfPlanOptions {
  readonly algorithm: EbpfAlgorithm;
  /**
   * IPv4 service-port keys changed (added, modified, removed) since `memo` was planned
   * (StateChanges.IPv4). With a memo from the same options, only their frontends are
   * planned and `current` must be the content that memo came with; otherwise the plan is full.
   */
  readonly changed?: ReadonlySet<string>;
  /** IPv6 service-port keys changed (StateChanges.IPv6), as `changed`; absent: none. */
  readonly changedIPv6?: ReadonlySet<string>;
  readonly memo?: EbpfPlanMemo;
  /**
   * Update `current` and `memo` in place and return them, instead of copies: a partial plan then
   * costs O(changes), not O(maps). The caller must not reuse them if applying the ops fails
   * (plan fully from a kernel dump instead).
   */
  readonly inPlace?: boolean;
}

/**
 * What a partial plan needs beyond the map contents: who claims which frontend and
 * the backend index. Owned by the planner; pass back the one returned with the content.
 */
export interface EbpfPlanMemo {
  readonly optionsKey: string;
  /** Frontend id -> the service ports that want it (the first by key owns it). IPv6 port keys end in '|IPv6'. */
  readonly claims: ClaimBook<string>;
  /** Service port key -> the frontend ids it wants. */
  readonly byPort: Map<string, readonly string[]>;
  /** backendKey -> backend id, for every backend in the maps. */
  readonly backendIds: Map<BackendKey, number>;
  /** Backend id -> slot references. */
  readonly refs: Map<number, number>;
  /** rev_nat_index -> source ranges. */
  readonly rangesByRev: Map<number, readonly string[]>;
  /** Ids below these are all in use. */
  readonly floors: { readonly backend: number; readonly revNat: number };
}

export interface EbpfPlanStats {
  readonly kind: 'full' | 'partial';
  /** Service ports planned, both families (all of them in a full plan, the changed ones in a partial one). */
  readonly servicePorts: number;
  /** Of which IPv6. */
  readonly ipv6ServicePorts: number;
  /** Frontends planned. */
  readonly frontends: number;
  /** Frontends wanted by more than one service port (the first in key order has it), in the whole state. */
  readonly frontendConflicts: number;
  readonly maglevTables: number;
  readonly ops: number;
  readonly byMap: Readonly<Record<EbpfMapName, MapOpCounts>>;
}

export interface EbpfPlan {
  /** Apply in this order, one at a time: no lookup ever sees a half-written service. */
  readonly ops: readonly EbpfOp[];
  /** The maps once every op is applied: the backend's copy for the next partial plan. `current` itself when there is no op (or inPlace). */
  readonly content: EbpfMapsContent;
  readonly memo: EbpfPlanMemo;
  readonly stats: EbpfPlanStats;
}
