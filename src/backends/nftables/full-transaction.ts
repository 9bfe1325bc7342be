// The full sync's transaction: the whole table rewritten in one atomic step.
// Rules are flushed and re-added, the verdict maps refilled; chains and sets
// the kernel holds but the plan does not want are deleted, and objects whose
// definition drifted (a base chain's hook, a set's timeout) are re-created.
// Affinity sets are never flushed (clients keep their endpoints), and NAT
// bindings live in conntrack, so established connections survive.
import type { NftChainInfo, NftSetInfo } from '../../kernel/nft.js';
import { AFFINITY_PREFIX } from './names.js';
import type { NftChain, NftElement, NftSet } from './objects.js';
import { ElementCommandBuffer } from './partial-ops.js';
import { heldElements, renderedPorts, type NftMemo } from './planner.js';
import { NftCommands, renderElement } from './render.js';

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
 * Lines joined a hundred at a time as they come: flat text instead of many small (cons)
 * strings, joined before they live long enough to be promoted to the old generation.
 */
class Lines {
  readonly #chunks: string[] = [];
  #pending: string[] = [];

  push(line: string): void {
    this.#pending.push(line);
    if (this.#pending.length === 100) this.#flush();
  }

  /** The lines so far, as chunks of newline-separated lines. */
  chunks(): string[] {
    this.#flush();
    return this.#chunks;
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#chunks.push(this.#pending.join('\n'));
    this.#pending = [];
  }
}

/**
 * `recreate` deletes and re-creates the table instead (the fallback when a rewrite failed,
 * e.g. an object changed by hand in a way `add` cannot reconcile); affinity state is lost then.
 * Each service port is rendered once, straight into the script's sections, so that only text is
 * held at once, never every port's typed objects.
 */
export function fullTransaction(memo: NftMemo, existing: ExistingTable | undefined, opts: { readonly recreate?: boolean } = {}): FullTransaction {
  const cmd = new NftCommands(memo.family, memo.table);
  const have = opts.recreate === true ? undefined : existing;
  const haveChains = new Map((have?.chains ?? []).map((c) => [c.name, c]));
  const haveSets = new Map((have?.sets ?? []).map((s) => [s.name, s]));
  // Per name, whether the (last) wanted definition matches what the kernel holds.
  const chainKept = new Map<string, boolean>();
  const setKept = new Map<string, boolean>();
  const addSets = new Lines();
  const flushSets = new Lines();
  const addChains = new Lines();
  const ruleLines = new Lines();
  const elementCommands = new ElementCommandBuffer(cmd);
  let chains = 0;
  let rules = 0;
  let elements = 0;
  const chain = (c: NftChain): void => {
    const h = haveChains.get(c.name);
    chainKept.set(c.name, h !== undefined && sameChain(c, h));
    addChains.push(cmd.addChain(c));
    for (const r of cmd.chainRules(c)) ruleLines.push(r);
    chains++;
    rules += c.rules.length;
  };
  const set = (s: NftSet): void => {
    const h = haveSets.get(s.name);
    setKept.set(s.name, h !== undefined && sameSet(s, h));
    addSets.push(cmd.addSet(s));
    // Refill the maps and static sets; affinity sets keep their clients.
    if (!s.name.startsWith(AFFINITY_PREFIX)) flushSets.push(cmd.flushSet(s));
  };
  const element = (e: NftElement): void => {
    elementCommands.push(e.set, renderElement(e));
    elements++;
  };
  memo.base.sets.forEach(set);
  memo.base.chains.forEach(chain);
  memo.base.elements.forEach(element);
  for (const [key, r] of renderedPorts(memo)) {
    r.fragment.sets.forEach(set);
    r.fragment.chains.forEach(chain);
    for (const e of heldElements(memo, key, r)) element(e);
    for (const name of r.owned) elementCommands.seal(name);
  }

  const lines: string[] = [cmd.addTable(TABLE_COMMENT)];
  if (opts.recreate === true) lines.push(cmd.deleteTable(), cmd.addTable(TABLE_COMMENT));
  else lines.push(cmd.flushTable());
  let setsDeleted = 0;
  let chainsDeleted = 0;
  for (const s of have?.sets ?? []) {
    if (setKept.get(s.name) === true) continue;
    lines.push(cmd.deleteSet(s.name, s.map !== undefined));
    setsDeleted++;
  }
  lines.push(...addSets.chunks(), ...flushSets.chunks());
  for (const c of have?.chains ?? []) {
    if (chainKept.get(c.name) === true) continue;
    lines.push(cmd.deleteChain(c.name));
    chainsDeleted++;
  }
  lines.push(...addChains.chunks(), ...ruleLines.chunks(), ...elementCommands.commands());
  return { script: `${lines.join('\n')}\n`, stats: { chains, rules, elements, chainsDeleted, setsDeleted } };
}
