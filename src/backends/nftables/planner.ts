// Pure planning for one family's table: desired state -> the committed object
// set (a memo of the committed service ports), and the nft transactions that
// make the kernel hold it: whole-table rewrites for full syncs, element-level
// edits of the changed service ports for partial ones.
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { FamilyState, ServicePortState } from '../../state/types.js';
import { changedPorts, checkFamily, optionsKey, type ChangeWalk } from '../common/partial-sync.js';
import { nodeFamilyEnv, type NodeFamilyEnv } from '../../state/service-policy.js';
import { baseObjects, type BaseObjects } from './base-objects.js';
import { committedPort, renderPort, type CommittedPort, type RenderedPort } from './committed-ports.js';
import { SharedClaims } from './element-claims.js';
import { NftablesPlanError } from './errors.js';
import { CLUSTER_IPS_CHECK_CHAIN, ENDPOINTS_CHECK_CHAIN, FIREWALL_CHECK_CHAIN, FIREWALL_PREFIX, REJECT_CHAIN } from './names.js';
import { TABLE_NAME, elementKey, nftFamily, type NftChain, type NftElement, type NftFamily, type NftObjects, type NftSet } from './objects.js';
import { chainText, renderElement } from './render.js';
import { renderOps, type NftOp } from './partial-ops.js';
import type { ServiceFragment } from './service-objects.js';

export interface NftPlannerOptions {
  readonly family: IPFamily;
  readonly ctx: NodeContext;
}

export interface RuleCounts {
  readonly nat: number;
  readonly filter: number;
}

/**
 * What was committed (or is about to be): enough to plan the next partial sync, render the
 * full transaction and count what the kernel should hold. Per service port it keeps the
 * port's state and counts, not its rendered objects (committed-ports.ts).
 */
export interface NftMemo {
  readonly family: NftFamily;
  readonly table: string;
  /** Node-wide inputs; a change makes the next sync full. */
  readonly optionsKey: string;
  /** What the ports are rendered with (equal options keys: equal environments). */
  readonly env: NodeFamilyEnv;
  readonly base: BaseObjects;
  /** In service-port key order after a full plan; partial plans append new ports. */
  readonly ports: ReadonlyMap<string, CommittedPort>;
  /** Owners of the shared maps' elements; a port's own sets' elements are its alone. */
  readonly claims: SharedClaims;
  readonly rules: RuleCounts;
}

function memoOptionsKey(opts: NftPlannerOptions): string {
  return optionsKey(nodeFamilyEnv(opts.family, opts.ctx).key, opts.ctx.masqueradeBit);
}

function familyWalk(family: IPFamily): Pick<ChangeWalk<unknown>, 'family' | 'mismatch'> {
  return { family, mismatch: (key, got) => new NftablesPlanError('SVCPLANE_NFTABLES_FAMILY_MISMATCH', `service port ${key} is ${got}, the plan is for ${family}`) };
}

/** Filter-side chains (the rest are nat-side), for rule-count metrics. */
export function isFilterChain(c: NftChain): boolean {
  if (c.base !== undefined) return c.base.type === 'filter';
  return c.name === ENDPOINTS_CHECK_CHAIN || c.name === CLUSTER_IPS_CHECK_CHAIN || c.name === REJECT_CHAIN || c.name.startsWith(FIREWALL_PREFIX) || c.name === FIREWALL_CHECK_CHAIN;
}

function countRules(chains: Iterable<NftChain>, sign: 1 | -1, into: { nat: number; filter: number }): void {
  for (const c of chains) {
    if (isFilterChain(c)) into.filter += sign * c.rules.length;
    else into.nat += sign * c.rules.length;
  }
}

/** Sees a full plan's objects as they are planned (the full transaction, without rendering every port again). */
export interface FullPlanVisitor {
  base(base: BaseObjects): void;
  port(key: string, r: RenderedPort, claims: SharedClaims): void;
}

/** The memo of a full plan: every service port, in key order. */
export function planFull(state: FamilyState, opts: NftPlannerOptions, visitor?: FullPlanVisitor): NftMemo {
  const env = nodeFamilyEnv(opts.family, opts.ctx);
  const base = baseObjects(env, opts.ctx.masqueradeBit);
  const ports = new Map<string, CommittedPort>();
  const claims = new SharedClaims();
  const rules = { nat: 0, filter: 0 };
  countRules(base.chains, 1, rules);
  visitor?.base(base);
  for (const key of [...state.keys()].sort()) {
    const sp = state.get(key);
    if (sp === undefined) continue;
    checkFamily(key, sp, familyWalk(opts.family));
    const r = renderPort(sp, env);
    ports.set(key, committedPort(sp, r));
    for (const [set, keys] of r.elements) if (!r.owned.has(set)) for (const k of keys.keys()) claims.add(set, k, key);
    countRules(r.fragment.chains, 1, rules);
    // Claims in key order: no later port can take this one's keys, so its owners are final.
    visitor?.port(key, r, claims);
  }
  return { family: nftFamily(opts.family), table: TABLE_NAME, optionsKey: memoOptionsKey(opts), env, base, ports, claims, rules };
}

/** Every committed port rendered again, one at a time, in memo order (each is garbage once the caller moves on). */
export function* renderedPorts(memo: NftMemo): Generator<[string, RenderedPort]> {
  for (const [key, port] of memo.ports) yield [key, renderPort(port.sp, memo.env)];
}

/** A committed port's objects (tests, tools). */
export function memoFragment(memo: NftMemo, key: string): ServiceFragment | undefined {
  const port = memo.ports.get(key);
  return port === undefined ? undefined : renderPort(port.sp, memo.env).fragment;
}

/** The elements of a rendered port the table holds: its own sets' and the shared keys it owns, in the port's order. */
export function* heldElements(claims: SharedClaims, key: string, r: RenderedPort): Generator<NftElement> {
  for (const [set, keys] of r.elements) {
    const own = r.owned.has(set);
    for (const [k, e] of keys) if (own || claims.owner(set, k) === key) yield e;
  }
}

/** The object set a memo stands for (for the tracer and for read-back checks). */
export function memoObjects(memo: NftMemo): NftObjects {
  const chains = new Map<string, NftChain>();
  const sets = new Map<string, NftSet>();
  const elements = new Map<string, Map<string, NftElement>>();
  for (const c of memo.base.chains) chains.set(c.name, c);
  for (const s of memo.base.sets) {
    sets.set(s.name, s);
    elements.set(s.name, new Map());
  }
  const held: NftElement[] = [...memo.base.elements];
  for (const [key, r] of renderedPorts(memo)) {
    for (const c of r.fragment.chains) chains.set(c.name, c);
    for (const s of r.fragment.sets) {
      sets.set(s.name, s);
      elements.set(s.name, new Map());
    }
    held.push(...heldElements(memo.claims, key, r));
  }
  for (const e of held) elements.get(e.set)?.set(elementKey(e.key), e);
  return { family: memo.family, table: memo.table, chains, sets, elements };
}

export interface PartialPlan {
  readonly kind: 'partial';
  /** What changes, in order (empty when nothing changed in the kernel). */
  readonly ops: readonly NftOp[];
  /** The same as one nft transaction ('' when nothing changed), rendered when read: syncs send `ops` as netlink. */
  readonly script: string;
  readonly memo: NftMemo;
  readonly stats: PlanStats;
}

export interface PlanStats {
  readonly chainsWritten: number;
  readonly chainsDeleted: number;
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
}

function sameSet(a: NftSet, b: NftSet): boolean {
  return a.type === b.type && a.map === b.map && a.data === b.data && a.protocol === b.protocol && a.timeout === b.timeout && (a.flags ?? []).join() === (b.flags ?? []).join();
}

/**
 * Only the service ports in `changed` are re-planned. The transaction edits exactly their
 * objects, in an order the kernel accepts: elements pointing at chains go first, chains are
 * flushed before the chains and sets they reference are deleted, new sets and chains exist
 * before rules and elements refer to them. Returns undefined when node-wide options changed
 * (the caller must sync fully). `inPlace`: `previous` is updated and must not be used again
 * except through the returned memo.
 */
export function planPartial(
  state: FamilyState, changed: ReadonlySet<string>, previous: NftMemo, opts: NftPlannerOptions, mode: { readonly inPlace?: boolean } = {},
): PartialPlan | undefined {
  if (previous.family !== nftFamily(opts.family)) {
    throw new NftablesPlanError('SVCPLANE_NFTABLES_FAMILY_MISMATCH', `memo is for ${previous.family}, the plan is for ${opts.family}`);
  }
  if (memoOptionsKey(opts) !== previous.optionsKey) return undefined;
  const env = previous.env;
  // In place: the caller gives up `previous` (copying 10,000 ports and their claims costs 20-90 ms).
  // Memos are only ever built by this module, from real Maps.
  const ports = mode.inPlace === true ? (previous.ports as Map<string, CommittedPort>) : new Map(previous.ports);
  const claims = mode.inPlace === true ? previous.claims : new SharedClaims(previous.claims);
  const rules = { ...previous.rules };
  // Ports rendered as committed: each changed one before `ports` is edited, and the owners of touched shared keys.
  // (undefined: not committed; cached too, so that a port new in this plan never reads as committed once added.)
  const committed = new Map<string, RenderedPort | undefined>();
  const asCommitted = (key: string): RenderedPort | undefined => {
    if (committed.has(key)) return committed.get(key);
    const port = ports.get(key);
    const r = port === undefined ? undefined : renderPort(port.sp, env);
    committed.set(key, r);
    return r;
  };
  const planned = new Map<string, RenderedPort | undefined>();
  /** Per touched element (`set key`): its element before, and the port whose own set holds it (undefined: a shared map). */
  const before = new Map<string, { readonly set: string; readonly key: string; readonly was: NftElement | undefined; readonly ownedBy: string | undefined }>();
  const touch = (port: string, r: RenderedPort, e: NftElement): [string, string, boolean] => {
    const k = elementKey(e.key);
    const own = r.owned.has(e.set);
    const id = `${e.set} ${k}`;
    if (!before.has(id)) {
      const owner = own ? undefined : claims.owner(e.set, k);
      const was = own ? committed.get(port)?.elements.get(e.set)?.get(k) : owner === undefined ? undefined : asCommitted(owner)?.elements.get(e.set)?.get(k);
      before.set(id, { set: e.set, key: k, was, ownedBy: own ? port : undefined });
    }
    return [e.set, k, own];
  };
  const flush: string[] = [];
  const deleteChains: string[] = [];
  const deleteSets: NftSet[] = [];
  const addSets: NftSet[] = [];
  const addChains: NftChain[] = [];
  const write: NftChain[] = [];

  const walk = { ...familyWalk(opts.family), render: (sp: ServicePortState) => renderPort(sp, env) };
  for (const { key, sp, old, next } of changedPorts(changed, state, { get: asCommitted }, walk)) {
    planned.set(key, next);
    if (sp === undefined || next === undefined) ports.delete(key);
    else ports.set(key, committedPort(sp, next));

    for (const e of old?.fragment.elements ?? []) {
      const [set, k, own] = touch(key, old as RenderedPort, e);
      if (!own) claims.remove(set, k, key);
    }
    for (const e of next?.fragment.elements ?? []) {
      const [set, k, own] = touch(key, next as RenderedPort, e);
      if (!own) claims.add(set, k, key);
    }

    const oldSets = new Map((old?.fragment.sets ?? []).map((s) => [s.name, s]));
    const newSets = new Map((next?.fragment.sets ?? []).map((s) => [s.name, s]));
    let setRedefined = false;
    for (const [name, s] of oldSets) {
      const n = newSets.get(name);
      if (n === undefined || !sameSet(s, n)) deleteSets.push(s);
      if (n !== undefined && !sameSet(s, n)) setRedefined = true;
    }
    for (const [name, s] of newSets) {
      const o = oldSets.get(name);
      if (o === undefined || !sameSet(o, s)) addSets.push(s);
    }

    const oldChains = new Map((old?.fragment.chains ?? []).map((c) => [c.name, c]));
    const newNames = new Set((next?.fragment.chains ?? []).map((c) => c.name));
    for (const c of next?.fragment.chains ?? []) {
      const o = oldChains.get(c.name);
      if (o === undefined) {
        addChains.push(c);
        write.push(c);
      } else if (setRedefined || chainText(previous.family, o) !== chainText(previous.family, c)) {
        // A redefined set is deleted and re-added: every rule naming it must go first.
        flush.push(c.name);
        write.push(c);
      }
    }
    for (const name of oldChains.keys()) {
      if (newNames.has(name)) continue;
      flush.push(name);
      deleteChains.push(name);
    }
    if (old !== undefined) countRules(old.fragment.chains, -1, rules);
    if (next !== undefined) countRules(next.fragment.chains, 1, rules);
  }
  /** The element a port's rendering holds for a key: planned when the port changed, else as committed. */
  const elementOf = (port: string, set: string, k: string): NftElement | undefined =>
    (planned.has(port) ? planned.get(port) : asCommitted(port))?.elements.get(set)?.get(k);

  const removals = new Map<string, NftElement[]>();
  const additions = new Map<string, NftElement[]>();
  let elementsAdded = 0;
  let elementsDeleted = 0;
  const push = (into: Map<string, NftElement[]>, e: NftElement): void => {
    const list = into.get(e.set);
    if (list === undefined) into.set(e.set, [e]);
    else list.push(e);
  };
  for (const { set, key, was, ownedBy } of before.values()) {
    const owner = ownedBy ?? claims.owner(set, key);
    const now = owner === undefined ? undefined : elementOf(owner, set, key);
    const same = was !== undefined && now !== undefined && renderElement(was) === renderElement(now);
    if (same) continue;
    if (was !== undefined) {
      push(removals, was);
      elementsDeleted++;
    }
    if (now !== undefined) {
      push(additions, now);
      elementsAdded++;
    }
  }

  const ops: NftOp[] = [];
  for (const [set, elements] of removals) ops.push({ op: 'delete-elements', set, elements });
  for (const chain of flush) ops.push({ op: 'flush-chain', chain });
  for (const set of deleteSets) ops.push({ op: 'delete-set', set });
  for (const chain of deleteChains) ops.push({ op: 'delete-chain', chain });
  for (const set of addSets) ops.push({ op: 'add-set', set });
  for (const chain of addChains) ops.push({ op: 'add-chain', chain });
  for (const chain of write) ops.push({ op: 'add-rules', chain });
  for (const [set, elements] of additions) ops.push({ op: 'add-elements', set, elements });
  const memo: NftMemo = { ...previous, ports, claims, rules };
  return {
    kind: 'partial',
    ops,
    get script(): string {
      return renderOps(previous.family, previous.table, ops);
    },
    memo,
    stats: { chainsWritten: write.length, chainsDeleted: deleteChains.length, elementsAdded, elementsDeleted },
  };
}
