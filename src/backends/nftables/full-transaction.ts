// The full sync's transaction: the whole table rewritten in one atomic step.
// Rules are flushed and re-added, the verdict maps refilled; chains and sets
// the kernel holds but the plan does not want are deleted, and objects whose
// definition drifted (a base chain's hook, a set's timeout) are re-created.
// Affinity sets are never flushed (clients keep their endpoints), and NAT
// bindings live in conntrack, so established connections survive.
import type { NftChainInfo, NftSetInfo } from '../../kernel/nft.js';
import { AFFINITY_PREFIX } from './names.js';
import type { BaseObjects } from './base-objects.js';
import type { RenderedPort } from './committed-ports.js';
import type { SharedClaims } from './element-claims.js';
import type { NftChain, NftElement, NftFamily, NftSet } from './objects.js';
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
 * Lines joined 25 at a time as they come: flat text instead of many small (cons) strings,
 * joined before they live long enough to be promoted to the old generation, whose freed pages V8
 * keeps resident in its page pool (at 10,000 services, pieces of 100 lines left ~200 MB steady
 * RSS, pieces of 25 ~181 MB, pieces of 10 no less).
 */
class Lines {
  readonly #chunks: string[] = [];
  #pending: string[] = [];

  push(line: string): void {
    this.#pending.push(line);
    if (this.#pending.length === 25) this.#flush();
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
 */
export function fullTransaction(memo: NftMemo, existing: ExistingTable | undefined, opts: { readonly recreate?: boolean } = {}): FullTransaction {
  const b = new FullTransactionBuilder(memo.family, memo.table, existing, opts);
  b.base(memo.base);
  for (const [key, r] of renderedPorts(memo)) b.port(key, r, memo.claims);
  return b.finish();
}

/**
 * The full transaction built as the ports come (planFull can feed it the ports it renders):
 * each port goes straight into the script's sections, joined in small pieces, so that only
 * text is held, never every port's typed objects. Base objects first, then the ports in key order.
 */
export class FullTransactionBuilder {
  readonly #cmd: NftCommands;
  readonly #recreate: boolean;
  readonly #have: ExistingTable | undefined;
  readonly #haveChains: Map<string, NftChainInfo>;
  readonly #haveSets: Map<string, NftSetInfo>;
  // Per name, whether the (last) wanted definition matches what the kernel holds.
  readonly #chainKept = new Map<string, boolean>();
  readonly #setKept = new Map<string, boolean>();
  readonly #addSets = new Lines();
  readonly #flushSets = new Lines();
  readonly #addChains = new Lines();
  readonly #ruleLines = new Lines();
  readonly #elements: ElementCommandBuffer;
  #chains = 0;
  #rules = 0;
  #elementCount = 0;

  constructor(family: NftFamily, table: string, existing: ExistingTable | undefined, opts: { readonly recreate?: boolean } = {}) {
    this.#cmd = new NftCommands(family, table);
    this.#recreate = opts.recreate === true;
    this.#have = this.#recreate ? undefined : existing;
    this.#haveChains = new Map((this.#have?.chains ?? []).map((c) => [c.name, c]));
    this.#haveSets = new Map((this.#have?.sets ?? []).map((s) => [s.name, s]));
    this.#elements = new ElementCommandBuffer(this.#cmd);
  }

  base(base: BaseObjects): void {
    for (const s of base.sets) this.#set(s);
    for (const c of base.chains) this.#chain(c);
    for (const e of base.elements) this.#element(e);
  }

  /** A port's objects; `claims` must already hold every port up to this one (key order decides owners). */
  port(key: string, r: RenderedPort, claims: SharedClaims): void {
    for (const s of r.fragment.sets) this.#set(s);
    for (const c of r.fragment.chains) this.#chain(c);
    for (const e of heldElements(claims, key, r)) this.#element(e);
    for (const name of r.owned) this.#elements.seal(name);
  }

  finish(): FullTransaction {
    const cmd = this.#cmd;
    const lines: string[] = [cmd.addTable(TABLE_COMMENT)];
    if (this.#recreate) lines.push(cmd.deleteTable(), cmd.addTable(TABLE_COMMENT));
    else lines.push(cmd.flushTable());
    let setsDeleted = 0;
    let chainsDeleted = 0;
    for (const s of this.#have?.sets ?? []) {
      if (this.#setKept.get(s.name) === true) continue;
      lines.push(cmd.deleteSet(s.name, s.map !== undefined));
      setsDeleted++;
    }
    lines.push(...this.#addSets.chunks(), ...this.#flushSets.chunks());
    for (const c of this.#have?.chains ?? []) {
      if (this.#chainKept.get(c.name) === true) continue;
      lines.push(cmd.deleteChain(c.name));
      chainsDeleted++;
    }
    lines.push(...this.#addChains.chunks(), ...this.#ruleLines.chunks(), ...this.#elements.commands());
    // The final newline by join: `${text}\n` would be a cons string, flattened into a second copy when written out.
    lines.push('');
    return { script: lines.join('\n'), stats: { chains: this.#chains, rules: this.#rules, elements: this.#elementCount, chainsDeleted, setsDeleted } };
  }

  #chain(c: NftChain): void {
    const h = this.#haveChains.get(c.name);
    this.#chainKept.set(c.name, h !== undefined && sameChain(c, h));
    this.#addChains.push(this.#cmd.addChain(c));
    for (const r of this.#cmd.chainRules(c)) this.#ruleLines.push(r);
    this.#chains++;
    this.#rules += c.rules.length;
  }

  #set(s: NftSet): void {
    const h = this.#haveSets.get(s.name);
    this.#setKept.set(s.name, h !== undefined && sameSet(s, h));
    this.#addSets.push(this.#cmd.addSet(s));
    // Refill the maps and static sets; affinity sets keep their clients.
    if (!s.name.startsWith(AFFINITY_PREFIX)) this.#flushSets.push(this.#cmd.flushSet(s));
  }

  #element(e: NftElement): void {
    this.#elements.push(e.set, renderElement(e));
    this.#elementCount++;
  }
}
