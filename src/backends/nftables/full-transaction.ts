// The full sync's transaction: the whole table rewritten in one atomic step.
// Rules are flushed and re-added, the verdict maps refilled; chains and sets
// the kernel holds but the plan does not want are deleted, and objects whose
// definition drifted (a base chain's hook, a set's timeout) are re-created.
// Affinity sets are never flushed (clients keep their endpoints), and NAT
// bindings live in conntrack, so established connections survive.
import type { NftChainInfo, NftSetInfo } from '../../kernel/nft.js';
import { AFFINITY_PREFIX } from './names.js';
import type { NftChain, NftElement, NftSet } from './objects.js';
import { elementCommands } from './partial-ops.js';
import type { NftMemo } from './planner.js';
import { NftCommands } from './render.js';

/** What the kernel's table holds now (undefined: no table). */
export interface ExistingTable {
  readonly chains: readonly NftChainInfo[];
  readonly sets: readonly NftSetInfo[];
}

export interface FullTransaction {
  readonly script: string;
  readonly stats: { readonly chains: number; readonly rules: number; readonly elements: number; readonly chainsDeleted: number; readonly setsDeleted: number };
}

export const TABLE_COMMENT = 'rules for svcplane (kube-proxy nftables mode semantics)';

function sameChain(want: NftChain, have: NftChainInfo): boolean {
  if (want.base === undefined) return have.hook === undefined;
  return have.type === want.base.type && have.hook === want.base.hook && have.priority === want.base.priority;
}

function sameSet(want: NftSet, have: NftSetInfo): boolean {
  return (
    want.type === have.type &&
    (want.map === 'verdict') === (have.map === 'verdict') &&
    (want.map === 'endpoints' ? have.map === want.data : true) &&
    want.timeout === have.timeout &&
    (want.flags ?? []).includes('interval') === have.flags.includes('interval')
  );
}

/**
 * `recreate` deletes and re-creates the table instead (the fallback when a rewrite failed,
 * e.g. an object changed by hand in a way `add` cannot reconcile); affinity state is lost then.
 */
export function fullTransaction(memo: NftMemo, existing: ExistingTable | undefined, opts: { readonly recreate?: boolean } = {}): FullTransaction {
  const cmd = new NftCommands(memo.family, memo.table);
  const chains: NftChain[] = [...memo.base.chains];
  const sets: NftSet[] = [...memo.base.sets];
  for (const f of memo.fragments.values()) {
    chains.push(...f.chains);
    sets.push(...f.sets);
  }
  const lines: string[] = [cmd.addTable(TABLE_COMMENT)];
  if (opts.recreate === true) lines.push(cmd.deleteTable(), cmd.addTable(TABLE_COMMENT));
  else lines.push(cmd.flushTable());

  const have = opts.recreate === true ? undefined : existing;
  const wantedChains = new Map(chains.map((c) => [c.name, c]));
  const wantedSets = new Map(sets.map((s) => [s.name, s]));
  let setsDeleted = 0;
  let chainsDeleted = 0;
  for (const s of have?.sets ?? []) {
    const want = wantedSets.get(s.name);
    if (want !== undefined && sameSet(want, s)) continue;
    lines.push(cmd.deleteSet(s.name, s.map !== undefined));
    setsDeleted++;
  }
  for (const s of sets) lines.push(cmd.addSet(s));
  // Refill the maps and static sets; affinity sets keep their clients.
  for (const s of sets) if (!s.name.startsWith(AFFINITY_PREFIX)) lines.push(cmd.flushSet(s));
  for (const c of have?.chains ?? []) {
    const want = wantedChains.get(c.name);
    if (want !== undefined && sameChain(want, c)) continue;
    lines.push(cmd.deleteChain(c.name));
    chainsDeleted++;
  }
  let rules = 0;
  for (const c of chains) lines.push(cmd.addChain(c));
  for (const c of chains) {
    for (const r of cmd.chainRules(c)) lines.push(r);
    rules += c.rules.length;
  }
  const bySet = new Map<string, NftElement[]>();
  let elements = 0;
  for (const e of [...memo.base.elements, ...memo.claims.winners()]) {
    const list = bySet.get(e.set);
    if (list === undefined) bySet.set(e.set, [e]);
    else list.push(e);
    elements++;
  }
  for (const [set, list] of bySet) lines.push(...elementCommands(cmd, set, list));
  return { script: `${lines.join('\n')}\n`, stats: { chains: chains.length, rules, elements, chainsDeleted, setsDeleted } };
}
