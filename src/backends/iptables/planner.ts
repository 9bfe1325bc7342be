// Full and partial iptables plans for one IP family. Each service port renders
// its own chains' rules straight into the batch and returns a fragment (its
// chain names and its lines in the shared top-level chains); the memo keeps
// the fragments committed last, so a partial plan re-renders only the changed
// service ports and rewrites a top-level chain only when one of their
// contributions to it changed.
import type { IPFamily } from '../../model/types.js';
import type { FamilyState, ServicePortState } from '../../state/types.js';
import { changedPorts, checkFamily, optionsKey, type ChangeWalk } from '../common/partial-sync.js';
import { BASE_CHAINS, KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_PROXY_FIREWALL_CHAIN, KUBE_SERVICES_CHAIN, isOwnChain } from './chain-names.js';
import { IptablesPlanError } from './errors.js';
import { fixedRules } from '../common/fixed-rules.js';
import { JUMP_RULES, localnetFirewall, nodePortsTail } from './base-rules.js';
import { LazySet } from './lazy-set.js';
import type { IptablesMemo, IptablesPlan, IptablesPlannerOptions, RuleBlock, ServiceFragment, TopChainId } from './plan-types.js';
import { renderRestore, isEmptySection, type TableSection } from './restore-batch.js';
import { EMPTY_BLOCK, RuleWriter } from '../common/rule-writer.js';
import { renderEnv, renderServicePort, type RenderEnv } from './service-rules.js';

export type { IptablesMemo, IptablesPlan, IptablesPlannerOptions, JumpRule } from './plan-types.js';

/** The shared top-level chains, in the order their rules are written. */
const TOP_CHAINS: readonly { readonly id: TopChainId; readonly table: 'nat' | 'filter'; readonly chain: string }[] = [
  { id: 'filterServices', table: 'filter', chain: KUBE_SERVICES_CHAIN },
  { id: 'filterExternalServices', table: 'filter', chain: KUBE_EXTERNAL_SERVICES_CHAIN },
  { id: 'filterNodePorts', table: 'filter', chain: KUBE_NODEPORTS_CHAIN },
  { id: 'filterFirewall', table: 'filter', chain: KUBE_PROXY_FIREWALL_CHAIN },
  { id: 'natServices', table: 'nat', chain: KUBE_SERVICES_CHAIN },
  { id: 'natNodePorts', table: 'nat', chain: KUBE_NODEPORTS_CHAIN },
];


/** Pieces per chunk of own-chain rules (~100 KB of text; measured fastest): see RuleWriter.take(). */
const CHUNK_PIECES = 1 << 13;

function familyWalk(family: IPFamily): Pick<ChangeWalk<unknown>, 'family' | 'mismatch'> {
  return { family, mismatch: (key, got) => new IptablesPlanError('SVCPLANE_IPTABLES_FAMILY_MISMATCH', `service port ${key} is ${got}, the plan is for ${family}`) };
}

/** All rules of one top-level chain: every fragment's block, in key order (plus the nodeports tail). */
function topChainBlocks(id: TopChainId, keys: readonly string[], fragments: ReadonlyMap<string, ServiceFragment>, env: RenderEnv): RuleBlock[] {
  const blocks: RuleBlock[] = [];
  for (const key of keys) {
    const part = fragments.get(key)?.top[id];
    if (part !== undefined && part.count > 0) blocks.push(part);
  }
  if (id === 'natServices') blocks.push(nodePortsTail(env));
  return blocks;
}

function natChainNames(fragments: ReadonlyMap<string, ServiceFragment>): string[] {
  const names: string[] = [...BASE_CHAINS.nat];
  for (const f of fragments.values()) for (const c of f.natChains) names.push(c);
  return names;
}

function totals(fragments: ReadonlyMap<string, ServiceFragment>, env: RenderEnv, masqueradeBit: number): { nat: number; filter: number } {
  const fixed = fixedRules(masqueradeBit);
  let nat = fixed.natPostrouting.count + fixed.natMarkMasq.count + nodePortsTail(env).count;
  let filter = fixed.filterForward.count + localnetFirewall(env).count;
  for (const f of fragments.values()) {
    nat += f.natRuleCount;
    filter += f.filterRuleCount;
  }
  return { nat, filter };
}

/** Chains in `existing` that are ours but not wanted, sorted. */
function staleChains(table: 'nat' | 'filter', existing: Iterable<string> | undefined, wanted: () => ReadonlySet<string>): string[] {
  if (existing === undefined) return [];
  const out = new Set<string>();
  for (const c of existing) if (isOwnChain(table, c) && !wanted().has(c)) out.add(c);
  return [...out].sort();
}

export interface FullPlanOptions {
  /**
   * Split the own chains of a full plan into transactions of this many service ports, applied
   * before the final one (`plan.prelude`). iptables-nft-restore's cost grows with the square of
   * a batch (measured: 6 s for 1,000 services x 10 endpoints in one batch, 1.5 s per 500), while
   * each service port's chains stay atomic and the top-level chains, which make new chains
   * reachable and old ones unreachable, are still rewritten in one final transaction.
   */
  readonly servicesPerTransaction?: number;
}

/** Full plan: every svcplane chain declared and written. `existing` = the KUBE-* chain names iptables-save shows now (per table); any of ours that is not wanted is flushed and deleted (only chains with our prefixes: KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW-, KUBE-SEP-, and the base chains; never other chains). */
export function planFull(state: FamilyState, opts: IptablesPlannerOptions, existing?: { nat: Iterable<string>; filter: Iterable<string> }, full: FullPlanOptions = {}): IptablesPlan {
  const env = renderEnv(opts.family, opts.ctx);
  const keys = [...state.keys()].sort();
  const perTransaction = full.servicesPerTransaction !== undefined && keys.length > full.servicesPerTransaction ? full.servicesPerTransaction : Infinity;
  const fixed = fixedRules(opts.ctx.masqueradeBit);
  const fragments = new Map<string, ServiceFragment>();
  const own = new RuleWriter();
  let ownChunks: RuleBlock[] = [];
  // Own chains jump to KUBE-MARK-MASQ: the first prelude transaction makes sure it exists.
  const prelude: string[] = perTransaction === Infinity ? [] : [renderRestore(undefined, { declare: ['KUBE-MARK-MASQ'], rules: [fixed.natMarkMasq], remove: [] })];
  let inTransaction: ServiceFragment[] = [];
  const closeTransaction = (): void => {
    ownChunks.push(own.take());
    prelude.push(renderRestore(undefined, { declare: inTransaction.flatMap((f) => f.natChains), rules: ownChunks, remove: [] }));
    ownChunks = [];
    inTransaction = [];
  };
  for (const key of keys) {
    const sp = state.get(key);
    if (sp === undefined) continue;
    checkFamily(key, sp, familyWalk(opts.family));
    const fragment = renderServicePort(sp, env, own);
    fragments.set(key, fragment);
    if (own.pending >= CHUNK_PIECES) ownChunks.push(own.take());
    if (perTransaction !== Infinity) {
      inTransaction.push(fragment);
      if (inTransaction.length >= perTransaction) closeTransaction();
    }
  }
  if (inTransaction.length > 0) closeTransaction();
  ownChunks.push(own.take());

  const natChains = natChainNames(fragments);
  const natSet = new LazySet(() => natChains);
  const filterSet: ReadonlySet<string> = new Set(BASE_CHAINS.filter);
  const filterRemove = staleChains('filter', existing?.filter, () => filterSet);
  const natRemove = staleChains('nat', existing?.nat, () => natSet);

  const topOf = (id: TopChainId): RuleBlock[] => topChainBlocks(id, keys, fragments, env);
  const filter: TableSection = {
    declare: [...BASE_CHAINS.filter, ...filterRemove],
    rules: [...topOf('filterServices'), ...topOf('filterExternalServices'), ...topOf('filterNodePorts'), fixed.filterForward, ...topOf('filterFirewall'), localnetFirewall(env)],
    remove: filterRemove,
  };
  // With a prelude the own chains are already written; the final transaction declares only the base chains.
  const natDeclared = prelude.length > 0 ? [...BASE_CHAINS.nat] : natChains;
  const nat: TableSection = {
    declare: natRemove.length === 0 ? natDeclared : [...natDeclared, ...natRemove],
    rules: [...topOf('natServices'), ...topOf('natNodePorts'), fixed.natPostrouting, fixed.natMarkMasq, ...(prelude.length > 0 ? [] : ownChunks)],
    remove: natRemove,
  };
  const restore = renderRestore(filter, nat);
  const count = totals(fragments, env, opts.ctx.masqueradeBit);
  const memo: IptablesMemo = {
    family: opts.family,
    optionsKey: optionsKey(env.key, opts.ctx.masqueradeBit),
    fragments,
    sortedKeys: fragments.size === keys.length ? keys : keys.filter((k) => fragments.has(k)),
    natRules: count.nat,
    filterRules: count.filter,
  };
  return {
    family: opts.family,
    kind: 'full',
    prelude,
    restore,
    jumps: JUMP_RULES,
    chains: { nat: natSet, filter: filterSet },
    stats: {
      chainsWritten: BASE_CHAINS.filter.length + natChains.length,
      rulesWritten: count.nat + count.filter,
      chainsDeleted: filterRemove.length + natRemove.length,
      natRules: count.nat,
      filterRules: count.filter,
    },
    memo,
  };
}

/** `sorted` without `removed`, with `added` merged in (all sorted). */
function updateKeys(sorted: readonly string[], added: readonly string[], removed: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let j = 0;
  for (const k of sorted) {
    while (j < added.length && (added[j] as string) < k) out.push(added[j++] as string);
    if (!removed.has(k)) out.push(k);
  }
  while (j < added.length) out.push(added[j++] as string);
  return out;
}

/** Partial plan: only the service ports in `changed` (keys present or removed) are re-rendered; top-level chains rewritten only when their content changed. */
export function planPartial(state: FamilyState, changed: ReadonlySet<string>, previous: IptablesMemo, opts: IptablesPlannerOptions): IptablesPlan {
  if (previous.family !== opts.family) {
    throw new IptablesPlanError('SVCPLANE_IPTABLES_FAMILY_MISMATCH', `memo is for ${previous.family}, the plan is for ${opts.family}`);
  }
  const env = renderEnv(opts.family, opts.ctx);
  const key = optionsKey(env.key, opts.ctx.masqueradeBit);
  if (key !== previous.optionsKey) {
    // Node-wide options changed: every fragment may differ. Start over, removing what the memo says we own.
    return planFull(state, opts, { nat: natChainNames(previous.fragments), filter: BASE_CHAINS.filter });
  }

  const fragments = new Map(previous.fragments);
  const own = new RuleWriter();
  const natDeclare: string[] = [];
  const natRemove: string[] = [];
  const dirty = new Set<TopChainId>();
  const added: string[] = [];
  const removed = new Set<string>();
  let { natRules, filterRules } = previous;

  // A changed service port's chains are rewritten whole, as kube-proxy does.
  const walk = { ...familyWalk(opts.family), render: (sp: ServicePortState) => renderServicePort(sp, env, own) };
  for (const { key: k, old, next } of changedPorts(changed, state, previous.fragments, walk)) {
    if (next === undefined) {
      fragments.delete(k);
      removed.add(k);
    } else {
      fragments.set(k, next);
      if (old === undefined) added.push(k);
    }

    if (next !== undefined) for (const c of next.natChains) natDeclare.push(c);
    if (old !== undefined) {
      const kept = new Set(next?.natChains);
      for (const c of old.natChains) if (!kept.has(c)) natRemove.push(c);
    }
    for (const t of TOP_CHAINS) {
      if ((old?.top[t.id] ?? EMPTY_BLOCK).text !== (next?.top[t.id] ?? EMPTY_BLOCK).text) dirty.add(t.id);
    }
    natRules += (next?.natRuleCount ?? 0) - (old?.natRuleCount ?? 0);
    filterRules += (next?.filterRuleCount ?? 0) - (old?.filterRuleCount ?? 0);
  }

  const sortedKeys = added.length === 0 && removed.size === 0 ? previous.sortedKeys : updateKeys(previous.sortedKeys, added, removed);
  const topWrites = TOP_CHAINS.filter((t) => dirty.has(t.id)).map((t) => ({ ...t, blocks: topChainBlocks(t.id, sortedKeys, fragments, env) }));
  const topOf = (table: 'nat' | 'filter') => topWrites.filter((t) => t.table === table);

  const filter: TableSection = {
    declare: topOf('filter').map((t) => t.chain),
    rules: topOf('filter').flatMap((t) => t.blocks),
    remove: [],
  };
  const nat: TableSection = {
    declare: [...topOf('nat').map((t) => t.chain), ...natDeclare, ...natRemove],
    rules: [...topOf('nat').flatMap((t) => t.blocks), own.take()],
    remove: natRemove,
  };
  const restore = renderRestore(isEmptySection(filter) ? undefined : filter, isEmptySection(nat) ? undefined : nat);

  let rulesWritten = 0;
  for (const b of [...filter.rules, ...nat.rules]) rulesWritten += b.count;
  const memo: IptablesMemo = { family: opts.family, optionsKey: key, fragments, sortedKeys, natRules, filterRules };
  return {
    family: opts.family,
    kind: 'partial',
    prelude: [],
    restore,
    jumps: JUMP_RULES,
    chains: { nat: new LazySet(() => natChainNames(fragments)), filter: new Set(BASE_CHAINS.filter) },
    stats: {
      chainsWritten: filter.declare.length + nat.declare.length - natRemove.length,
      rulesWritten,
      chainsDeleted: natRemove.length,
      natRules,
      filterRules,
    },
    memo,
  };
}
