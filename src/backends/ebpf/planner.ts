// The eBPF mode's planner: desired state -> the ordered map writes that take
// the maps from `current` to it, writing only differences. Full plans compare
// every frontend and sweep whatever the maps hold beyond it; partial plans
// (given the changed service ports and the memo of the previous plan) look only
// at the frontends those service ports had or want. Both families are planned
// into the same content (see maps-content.ts); their frontends never collide.
import type { IPFamily } from '../../model/types.js';
import { ClaimBook } from '../../state/claims.js';
import type { NodeContext } from '../../state/node-context.js';
import type { DesiredState, ServicePortState } from '../../state/types.js';
import { headOf, planFrontend, type DiffContext } from './frontend-diff.js';
import { frontendEnv, servicePortFrontends, type FrontendEnv, type FrontendSpec } from './frontends.js';
import { lowestFree, recoverIds } from './id-recovery.js';
import { applyEbpfOps, backendKey, cloneMapsContent, familyTag, frontendId, scopePrefix, type BackendKey, type EbpfMapsContent } from './maps-content.js';
import { LB_LOOKUP_SCOPE_EXT } from './map-types.js';
import { IdAllocator, OpsBuilder } from './ops-builder.js';
import type { EbpfPlan, EbpfPlanMemo, EbpfPlanOptions } from './plan-types.js';

export type { EbpfPlan, EbpfPlanMemo, EbpfPlanOptions, EbpfPlanStats } from './plan-types.js';

type Location = Pick<FrontendSpec, 'id' | 'address' | 'port' | 'proto'>;

// Service-port keys are unique per family only: the memo qualifies IPv6 ones.
const IPV6_PORT_SUFFIX = '|IPv6';

function memoPortKey(family: IPFamily, key: string): string {
  return family === 'IPv4' ? key : `${key}${IPV6_PORT_SUFFIX}`;
}

function servicePortOf(desired: DesiredState, portKey: string): ServicePortState | undefined {
  return portKey.endsWith(IPV6_PORT_SUFFIX) ? desired.IPv6.get(portKey.slice(0, -IPV6_PORT_SUFFIX.length)) : desired.IPv4.get(portKey);
}

/** Every service port of both families, by memo key, in key order. */
function allServicePorts(desired: DesiredState): [string, ServicePortState][] {
  const out: [string, ServicePortState][] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    for (const [key, sp] of desired[family]) if (sp.family === family) out.push([memoPortKey(family, key), sp]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function newContext(current: EbpfMapsContent, out: OpsBuilder, env: FrontendEnv, partial: boolean, parts: Pick<DiffContext, 'backendIds' | 'backendAlloc' | 'revAlloc' | 'recoverRevNat' | 'refs' | 'rangesByRev'>): DiffContext {
  return {
    current, out, partial, maglev: env.algorithm === 'maglev', ...parts,
    unreferenced: new Set(), backends: new Map(), hits: { services: 0, backends: 0 }, keptScopes: new Map(), keptRevNat: new Set(), keptMaglev: new Set(), keptRanges: new Set(),
  };
}

/** Writes the backend records this plan references whose map entry differs. */
function writeBackends(c: DiffContext): void {
  for (const [id, r] of c.backends) {
    const cur = c.current.backends.get(id);
    if (cur !== undefined) c.hits.backends++;
    if (cur === undefined || cur.address !== r.address || cur.port !== r.port || cur.proto !== r.proto || cur.flags !== r.flags) {
      c.out.add('backends', { map: 'backends', op: 'update', key: id, value: { address: r.address, port: r.port, proto: r.proto, flags: r.flags } });
    }
  }
}

function finish(kind: 'full' | 'partial', current: EbpfMapsContent, out: OpsBuilder, inPlace: boolean, memo: (content: EbpfMapsContent) => EbpfPlanMemo,
  counts: { servicePorts: number; ipv6ServicePorts: number; frontends: number }): EbpfPlan {
  const ops = out.ops();
  // Nothing to change: the maps are `current` (a copy would cost O(maps) for nothing).
  const content = inPlace || ops.length === 0 ? current : cloneMapsContent(current);
  applyEbpfOps(content, ops);
  const m = memo(content);
  return {
    ops, content, memo: m,
    stats: { kind, ...counts, frontendConflicts: m.claims.contested, maglevTables: out.counts.maglev.updates, ops: ops.length, byMap: out.counts },
  };
}

function backendIndex(c: DiffContext): Map<BackendKey, number> {
  const out = new Map<BackendKey, number>();
  for (const [id, r] of c.backends) out.set(r.key, id);
  return out;
}

function sweepServices(c: DiffContext): void {
  for (const row of c.current.services.scopes()) {
    const kept = c.keptScopes.get(scopePrefix(frontendId(row.address, row.port, row.proto), row.scope));
    if (kept !== undefined && row.slotLimit <= kept + 1) continue;
    for (const slot of row.slots()) {
      if (kept !== undefined && slot <= kept) continue;
      const phase = slot === 0 ? (row.scope === LB_LOOKUP_SCOPE_EXT ? 'removedSlot0Ext' : 'removedSlot0Int') : kept === undefined ? 'removedSlots' : 'beyondCount';
      c.out.add(phase, { map: 'services', op: 'delete', key: row.key(slot) });
    }
  }
}

function planFull(desired: DesiredState, env: FrontendEnv, current: EbpfMapsContent, inPlace: boolean): EbpfPlan {
  const claims = new ClaimBook<string>();
  const byPort = new Map<string, readonly string[]>();
  const winners = new Map<string, FrontendSpec>();
  let servicePorts = 0;
  let ipv6ServicePorts = 0;
  for (const [key, sp] of allServicePorts(desired)) {
    servicePorts++;
    if (sp.family === 'IPv6') ipv6ServicePorts++;
    const specs = servicePortFrontends(sp, env);
    byPort.set(key, specs.map((s) => s.id));
    // Ports come in key order: the first claimant of a frontend owns it.
    for (const s of specs) {
      if (claims.owner(s.id) === undefined) winners.set(s.id, s);
      claims.add(s.id, key, key);
    }
  }

  const ids = recoverIds(current);
  const out = new OpsBuilder();
  const c = newContext(current, out, env, false, {
    backendIds: ids.backendIds,
    backendAlloc: new IdAllocator('backend', ids.backendInUse),
    revAlloc: new IdAllocator('rev_nat', ids.revNatInUse),
    recoverRevNat: ids.revNatOf,
    refs: new Map(),
    rangesByRev: new Map(),
  });
  for (const spec of winners.values()) planFrontend(c, spec, spec);
  writeBackends(c);

  // Sweep: everything the maps hold that no frontend kept (nothing when every entry was met).
  if (c.hits.services < current.services.size) sweepServices(c);
  for (const [id, nat] of current.revNat) if (!c.keptRevNat.has(id)) out.add('revNatDelete', { map: 'revNat', op: 'delete', key: id, ...familyTag(nat.address) });
  for (const [k, r] of current.sourceRanges) if (!c.keptRanges.has(k)) out.add('sourceRangesDelete', { map: 'sourceRanges', op: 'delete', key: r });
  for (const id of current.maglev.keys()) if (!c.keptMaglev.has(id)) out.add('maglevDelete', { map: 'maglev', op: 'delete', key: id });
  if (c.hits.backends < current.backends.size) {
    for (const [id, be] of current.backends) if (!c.backends.has(id)) out.add('backendsDelete', { map: 'backends', op: 'delete', key: id, ...familyTag(be.address) });
  }

  return finish('full', current, out, inPlace, (content) => ({
    optionsKey: env.optionsKey,
    claims,
    byPort,
    backendIds: backendIndex(c),
    refs: c.refs,
    rangesByRev: c.rangesByRev,
    floors: { backend: lowestFree(content.backends), revNat: lowestFree(content.revNat) },
  }), { servicePorts, ipv6ServicePorts, frontends: winners.size });
}

/** `address:port/proto` back into its parts (the port follows the last colon: IPv6 addresses have more). */
function locationOf(fid: string): Location {
  const slash = fid.indexOf('/');
  const colon = fid.lastIndexOf(':', slash);
  return { id: fid, address: fid.slice(0, colon), port: Number(fid.slice(colon + 1, slash)), proto: fid.slice(slash + 1) as Location['proto'] };
}

function planPartial(desired: DesiredState, env: FrontendEnv, current: EbpfMapsContent, prev: EbpfPlanMemo, changed: readonly string[], inPlace: boolean): EbpfPlan {
  const memo = inPlace ? prev : {
    ...prev,
    claims: new ClaimBook(prev.claims), byPort: new Map(prev.byPort), backendIds: new Map(prev.backendIds), refs: new Map(prev.refs), rangesByRev: new Map(prev.rangesByRev),
  };

  const specCache = new Map<string, ReadonlyMap<string, FrontendSpec>>();
  const specsOf = (port: string): ReadonlyMap<string, FrontendSpec> => {
    let specs = specCache.get(port);
    if (specs === undefined) {
      const sp = servicePortOf(desired, port);
      specs = new Map(sp === undefined ? [] : servicePortFrontends(sp, env).map((s) => [s.id, s]));
      specCache.set(port, specs);
    }
    return specs;
  };

  const touched = new Map<string, Location>();
  let servicePorts = 0;
  let ipv6ServicePorts = 0;
  for (const port of changed) {
    const specs = specsOf(port);
    const old = memo.byPort.get(port) ?? [];
    const sp = servicePortOf(desired, port);
    if (old.length === 0 && specs.size === 0 && sp === undefined) continue;
    servicePorts++;
    if (port.endsWith(IPV6_PORT_SUFFIX)) ipv6ServicePorts++;
    for (const fid of old) {
      if (!specs.has(fid)) memo.claims.remove(fid, port);
      if (!touched.has(fid)) touched.set(fid, locationOf(fid));
    }
    for (const s of specs.values()) {
      memo.claims.add(s.id, port, port);
      touched.set(s.id, s);
    }
    if (specs.size > 0) memo.byPort.set(port, [...specs.keys()]);
    else memo.byPort.delete(port);
  }

  const out = new OpsBuilder();
  const c = newContext(current, out, env, true, {
    backendIds: memo.backendIds,
    backendAlloc: new IdAllocator('backend', (id) => current.backends.has(id), prev.floors.backend),
    revAlloc: new IdAllocator('rev_nat', (id) => current.revNat.has(id), prev.floors.revNat),
    recoverRevNat: (spec) => headOf(current, spec.id)?.revNatIndex,
    refs: memo.refs,
    rangesByRev: memo.rangesByRev,
  });
  for (const [fid, loc] of touched) {
    const winner = memo.claims.owner(fid);
    planFrontend(c, loc, winner === undefined ? undefined : specsOf(winner).get(fid));
  }
  writeBackends(c);
  for (const id of c.unreferenced) {
    if ((memo.refs.get(id) ?? 0) > 0) continue;
    memo.refs.delete(id);
    const be = current.backends.get(id);
    if (be === undefined) continue;
    out.add('backendsDelete', { map: 'backends', op: 'delete', key: id, ...familyTag(be.address) });
    memo.backendIds.delete(backendKey(be));
    c.backendAlloc.freed(id);
  }

  return finish('partial', current, out, inPlace, () => ({
    ...memo,
    floors: { backend: c.backendAlloc.floorAfter(), revNat: c.revAlloc.floorAfter() },
  }), { servicePorts, ipv6ServicePorts, frontends: touched.size });
}

/** The changed service ports of both families as memo keys, in key order. */
function changedPorts(opts: EbpfPlanOptions): string[] {
  const out = [...(opts.changed ?? [])];
  for (const key of opts.changedIPv6 ?? []) out.push(memoPortKey('IPv6', key));
  return out.sort();
}

/**
 * Plans the load-balancer maps of both families for `desired`. `current` is what the maps hold:
 * a kernel dump (full syncs) or the content of the previous plan (partial syncs,
 * with `opts.changed`, `opts.changedIPv6` and `opts.memo`).
 */
export function planEbpf(desired: DesiredState, ctx: NodeContext, current: EbpfMapsContent, opts: EbpfPlanOptions): EbpfPlan {
  const env = frontendEnv(ctx, opts.algorithm);
  const inPlace = opts.inPlace === true;
  if (opts.changed !== undefined && opts.memo !== undefined && opts.memo.optionsKey === env.optionsKey) {
    return planPartial(desired, env, current, opts.memo, changedPorts(opts), inPlace);
  }
  return planFull(desired, env, current, inPlace);
}
