// The partial-sync loop every mode's planner runs: the changed service ports in key
// order, each with the fragment the memo holds and the one planned now. Modes differ
// in what a fragment is and in how they diff two of them, not in this walk.
import type { IPFamily } from '../../model/types.js';
import type { FamilyState, ServicePortState } from '../../state/types.js';

export interface PortChange<F> {
  readonly key: string;
  /** The port's state now; undefined: removed. */
  readonly sp: ServicePortState | undefined;
  /** What the memo holds for it; undefined: new. */
  readonly old: F | undefined;
  /** What it is planned as now; undefined: removed. */
  readonly next: F | undefined;
}

export interface ChangeWalk<F> {
  readonly family: IPFamily;
  /** The caller's error for a port of the other family (a caller bug: planners are per family). */
  readonly mismatch: (key: string, family: IPFamily) => Error;
  readonly render: (sp: ServicePortState) => F;
}

/** The changed ports in key order; ports absent both before and now are skipped. */
export function* changedPorts<F>(changed: Iterable<string>, state: FamilyState, memo: Pick<ReadonlyMap<string, F>, 'get'>, walk: ChangeWalk<F>): Generator<PortChange<F>> {
  for (const key of [...changed].sort()) {
    const old = memo.get(key);
    const sp = state.get(key);
    if (sp !== undefined) checkFamily(key, sp, walk);
    if (sp === undefined && old === undefined) continue;
    yield { key, sp, old, next: sp === undefined ? undefined : walk.render(sp) };
  }
}

/** Throws the caller's error when a service port is not of the plan's family. */
export function checkFamily(key: string, sp: ServicePortState, walk: Pick<ChangeWalk<unknown>, 'family' | 'mismatch'>): void {
  if (sp.family !== walk.family) throw walk.mismatch(key, sp.family);
}

/** A memo key for node-wide options: the family env's key plus the mode's own options. */
export function optionsKey(envKey: string, ...own: readonly unknown[]): string {
  return own.length === 0 ? envKey : `${envKey}|${JSON.stringify(own)}`;
}
