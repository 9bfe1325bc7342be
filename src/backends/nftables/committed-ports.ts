// What the nftables memo keeps per committed service port: the port's state itself
// (the desired state's own object, which is never edited: a changed port is a new
// object) and the few counts the drift check needs. Its chains, sets and elements
// are re-rendered from that state when a partial sync or the tracer needs them,
// instead of being kept: at 10,000 services the typed objects were ~120 MB.
import type { NodeFamilyEnv } from '../../state/service-policy.js';
import type { ServicePortState } from '../../state/types.js';
import { elementKey, type NftElement, type NftSet } from './objects.js';
import { serviceFragment, type ServiceFragment } from './service-objects.js';

export interface CommittedPort {
  readonly sp: ServicePortState;
  /** Its chains as name, rule count, name, rule count, ... */
  readonly chains: readonly (string | number)[];
  /** Its own sets as name, element count, ...; -1: the kernel owns the count, only presence is checked. */
  readonly sets: readonly (string | number)[];
}

/** Sets whose element count the kernel owns (dynamic, timeout) or merges (interval). */
export function countsElements(s: NftSet): boolean {
  return !(s.flags ?? []).some((f) => f === 'interval' || f === 'dynamic' || f === 'timeout');
}

/** A fragment's elements: per set, key text -> element (a later element for a key replaces an earlier one, in its place). */
export type ElementsBySet = Map<string, Map<string, NftElement>>;

export interface RenderedPort {
  readonly fragment: ServiceFragment;
  readonly elements: ElementsBySet;
  /** The sets the fragment defines (their elements are its alone; the others are shared maps). */
  readonly owned: ReadonlySet<string>;
}

export function renderPort(sp: ServicePortState, env: NodeFamilyEnv): RenderedPort {
  const fragment = serviceFragment(sp, env);
  const elements: ElementsBySet = new Map();
  for (const e of fragment.elements) {
    let keys = elements.get(e.set);
    if (keys === undefined) {
      keys = new Map();
      elements.set(e.set, keys);
    }
    keys.set(elementKey(e.key), e);
  }
  return { fragment, elements, owned: new Set(fragment.sets.map((s) => s.name)) };
}

export function committedPort(sp: ServicePortState, r: RenderedPort): CommittedPort {
  const chains: (string | number)[] = [];
  for (const c of r.fragment.chains) chains.push(c.name, c.rules.length);
  const sets: (string | number)[] = [];
  for (const s of r.fragment.sets) sets.push(s.name, countsElements(s) ? (r.elements.get(s.name)?.size ?? 0) : -1);
  // slice(): exact-length copies (a pushed-to array keeps spare capacity: ~2.5 MB at 10,000 ports).
  return { sp, chains: chains.slice(), sets: sets.slice() };
}

/** Name/number pairs of a CommittedPort list. */
export function* pairs(flat: readonly (string | number)[]): Generator<[string, number]> {
  for (let i = 0; i + 1 < flat.length; i += 2) yield [flat[i] as string, flat[i + 1] as number];
}
