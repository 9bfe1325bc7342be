// Write ordering, model-checked: random transitions between states are planned
// (fully and partially), and the ops are applied one at a time to a model of the
// maps; after every single op each slot-0 entry must resolve whole. Dual-stack:
// IPv6 service ports share keys with IPv4 ones, backend ids and rev-NAT indexes.
import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState } from '../../state/types.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { targetMap } from './ebpf-maps.js';
import { applyEbpfOp, cloneMapsContent, emptyMapsContent, isIPv6Address, lb4KeyString, sourceRangeKeyString, type EbpfMapsContent, type EbpfOp } from './maps-content.js';
import { lookupProblems } from './maps-invariants.js';
import { planEbpf, type EbpfPlan } from './planner.js';
import type { EbpfAlgorithm } from './frontends.js';
import { seededRandom } from '../../util/seeded-random.js';

const CTX = defaultNodeContext({ nodeIPs: ['10.0.0.5', '192.168.1.10', 'fd00::5'] });


function generator(r: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const subset = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => r() < p);
  // Where a pod runs is its own; terminating is each slice's view, and slices of two services
  // may disagree for a while (one updated before the other).
  const pod = (i: number, address: string): EndpointInfo => endpoint(address, 8080, { isLocal: i % 3 === 0, terminating: i % 5 === 4, ready: i % 5 !== 4 });
  const seen = (eps: readonly EndpointInfo[]): EndpointInfo[] => eps.map((e) => (r() < 0.15 ? { ...e, terminating: !e.terminating, ready: e.terminating } : e));
  const pools = {
    IPv4: Array.from({ length: 12 }, (_, i) => pod(i, `10.244.0.${i + 1}`)),
    IPv6: Array.from({ length: 12 }, (_, i) => pod(i, `fd00:244::${i + 1}`)),
  };
  const addresses = {
    IPv4: { cluster: (i: number) => `10.96.0.${i + 1}`, external: ['203.0.113.1', '203.0.113.2'], lb: ['198.51.100.1', '198.51.100.2'] },
    IPv6: { cluster: (i: number) => `fd00:96::${i + 1}`, external: ['2001:db8::1', '2001:db8::2'], lb: ['2001:db8:1::1', '2001:db8:1::2'] },
  };
  const service = (i: number, family: 'IPv4' | 'IPv6'): ServicePortState => {
    const eps = r() < 0.15 ? [] : seen(subset(pools[family], 0.4));
    const a = addresses[family];
    return servicePort({
      serviceName: `svc-${i}`,
      family,
      clusterIP: r() < 0.9 ? a.cluster(i) : undefined,
      port: pick([80, 443]),
      externalIPs: subset(a.external, 0.2),
      loadBalancerIPs: subset(a.lb, 0.25),
      loadBalancerSourceRanges: r() < 0.3 ? subset(['203.0.113.0/24', '10.0.0.0/8', '2001:db8::/32'], 0.6) : [],
      nodePort: pick([0, 0, 30001, 30002]),
      affinityTimeoutSeconds: pick([0, 0, 300]),
      externalPolicyLocal: r() < 0.4,
      internalPolicyLocal: r() < 0.2,
      clusterEndpoints: eps,
    });
  };
  const nextFamily = (prev: FamilyState, family: 'IPv4' | 'IPv6'): FamilyState => {
    const ports = new Map(prev);
    for (let i = 0; i < 8; i++) {
      const key = `default/svc-${i}:http`;
      const x = r();
      if (!ports.has(key)) { if (x < 0.35) ports.set(key, service(i, family)); }
      else if (x < 0.15) ports.delete(key);
      else if (x < 0.5) ports.set(key, service(i, family));
      else if (x < 0.65) {
        const sp = ports.get(key) as ServicePortState;
        const eps = seen(subset(pools[family], 0.5));
        ports.set(key, { ...sp, clusterEndpoints: eps, localEndpoints: eps.filter((e) => e.isLocal), hasEndpoints: eps.length > 0 });
      } else if (x < 0.75) {
        const sp = ports.get(key) as ServicePortState;
        ports.set(key, { ...sp, externalPolicyLocal: !sp.externalPolicyLocal });
      }
    }
    return familyState(...ports.values());
  };
  const next = (prev: DesiredState): DesiredState => ({ IPv4: nextFamily(prev.IPv4, 'IPv4'), IPv6: nextFamily(prev.IPv6, 'IPv6') });
  return { next, chance: r };
}

/** Applies `ops` one by one to a copy of `start`, checking every lookup after each; returns the end state. */
function modelCheck(start: EbpfMapsContent, ops: readonly EbpfOp[], where: string): EbpfMapsContent {
  const model = cloneMapsContent(start);
  const tableIds = new WeakMap<Uint32Array, readonly number[]>();
  expect(lookupProblems(model, { tableIds }), `${where}: before`).toEqual([]);
  const seen = new Set<string>();
  ops.forEach((op, i) => {
    const id = `${op.map} ${op.map === 'services' ? lb4KeyString(op.key) : op.map === 'sourceRanges' ? sourceRangeKeyString(op.key) : op.key}`;
    if (seen.has(id)) expect.fail(`${where}: ${id} touched twice`);
    seen.add(id);
    // A delete by id must name the family of the record it deletes: the applier picks the kernel map by it.
    if ((op.map === 'backends' || op.map === 'revNat') && op.op === 'delete') {
      const address = op.map === 'backends' ? model.backends.get(op.key)?.address : model.revNat.get(op.key)?.address;
      const expected = address !== undefined && isIPv6Address(address) ? `${op.map}6` : op.map;
      if (targetMap(op) !== expected) expect.fail(`${where}: ${id} goes to ${targetMap(op)}, the record is in ${expected}`);
    }
    applyEbpfOp(model, op);
    const problems = lookupProblems(model, { tableIds });
    if (problems.length > 0) expect(problems, `${where}: after op ${i} (${op.op} ${id})`).toEqual([]);
  });
  return model;
}

/** Map contents as sorted `key=value` lines (Maglev tables by their bytes): cheap to compare, readable when not equal. */
function lines(c: EbpfMapsContent): string[] {
  const out: string[] = [];
  for (const [k, e] of c.services.entries()) out.push(`svc ${k}=${JSON.stringify(e.value)}`);
  for (const [k, v] of c.backends) out.push(`be ${k}=${JSON.stringify(v)}`);
  for (const [k, v] of c.revNat) out.push(`rnat ${k}=${JSON.stringify(v)}`);
  for (const k of c.sourceRanges.keys()) out.push(`srcr ${k}`);
  for (const [k, t] of c.maglev) out.push(`mglv ${k}=${Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('base64')}`);
  return out.sort();
}

function sameContent(a: EbpfMapsContent, b: EbpfMapsContent): void {
  const la = lines(a);
  const lb = lines(b);
  if (la.join('\n') !== lb.join('\n')) expect(la).toEqual(lb);
}

function changedKeys(a: FamilyState, b: FamilyState): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of a) if (b.get(k) !== v) out.add(k);
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return out;
}

function walk(seed: number, algorithm: EbpfAlgorithm, steps: number): { ops: number } {
  const g = generator(seededRandom(seed));
  let desired: DesiredState = { IPv4: new Map(), IPv6: new Map() };
  let content = emptyMapsContent();
  let last: EbpfPlan | undefined;
  let total = 0;
  for (let step = 0; step < steps; step++) {
    const prev = desired;
    desired = g.next(prev);
    const where = `seed ${seed} ${algorithm} step ${step}`;

    const full = planEbpf(desired, CTX, content, { algorithm });
    sameContent(modelCheck(content, full.ops, `${where} full`), full.content);
    total += full.ops.length;

    if (last !== undefined) {
      // Partial: the changed keys plus, sometimes, unchanged ones (harmless extra work).
      const changed = changedKeys(prev.IPv4, desired.IPv4);
      const changedIPv6 = changedKeys(prev.IPv6, desired.IPv6);
      if (g.chance() < 0.3) for (const k of desired.IPv4.keys()) changed.add(k);
      if (g.chance() < 0.3) for (const k of desired.IPv6.keys()) changedIPv6.add(k);
      const partial = planEbpf(desired, CTX, content, { algorithm, changed, changedIPv6, memo: last.memo });
      expect(partial.stats.kind).toBe('partial');
      sameContent(modelCheck(content, partial.ops, `${where} partial`), partial.content);
      // The same end as a full plan would reach: nothing left to do.
      expect(planEbpf(desired, CTX, partial.content, { algorithm }).ops, `${where} partial then full`).toEqual([]);
      total += partial.ops.length;
      if (g.chance() < 0.7) {
        content = partial.content;
        last = partial;
        continue;
      }
    }
    content = full.content;
    last = full;
    expect(planEbpf(desired, CTX, content, { algorithm }).ops, `${where} full again`).toEqual([]);
  }
  return { ops: total };
}

describe('write ordering (model-checked after every op)', () => {
  it('random transitions with random selection', () => {
    let ops = 0;
    for (let seed = 1; seed <= 40; seed++) ops += walk(seed, 'random', 25).ops;
    expect(ops).toBeGreaterThan(1000);
  });

  it('random transitions with Maglev', () => {
    let ops = 0;
    for (let seed = 101; seed <= 108; seed++) ops += walk(seed, 'maglev', 12).ops;
    expect(ops).toBeGreaterThan(100);
  });

  it('switching algorithm keeps every lookup whole', () => {
    const g = generator(seededRandom(7));
    let desired: DesiredState = { IPv4: new Map(), IPv6: new Map() };
    let content = emptyMapsContent();
    for (let step = 0; step < 10; step++) {
      desired = g.next(desired);
      const p = planEbpf(desired, CTX, content, { algorithm: step % 2 === 0 ? 'maglev' : 'random' });
      content = modelCheck(content, p.ops, `switch step ${step}`);
    }
  });

  it('the checker catches a wrong order: slot-0 entries first, removals reversed', () => {
    const sp = servicePort({ nodePort: 30001, clusterEndpoints: [endpoint('10.244.0.1', 80), endpoint('10.244.0.2', 80)], externalPolicyLocal: true });
    const desired = { IPv4: familyState(sp), IPv6: new Map() };
    const p = planEbpf(desired, CTX, emptyMapsContent(), { algorithm: 'random' });
    const reversed = [...p.ops].reverse();
    const model = emptyMapsContent();
    const seen: string[][] = [];
    for (const op of reversed) {
      applyEbpfOp(model, op);
      seen.push(lookupProblems(model));
    }
    expect(seen.some((x) => x.length > 0)).toBe(true);
    const gone = planEbpf({ IPv4: new Map(), IPv6: new Map() }, CTX, p.content, { algorithm: 'random' });
    const m2 = cloneMapsContent(p.content);
    const problems: string[] = [];
    for (const op of [...gone.ops].reverse()) {
      applyEbpfOp(m2, op);
      problems.push(...lookupProblems(m2));
    }
    expect(problems.length).toBeGreaterThan(0);
  });
});
