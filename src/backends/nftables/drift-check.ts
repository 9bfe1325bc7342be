// The periodic drift check of the nftables mode: the table read back as counts (rules per
// chain, elements per set or map, over netlink dumps, see src/kernel/netlink/nftables-dump.ts)
// against what the committed memo holds. A chain or set gone or added, a rule deleted or
// inserted, an element deleted or added is found; an element or rule edited in place is not,
// until the hourly full sync.
import { countsElements, pairs } from './committed-ports.js';
import type { NftMemo } from './planner.js';

export interface NftTableCounts {
  /** Every chain of the table with its number of rules. */
  readonly chains: ReadonlyMap<string, number>;
  /** Elements per set asked for; a set the kernel does not have is absent. */
  readonly elements: ReadonlyMap<string, number>;
}

/** What the memo committed, as counts; sets whose element count the kernel owns (dynamic, timeout) or merges (interval) are only checked for presence. */
export interface NftExpected {
  readonly chains: Map<string, number>;
  readonly sets: readonly string[];
  readonly elements: Map<string, number>;
}

export function expectedCounts(memo: NftMemo): NftExpected {
  const chains = new Map<string, number>();
  const sets: string[] = [];
  const elements = new Map<string, number>();
  for (const c of memo.base.chains) chains.set(c.name, c.rules.length);
  // The shared maps hold one element per claimed key, and the node-wide elements (nodeport-addresses).
  for (const s of memo.base.sets) {
    sets.push(s.name);
    if (countsElements(s)) elements.set(s.name, memo.claims.count(s.name) + memo.base.elements.filter((e) => e.set === s.name).length);
  }
  for (const port of memo.ports.values()) {
    for (const [name, n] of pairs(port.chains)) chains.set(name, n);
    for (const [name, n] of pairs(port.sets)) {
      sets.push(name);
      if (n >= 0) elements.set(name, n);
    }
  }
  return { chains, sets, elements };
}

const MAX_NAMED = 10;

function named(what: string, names: readonly string[]): string {
  return `${what}: ${names.slice(0, MAX_NAMED).join(', ')}${names.length > MAX_NAMED ? ` and ${names.length - MAX_NAMED} more` : ''}`;
}

/** The differences between the kernel's counts and the memo's (empty: no drift). */
export function nftDrift(expected: NftExpected, got: NftTableCounts): string[] {
  const out: string[] = [];
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [chain, n] of expected.chains) {
    const have = got.chains.get(chain);
    if (have === undefined) missing.push(chain);
    else if (have !== n) changed.push(`${chain} (${have} rules, ${n} committed)`);
  }
  const extra = [...got.chains.keys()].filter((c) => !expected.chains.has(c));
  if (missing.length > 0) out.push(named('chains missing', missing));
  if (extra.length > 0) out.push(named('chains not in the last sync', extra));
  if (changed.length > 0) out.push(named('chains whose rules changed', changed));
  const setsMissing = expected.sets.filter((s) => !got.elements.has(s));
  if (setsMissing.length > 0) out.push(named('sets or maps missing', setsMissing));
  const elementsChanged: string[] = [];
  for (const [set, n] of expected.elements) {
    const have = got.elements.get(set);
    if (have !== undefined && have !== n) elementsChanged.push(`${set} (${have} elements, ${n} committed)`);
  }
  if (elementsChanged.length > 0) out.push(named('sets or maps whose elements changed', elementsChanged));
  return out;
}
