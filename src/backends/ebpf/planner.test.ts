import { describe, expect, it } from 'vitest';
import { defaultNodeContext, type NodeContext } from '../../state/node-context.js';
import type { DesiredState } from '../../state/types.js';
import { desiredState, endpoint, servicePort } from '../../../test/lib/state-fixtures.js';
import { emptyMapsContent, type EbpfMapsContent } from './maps-content.js';
import { lookupProblems } from './maps-invariants.js';
import { maglevTable } from './maglev.js';
import {
  BE_FLAG_LOCAL, LB_LOOKUP_SCOPE_INT, SVC_FLAG_AFFINITY, SVC_FLAG_CLUSTER_IP, SVC_FLAG_EXTERNAL_IP,
  SVC_FLAG_LOADBALANCER, SVC_FLAG_MAGLEV, SVC_FLAG_NODEPORT, SVC_FLAG_SOURCE_RANGES, SVC_FLAG_TWO_SCOPES,
} from './map-types.js';
import { planEbpf, type EbpfPlan } from './planner.js';
import type { EbpfAlgorithm } from './frontends.js';
import { checkedPlan, lookup } from './test-builders.js';

const CTX = defaultNodeContext({ nodeName: 'localhost', nodeIPs: ['192.168.1.10', '10.0.0.5', 'fd00::5'] });

const state = desiredState;

const plan = (desired: DesiredState, opts: { ctx?: NodeContext; current?: EbpfMapsContent; algorithm?: EbpfAlgorithm } = {}): EbpfPlan =>
  checkedPlan(desired, opts.ctx ?? CTX, opts.current, opts.algorithm);

const remote = endpoint('10.244.1.1', 8080);
const remote2 = endpoint('10.244.1.2', 8080);
const local = endpoint('10.244.0.7', 8080, { isLocal: true });

describe('planEbpf: service types and policies', () => {
  it('ClusterIP: one EXT lookup with the cluster endpoints, a rev-nat entry, one backend record each', () => {
    const p = plan(state(servicePort({ clusterEndpoints: [remote, remote2, local] })));
    const l = lookup(p.content, '10.96.0.10', 80);
    expect(l).toMatchObject({ count: 3, flags: SVC_FLAG_CLUSTER_IP, affinityTimeout: 0, backends: ['10.244.0.7:8080', '10.244.1.1:8080', '10.244.1.2:8080'] });
    expect(p.content.revNat.get(l?.revNatIndex as number)).toEqual({ address: '10.96.0.10', port: 80 });
    expect(lookup(p.content, '10.96.0.10', 80, LB_LOOKUP_SCOPE_INT)).toBeUndefined();
    expect([...p.content.backends.values()].map((b) => b.flags).sort()).toEqual([0, 0, BE_FLAG_LOCAL]);
    expect(p.content.services.size).toBe(4);
    expect(p.stats).toMatchObject({ kind: 'full', servicePorts: 1, frontends: 1, ipv6ServicePorts: 0 });
  });

  it('internalTrafficPolicy Local: the cluster IP serves local endpoints only; none local -> count 0', () => {
    let p = plan(state(servicePort({ clusterEndpoints: [remote, local], internalPolicyLocal: true })));
    expect(lookup(p.content, '10.96.0.10', 80)?.backends).toEqual(['10.244.0.7:8080']);
    p = plan(state(servicePort({ clusterEndpoints: [remote], internalPolicyLocal: true })));
    expect(lookup(p.content, '10.96.0.10', 80)).toMatchObject({ count: 0, backends: [] });
  });

  it('NodePort: one frontend per IPv4 node IP, each with its own rev-nat index; nodePortAddresses restricts them', () => {
    const sp = servicePort({ nodePort: 30080, clusterEndpoints: [remote, local] });
    let p = plan(state(sp));
    const a = lookup(p.content, '192.168.1.10', 30080);
    const b = lookup(p.content, '10.0.0.5', 30080);
    expect(a).toMatchObject({ flags: SVC_FLAG_NODEPORT, count: 2 });
    expect(b).toMatchObject({ flags: SVC_FLAG_NODEPORT, count: 2 });
    const revs = new Set([a?.revNatIndex, b?.revNatIndex, lookup(p.content, '10.96.0.10', 80)?.revNatIndex]);
    expect(revs.size).toBe(3);
    expect(p.content.revNat.get(a?.revNatIndex as number)).toEqual({ address: '192.168.1.10', port: 30080 });
    p = plan(state(sp), { ctx: { ...CTX, nodePortAddresses: ['10.0.0.0/8', 'fd00::/64'] } });
    expect(lookup(p.content, '192.168.1.10', 30080)).toBeUndefined();
    expect(lookup(p.content, '10.0.0.5', 30080)).toBeDefined();
    p = plan(state(sp), { ctx: { ...CTX, nodePortAddresses: ['fd00::/64'] } });
    expect([...p.content.services.values()].filter((e) => e.key.port === 30080)).toEqual([]);
  });

  it('externalTrafficPolicy Local: EXT holds local endpoints with TWO_SCOPES, INT the cluster view; the cluster IP is unaffected', () => {
    const p = plan(state(servicePort({ nodePort: 30080, externalIPs: ['203.0.113.5'], clusterEndpoints: [remote, local], externalPolicyLocal: true })));
    for (const [addr, port, type] of [['10.0.0.5', 30080, SVC_FLAG_NODEPORT], ['203.0.113.5', 80, SVC_FLAG_EXTERNAL_IP]] as const) {
      const ext = lookup(p.content, addr, port);
      const int = lookup(p.content, addr, port, LB_LOOKUP_SCOPE_INT);
      expect(ext).toMatchObject({ flags: type | SVC_FLAG_TWO_SCOPES, backends: ['10.244.0.7:8080'] });
      expect(int).toMatchObject({ flags: type, backends: ['10.244.0.7:8080', '10.244.1.1:8080'], revNatIndex: ext?.revNatIndex });
    }
    expect(lookup(p.content, '10.96.0.10', 80)).toMatchObject({ flags: SVC_FLAG_CLUSTER_IP, count: 2 });
    expect(lookup(p.content, '10.96.0.10', 80, LB_LOOKUP_SCOPE_INT)).toBeUndefined();
  });

  it('externalTrafficPolicy Local without local endpoints: EXT count 0 (rejected), INT still has the cluster endpoints', () => {
    const p = plan(state(servicePort({ loadBalancerIPs: ['198.51.100.1'], clusterEndpoints: [remote], externalPolicyLocal: true })));
    expect(lookup(p.content, '198.51.100.1', 80)).toMatchObject({ count: 0, flags: SVC_FLAG_LOADBALANCER | SVC_FLAG_TWO_SCOPES });
    expect(lookup(p.content, '198.51.100.1', 80, LB_LOOKUP_SCOPE_INT)).toMatchObject({ count: 1 });
  });

  it('no endpoints at all: every frontend has count 0', () => {
    const p = plan(state(servicePort({ nodePort: 30080, externalIPs: ['203.0.113.5'] })));
    const heads = [...p.content.services.values()];
    expect(heads.length).toBe(4);
    expect(heads.every((e) => e.key.slot === 0 && e.value.count === 0)).toBe(true);
    expect(p.content.backends.size).toBe(0);
  });

  it('LoadBalancer with source ranges: flag on LB frontends only, one entry per IPv4 range for its rev-nat index', () => {
    const sp = servicePort({
      nodePort: 30080, loadBalancerIPs: ['198.51.100.1', '198.51.100.2'], clusterEndpoints: [remote],
      loadBalancerSourceRanges: ['203.0.113.0/24', '192.0.2.7/16', '2001:db8::/32'],
    });
    const p = plan(state(sp));
    for (const ip of ['198.51.100.1', '198.51.100.2']) {
      const l = lookup(p.content, ip, 80);
      expect(l?.flags).toBe(SVC_FLAG_LOADBALANCER | SVC_FLAG_SOURCE_RANGES);
      const ranges = [...p.content.sourceRanges.values()].filter((r) => r.revNatIndex === l?.revNatIndex).map((r) => r.cidr).sort();
      expect(ranges).toEqual(['192.0.0.0/16', '203.0.113.0/24']);
    }
    expect(lookup(p.content, '10.0.0.5', 30080)?.flags).toBe(SVC_FLAG_NODEPORT);
    expect(lookup(p.content, '10.96.0.10', 80)?.flags).toBe(SVC_FLAG_CLUSTER_IP);
    expect(p.content.sourceRanges.size).toBe(4);
  });

  it('source ranges covering a node IP also admit the LB IPs themselves (kube-proxy); IPv6-only ranges admit nothing', () => {
    let p = plan(state(servicePort({ loadBalancerIPs: ['198.51.100.1'], clusterEndpoints: [remote], loadBalancerSourceRanges: ['10.0.0.0/8'] })));
    expect([...p.content.sourceRanges.values()].map((r) => r.cidr).sort()).toEqual(['10.0.0.0/8', '198.51.100.1/32']);
    p = plan(state(servicePort({ loadBalancerIPs: ['198.51.100.1'], clusterEndpoints: [remote], loadBalancerSourceRanges: ['2001:db8::/32'] })));
    expect(lookup(p.content, '198.51.100.1', 80)?.flags).toBe(SVC_FLAG_LOADBALANCER | SVC_FLAG_SOURCE_RANGES);
    expect(p.content.sourceRanges.size).toBe(0);
  });

  it('ClientIP affinity: flag and timeout on every slot-0 entry', () => {
    const p = plan(state(servicePort({ nodePort: 30080, affinityTimeoutSeconds: 600, clusterEndpoints: [remote], externalPolicyLocal: true })));
    const heads = [...p.content.services.values()].filter((e) => e.key.slot === 0);
    expect(heads.length).toBe(5);
    for (const h of heads) {
      expect(h.value.flags & SVC_FLAG_AFFINITY).toBe(SVC_FLAG_AFFINITY);
      expect(h.value.affinityTimeout).toBe(600);
    }
  });

  it('backend flags: local only (terminating is a service\'s view of the address, and the record is shared)', () => {
    const p = plan(state(servicePort({ clusterEndpoints: [endpoint('10.244.0.9', 80, { isLocal: true, terminating: true, ready: false }), remote] })));
    const flags = new Map([...p.content.backends.values()].map((b) => [b.address, b.flags]));
    expect(flags.get('10.244.0.9')).toBe(BE_FLAG_LOCAL);
    expect(flags.get('10.244.1.1')).toBe(0);
  });

  it('a backend terminating in one service and ready in others: a partial plan ends where a full plan does', () => {
    const ready = endpoint('10.244.0.9', 80);
    const leaving = endpoint('10.244.0.9', 80, { terminating: true, ready: false, serving: true });
    // Full plans take service ports in key order: "api" and "web" come either side of "dyn".
    const api = servicePort({ serviceName: 'api', clusterIP: '10.96.0.9', clusterEndpoints: [ready] });
    const web = servicePort({ serviceName: 'web', clusterIP: '10.96.0.10', clusterEndpoints: [ready] });
    const dyn = (ep: typeof ready) => servicePort({ serviceName: 'dyn', clusterIP: '10.96.0.11', clusterEndpoints: [ep] });
    // As in the behaviour suite: dyn gains the address (its slots change) while the others keep it ready.
    const first = plan(state(api, web, dyn(remote)));
    const desired = state(api, web, dyn(leaving));
    const partial = planEbpf(desired, CTX, first.content, { algorithm: 'random', changed: new Set([dyn(leaving).key]), changedIPv6: new Set(), memo: first.memo });
    expect(partial.stats.kind).toBe('partial');
    expect(planEbpf(desired, CTX, partial.content, { algorithm: 'random' }).ops).toEqual([]);
  });

  it('a backend shared by two services is one record', () => {
    const p = plan(state(servicePort({ clusterEndpoints: [remote] }), servicePort({ serviceName: 'api', clusterIP: '10.96.0.11', clusterEndpoints: [remote] })));
    expect(p.content.backends.size).toBe(1);
  });

  it('Maglev: flag on EXT entries, one table per rev-nat index with backends (EXT\'s set), none for count 0; INT has no Maglev flag', () => {
    const p = plan(state(
      servicePort({ nodePort: 30080, clusterEndpoints: [remote, remote2, local], externalPolicyLocal: true }),
      servicePort({ serviceName: 'empty', clusterIP: '10.96.0.12' }),
    ), { algorithm: 'maglev', ctx: { ...CTX, nodeIPs: ['10.0.0.5'] } });
    const cip = lookup(p.content, '10.96.0.10', 80);
    expect(cip?.flags).toBe(SVC_FLAG_CLUSTER_IP | SVC_FLAG_MAGLEV);
    const np = lookup(p.content, '10.0.0.5', 30080);
    expect(np?.flags).toBe(SVC_FLAG_NODEPORT | SVC_FLAG_MAGLEV | SVC_FLAG_TWO_SCOPES);
    expect(lookup(p.content, '10.0.0.5', 30080, LB_LOOKUP_SCOPE_INT)?.flags).toBe(SVC_FLAG_NODEPORT);
    const empty = lookup(p.content, '10.96.0.12', 80);
    expect(empty).toMatchObject({ count: 0, flags: SVC_FLAG_CLUSTER_IP | SVC_FLAG_MAGLEV });
    expect([...p.content.maglev.keys()].sort()).toEqual([cip?.revNatIndex, np?.revNatIndex].sort());
    const npTable = p.content.maglev.get(np?.revNatIndex as number) as Uint32Array;
    const localId = [...p.content.backends].find(([, b]) => b.address === '10.244.0.7')?.[0];
    expect(new Set(npTable)).toEqual(new Set([localId]));
    const cipTable = p.content.maglev.get(cip?.revNatIndex as number) as Uint32Array;
    expect(new Set(cipTable).size).toBe(3);
    const ids = [...p.content.backends].map(([id, b]) => ({ id, identity: `${b.address}:${b.port}/${b.proto}` }));
    expect(cipTable).toEqual(maglevTable(ids));
    expect(p.stats.maglevTables).toBe(2);
  });

  it('a frontend wanted by two service ports goes to the first in key order, and is counted', () => {
    const a = servicePort({ serviceName: 'a', clusterIP: '10.96.0.20', externalIPs: ['203.0.113.9'], clusterEndpoints: [remote] });
    const b = servicePort({ serviceName: 'b', clusterIP: '10.96.0.21', externalIPs: ['203.0.113.9'], clusterEndpoints: [remote2] });
    const p = plan(state(b, a));
    expect(lookup(p.content, '203.0.113.9', 80)?.backends).toEqual(['10.244.1.1:8080']);
    expect(p.stats.frontendConflicts).toBe(1);
    // Partial: removing a hands the frontend to b.
    const next = state(b);
    const q = planEbpf(next, CTX, p.content, { algorithm: 'random', changed: new Set([a.key]), memo: p.memo });
    expect(q.stats.kind).toBe('partial');
    expect(lookup(q.content, '203.0.113.9', 80)?.backends).toEqual(['10.244.1.2:8080']);
    expect(q.stats.frontendConflicts).toBe(0);
    expect(planEbpf(next, CTX, q.content, { algorithm: 'random' }).ops).toEqual([]);
  });
});

describe('planEbpf: writes only differences and keeps ids', () => {
  const desired = state(
    servicePort({ nodePort: 30080, loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['203.0.113.0/24'], clusterEndpoints: [remote, remote2, local], externalPolicyLocal: true }),
    servicePort({ serviceName: 'api', clusterIP: '10.96.0.11', clusterEndpoints: [remote2] }),
  );

  it('planning against its own result gives no ops (full and partial), with either algorithm', () => {
    for (const algorithm of ['random', 'maglev'] as const) {
      const p = plan(desired, { algorithm });
      expect(p.ops.length).toBeGreaterThan(0);
      expect(planEbpf(desired, CTX, p.content, { algorithm }).ops).toEqual([]);
      expect(planEbpf(desired, CTX, p.content, { algorithm, changed: new Set(desired.IPv4.keys()), memo: p.memo }).ops).toEqual([]);
    }
  });

  it('after a restart with other ids in the maps, those ids are kept (nothing rewritten) and new ones take the lowest free id', () => {
    const first = plan(desired, { algorithm: 'maglev' });
    // The same maps with every backend id and rev-nat index moved: what an earlier agent could have left.
    const be = (id: number) => id * 7 + 3;
    const rn = (id: number) => id * 5 + 2;
    const moved = emptyMapsContent();
    for (const e of first.content.services.values()) {
      moved.services.put(e.key, { ...e.value, backendId: e.key.slot === 0 ? 0 : be(e.value.backendId), revNatIndex: rn(e.value.revNatIndex) });
    }
    for (const [id, b] of first.content.backends) moved.backends.set(be(id), b);
    for (const [id, r] of first.content.revNat) moved.revNat.set(rn(id), r);
    for (const r of first.content.sourceRanges.values()) moved.sourceRanges.set(`${rn(r.revNatIndex)}|${r.cidr}`, { ...r, revNatIndex: rn(r.revNatIndex) });
    for (const [id, t] of first.content.maglev) moved.maglev.set(rn(id), t.map(be));
    expect(lookupProblems(moved)).toEqual([]);

    const again = plan(desired, { current: moved, algorithm: 'maglev' });
    expect(again.ops).toEqual([]);

    // A new backend and a new service: lowest free ids (1 is free: moved ids start at 10 and 7).
    const more = state(...desired.IPv4.values(), servicePort({ serviceName: 'new', clusterIP: '10.96.0.30', clusterEndpoints: [endpoint('10.244.2.2', 80)] }));
    const grown = plan(more, { current: moved, algorithm: 'maglev' });
    const newHead = lookup(grown.content, '10.96.0.30', 80);
    expect(newHead?.revNatIndex).toBe(1);
    expect([...grown.content.backends].find(([, b]) => b.address === '10.244.2.2')?.[0]).toBe(1);
    expect(grown.ops.every((op) => op.op === 'update')).toBe(true);
  });

  it('recovers a rev-nat index from a rev-nat entry no service entry claims (a plan cut short)', () => {
    const content = emptyMapsContent();
    content.revNat.set(42, { address: '10.96.0.11', port: 80 });
    const p = plan(state(servicePort({ serviceName: 'api', clusterIP: '10.96.0.11', clusterEndpoints: [remote2] })), { current: content });
    expect(lookup(p.content, '10.96.0.11', 80)?.revNatIndex).toBe(42);
    expect(p.ops.some((op) => op.map === 'revNat')).toBe(false);
  });

  it('a backend stored twice keeps the id its slots use; the duplicate is deleted last', () => {
    const p = plan(state(servicePort({ clusterEndpoints: [remote] })));
    const id = [...p.content.backends.keys()][0] as number;
    const content = { ...p.content, backends: new Map([[id, p.content.backends.get(id)!], [id + 100, p.content.backends.get(id)!]]) };
    const q = plan(state(servicePort({ clusterEndpoints: [remote] })), { current: content });
    expect(q.ops).toEqual([{ map: 'backends', op: 'delete', key: id + 100 }]);
  });

  it('ids freed by a plan are not reused in the same plan', () => {
    const p = plan(state(servicePort({ clusterEndpoints: [remote] })));
    const q = plan(state(servicePort({ serviceName: 'other', clusterIP: '10.96.0.50', clusterEndpoints: [remote2] })), { current: p.content });
    expect(lookup(q.content, '10.96.0.50', 80)?.revNatIndex).toBe(2);
    expect([...q.content.backends.keys()]).toEqual([2]);
    // The next plan may reuse them.
    const r = plan(state(servicePort({ serviceName: 'other', clusterIP: '10.96.0.50', clusterEndpoints: [remote2] }), servicePort({ serviceName: 'x', clusterIP: '10.96.0.51', clusterEndpoints: [local] })), { current: q.content });
    expect(lookup(r.content, '10.96.0.51', 80)?.revNatIndex).toBe(1);
    expect([...r.content.backends.keys()].sort()).toEqual([1, 2]);
  });

  it('a one-endpoint replacement rewrites one slot, not the slots after it', () => {
    const eps = Array.from({ length: 8 }, (_, i) => endpoint(`10.244.3.${10 + i}`, 80));
    const p = plan(state(servicePort({ clusterEndpoints: eps })));
    // The fourth goes, a new one sorts last: in place it takes slot 4, nothing after it moves.
    const next = [...eps.slice(0, 3), ...eps.slice(4), endpoint('10.244.3.99', 80)];
    const q = plan(state(servicePort({ clusterEndpoints: next })), { current: p.content });
    expect(q.ops.map((op) => `${op.map}:${op.op}`)).toEqual(['backends:update', 'services:update', 'backends:delete']);
  });

  it('a shrinking lookup: surviving backends move into low slots, then the count drops, then the stale slots go', () => {
    const eps = Array.from({ length: 4 }, (_, i) => endpoint(`10.244.4.${i + 1}`, 80));
    const p = plan(state(servicePort({ clusterEndpoints: eps })));
    const q = planEbpf(state(servicePort({ clusterEndpoints: [eps[1]!, eps[3]!] })), CTX, p.content, { algorithm: 'random', changed: new Set(['default/web:http']), memo: p.memo });
    const show = q.ops.map((op) => op.map === 'services' ? `${op.op} slot ${op.key.slot}${op.op === 'update' && op.key.slot === 0 ? ` count ${op.value.count}` : ''}` : `${op.op} ${op.map}`);
    // Slot 2 (.2) stays; .4 moves from slot 4 into slot 1.
    expect(show).toEqual(['update slot 1', 'update slot 0 count 2', 'delete slot 3', 'delete slot 4', 'delete backends', 'delete backends']);
  });

  it('a partial plan falls back to a full one when the node-wide options changed', () => {
    const desired = state(servicePort({ nodePort: 30080, clusterEndpoints: [remote] }));
    const p = plan(desired);
    const ctx = { ...CTX, nodeIPs: ['10.0.0.6'] };
    const q = planEbpf(desired, ctx, p.content, { algorithm: 'random', changed: new Set(), memo: p.memo });
    expect(q.stats.kind).toBe('full');
    expect(lookup(q.content, '10.0.0.6', 30080)).toBeDefined();
    expect(lookup(q.content, '10.0.0.5', 30080)).toBeUndefined();
    const r = planEbpf(desired, CTX, p.content, { algorithm: 'maglev', changed: new Set(), memo: p.memo });
    expect(r.stats.kind).toBe('full');
  });
});
