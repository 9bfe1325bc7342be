import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { ServicePortState } from '../../state/types.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { applyPlan, destination, dump, fakeKernel, setCounts, type FakeIpvsKernel } from './fake-kernel.js';
import { planIpvs, type IpvsPlan, type IpvsPlanOptions } from './ipvs-planner.js';
import type { IpvsOp, IpvsService } from './ipvs-types.js';
import { desiredVirtualServers, familyVirtualServers, type DesiredIpvs, type VirtualServerOptions } from './virtual-servers.js';

const ctx = defaultNodeContext({ nodeIPs: ['192.168.1.10'] });
const GRACE = 15_000;
const owned = new Set(['192.168.1.10']);

function desired(ports: ServicePortState[], opts: VirtualServerOptions = {}): DesiredIpvs {
  return familyVirtualServers('IPv4', familyState(...ports), ctx, opts);
}

function web(ips: string[], extra: Partial<ServicePortState> = {}): ServicePortState {
  return servicePort({ clusterEndpoints: ips.map((ip) => endpoint(ip, 8080)), ...extra });
}

function options(now: number, terminating: ReadonlyMap<string, number> = new Map()): IpvsPlanOptions {
  return { gracePeriodMs: GRACE, now, terminating, ownedAddresses: owned };
}

/** Plans against the kernel model and applies the plan. */
function sync(k: FakeIpvsKernel, d: DesiredIpvs, opts: IpvsPlanOptions): IpvsPlan {
  const plan = planIpvs(d, dump(k), opts);
  applyPlan(k, plan);
  return plan;
}

function describeOps(ops: readonly IpvsOp[]): string[] {
  return ops.map((o) => {
    const svc = `${o.service.protocol}/${o.service.address}:${o.service.port}`;
    if (o.dest === undefined) return `${o.op} ${svc}${o.op === 'del-service' ? '' : ` ${o.service.scheduler}`}`;
    return `${o.op} ${svc} ${o.dest.address}:${o.dest.port}${o.op === 'del-dest' ? '' : ` w${o.dest.weight}`}`;
  });
}

const clusterVS: IpvsService = { af: 'IPv4', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
const DEST_KEY = 'TCP/10.96.0.10:80->10.244.0.3:8080';

/** A kernel holding web with three endpoints, converged. */
function converged(): FakeIpvsKernel {
  const k = fakeKernel();
  sync(k, desired([web(['10.244.0.1', '10.244.0.2', '10.244.0.3'])]), options(0));
  return k;
}

describe('planIpvs', () => {
  it('from empty: creates every virtual and real server and binds the VIPs; replanning gives nothing', () => {
    const d = desired([web(['10.244.0.1', '10.244.0.2'], { nodePort: 30080, externalIPs: ['203.0.113.7'] })]);
    const k = fakeKernel();
    const plan = sync(k, d, options(0));
    expect(describeOps(plan.ops)).toEqual([
      'new-service TCP/10.96.0.10:80 rr', 'new-dest TCP/10.96.0.10:80 10.244.0.1:8080 w1', 'new-dest TCP/10.96.0.10:80 10.244.0.2:8080 w1',
      'new-service TCP/203.0.113.7:80 rr', 'new-dest TCP/203.0.113.7:80 10.244.0.1:8080 w1', 'new-dest TCP/203.0.113.7:80 10.244.0.2:8080 w1',
      'new-service TCP/192.168.1.10:30080 rr', 'new-dest TCP/192.168.1.10:30080 10.244.0.1:8080 w1', 'new-dest TCP/192.168.1.10:30080 10.244.0.2:8080 w1',
    ]);
    expect(plan.addresses).toEqual({ add: ['10.96.0.10', '203.0.113.7'], remove: [] });
    expect(plan.terminating.size).toBe(0);
    const again = planIpvs(d, dump(k), options(1));
    expect(again.ops).toEqual([]);
    expect(again.addresses).toEqual({ add: [], remove: [] });
  });

  it('an added endpoint is one new-dest', () => {
    const k = converged();
    const plan = sync(k, desired([web(['10.244.0.1', '10.244.0.2', '10.244.0.3', '10.244.0.4'])]), options(1));
    expect(describeOps(plan.ops)).toEqual(['new-dest TCP/10.96.0.10:80 10.244.0.4:8080 w1']);
  });

  it('a removed endpoint with active connections drains: weight 0 first, deleted once its connections end', () => {
    const k = converged();
    setCounts(k, clusterVS, '10.244.0.3', 8080, 2, 5);
    const two = desired([web(['10.244.0.1', '10.244.0.2'])]);
    const p1 = sync(k, two, options(1000));
    expect(describeOps(p1.ops)).toEqual(['update-dest TCP/10.96.0.10:80 10.244.0.3:8080 w0']);
    expect(p1.ops[0]?.dest).not.toHaveProperty('activeConnections');
    expect([...p1.terminating]).toEqual([[DEST_KEY, 1000]]);
    expect(destination(k, clusterVS, '10.244.0.3', 8080)?.weight).toBe(0);

    // Still busy, within the grace period: nothing to send, the start time is carried.
    const p2 = sync(k, two, options(5000, p1.terminating));
    expect(p2.ops).toEqual([]);
    expect([...p2.terminating]).toEqual([[DEST_KEY, 1000]]);

    // TCP: only active connections count (inactive ones are closing).
    setCounts(k, clusterVS, '10.244.0.3', 8080, 0, 5);
    const p3 = sync(k, two, options(6000, p2.terminating));
    expect(describeOps(p3.ops)).toEqual(['del-dest TCP/10.96.0.10:80 10.244.0.3:8080']);
    expect(p3.terminating.size).toBe(0);
    expect(planIpvs(two, dump(k), options(7000, p3.terminating)).ops).toEqual([]);
  });

  it('a draining real server is deleted when the grace period is over, connections or not', () => {
    const k = converged();
    setCounts(k, clusterVS, '10.244.0.3', 8080, 9, 0);
    const two = desired([web(['10.244.0.1', '10.244.0.2'])]);
    const p1 = sync(k, two, options(1000));
    const p2 = sync(k, two, options(1000 + GRACE - 1, p1.terminating));
    expect(p2.ops).toEqual([]);
    const p3 = sync(k, two, options(1000 + GRACE, p2.terminating));
    expect(describeOps(p3.ops)).toEqual(['del-dest TCP/10.96.0.10:80 10.244.0.3:8080']);
    expect(p3.terminating.size).toBe(0);
  });

  it('an idle removed endpoint is deleted at once', () => {
    const k = converged();
    const plan = sync(k, desired([web(['10.244.0.1', '10.244.0.2'])]), options(1));
    expect(describeOps(plan.ops)).toEqual(['del-dest TCP/10.96.0.10:80 10.244.0.3:8080']);
  });

  it('counts a dump did not carry are not taken as idle: the real server drains for the grace period', () => {
    const k = converged();
    const current = dump(k);
    const unknown = { ...current, services: current.services.map((s) => ({ ...s, destinations: s.destinations.map(({ activeConnections: _a, inactiveConnections: _i, ...d }) => d) })) };
    const plan = planIpvs(desired([web(['10.244.0.1', '10.244.0.2'])]), unknown, options(1));
    expect(describeOps(plan.ops)).toEqual(['update-dest TCP/10.96.0.10:80 10.244.0.3:8080 w0']);
  });

  it('UDP: a removed real server is deleted at once, whatever its entries (no draining)', () => {
    const dns = (ips: string[]) => desired([web(ips, { protocol: 'UDP', port: 53 })]);
    const udpVS: IpvsService = { ...clusterVS, protocol: 'UDP', port: 53 };
    const k = fakeKernel();
    sync(k, dns(['10.244.0.1', '10.244.0.2']), options(0));
    setCounts(k, udpVS, '10.244.0.2', 8080, 0, 4);
    const p1 = sync(k, dns(['10.244.0.1']), options(1));
    expect(describeOps(p1.ops)).toEqual(['del-dest UDP/10.96.0.10:53 10.244.0.2:8080']);
    expect(p1.terminating.size).toBe(0);
  });

  it('an endpoint that comes back while draining gets its weight again and stops terminating', () => {
    const k = converged();
    setCounts(k, clusterVS, '10.244.0.3', 8080, 1, 0);
    const p1 = sync(k, desired([web(['10.244.0.1', '10.244.0.2'])]), options(1));
    const p2 = sync(k, desired([web(['10.244.0.1', '10.244.0.2', '10.244.0.3'])]), options(2, p1.terminating));
    expect(describeOps(p2.ops)).toEqual(['update-dest TCP/10.96.0.10:80 10.244.0.3:8080 w1']);
    expect(p2.terminating.size).toBe(0);
    expect(destination(k, clusterVS, '10.244.0.3', 8080)).toMatchObject({ weight: 1, activeConnections: 1 });
  });

  it('a restart mid-termination finishes the job: unknown weight-0 real servers drain from now', () => {
    const k = converged();
    setCounts(k, clusterVS, '10.244.0.3', 8080, 3, 0);
    const two = desired([web(['10.244.0.1', '10.244.0.2'])]);
    sync(k, two, options(1000));
    // The agent restarts: the terminating map is lost.
    const p1 = sync(k, two, options(50_000));
    expect(p1.ops).toEqual([]);
    expect([...p1.terminating]).toEqual([[DEST_KEY, 50_000]]);
    const p2 = sync(k, two, options(50_000 + GRACE, p1.terminating));
    expect(describeOps(p2.ops)).toEqual(['del-dest TCP/10.96.0.10:80 10.244.0.3:8080']);
    // An idle one found after a restart goes at once.
    const k2 = converged();
    setCounts(k2, clusterVS, '10.244.0.3', 8080, 3, 0);
    sync(k2, two, options(1000));
    setCounts(k2, clusterVS, '10.244.0.3', 8080, 0, 0);
    expect(describeOps(sync(k2, two, options(2000)).ops)).toEqual(['del-dest TCP/10.96.0.10:80 10.244.0.3:8080']);
  });

  it('an endpoint replaced by another (same count) is one new-dest and one del-dest', () => {
    const k = converged();
    const plan = sync(k, desired([web(['10.244.0.1', '10.244.0.2', '10.244.0.9'])]), options(1));
    expect(describeOps(plan.ops)).toEqual(['new-dest TCP/10.96.0.10:80 10.244.0.9:8080 w1', 'del-dest TCP/10.96.0.10:80 10.244.0.3:8080']);
  });

  it('a dump listing real servers in any order is still in step', () => {
    const k = converged();
    const current = dump(k);
    const shuffled = { ...current, services: current.services.map((s) => ({ ...s, destinations: [s.destinations[1], s.destinations[0], s.destinations[2]].flatMap((d) => (d ? [d] : [])) })) };
    expect(shuffled.services[0]?.destinations).toHaveLength(3);
    expect(planIpvs(desired([web(['10.244.0.1', '10.244.0.2', '10.244.0.3'])]), shuffled, options(1)).ops).toEqual([]);
  });

  it('a real server whose weight someone changed is put back', () => {
    const k = converged();
    const plan = planIpvs(desired([web(['10.244.0.1', '10.244.0.2', '10.244.0.3'])]), {
      ...dump(k),
      services: dump(k).services.map((s) => ({ ...s, destinations: s.destinations.map((d) => (d.address === '10.244.0.1' ? { ...d, weight: 7 } : d)) })),
    }, options(1));
    expect(describeOps(plan.ops)).toEqual(['update-dest TCP/10.96.0.10:80 10.244.0.1:8080 w1']);
  });

  it('scheduler, affinity and timeout changes update the virtual server in place', () => {
    const k = converged();
    const eps = ['10.244.0.1', '10.244.0.2', '10.244.0.3'];
    const p1 = sync(k, desired([web(eps)], { scheduler: 'wlc' }), options(1));
    expect(describeOps(p1.ops)).toEqual(['update-service TCP/10.96.0.10:80 wlc']);
    const p2 = sync(k, desired([web(eps, { affinityTimeoutSeconds: 300 })], { scheduler: 'wlc' }), options(2));
    expect(p2.ops.map((o) => [o.op, o.service.flags, o.service.timeout])).toEqual([['update-service', 1, 300]]);
    const p3 = sync(k, desired([web(eps, { affinityTimeoutSeconds: 600 })], { scheduler: 'wlc' }), options(3));
    expect(p3.ops.map((o) => [o.op, o.service.timeout])).toEqual([['update-service', 600]]);
    expect(destination(k, clusterVS, '10.244.0.1', 8080)?.weight).toBe(1);
  });

  it('virtual servers that are not svcplane\'s are never touched', () => {
    const foreign: IpvsService = { ...clusterVS, address: '172.16.0.1', port: 443, scheduler: 'wlc' };
    const fwmark: IpvsService = { ...clusterVS, address: '0.0.0.0', port: 0, fwmark: 7 };
    const otherPortOnOtherIP: IpvsService = { ...clusterVS, address: '192.168.1.99', port: 30080 };
    const dest = { address: '10.1.1.1', port: 443, forwardMethod: 'route' as const, weight: 3, upperThreshold: 0, lowerThreshold: 0 };
    const k = fakeKernel([{ service: foreign, destinations: [dest] }, { service: fwmark, destinations: [dest] }, { service: otherPortOnOtherIP }]);
    const plan = sync(k, desired([web(['10.244.0.1'])]), options(0));
    expect(plan.ops.filter((o) => o.service.address !== '10.96.0.10')).toEqual([]);
    expect(k.services.size).toBe(4);
    expect(planIpvs(desired([]), dump(k), options(1)).ops.filter((o) => o.service.address !== '10.96.0.10')).toEqual([]);
  });

  it('svcplane\'s stale virtual servers go: on kube-ipvs0 addresses and on owned node IPs (draining real servers with them)', () => {
    const k = fakeKernel();
    const d = desired([web(['10.244.0.1'], { nodePort: 30080 }), web(['10.244.0.2'], { serviceName: 'api', clusterIP: '10.96.0.11' })]);
    sync(k, d, options(0));
    setCounts(k, { ...clusterVS, address: '10.96.0.11' }, '10.244.0.2', 8080, 4, 0);
    // web stops being a NodePort (its node IP stays owned: it was served before); api's only endpoint drains.
    const p1 = sync(k, desired([web(['10.244.0.1']), web([], { serviceName: 'api', clusterIP: '10.96.0.11' })]), options(1));
    expect(describeOps(p1.ops)).toEqual(['del-service TCP/192.168.1.10:30080', 'update-dest TCP/10.96.0.11:80 10.244.0.2:8080 w0']);
    expect([...p1.terminating.keys()]).toEqual(['TCP/10.96.0.11:80->10.244.0.2:8080']);
    expect(p1.addresses).toEqual({ add: [], remove: [] });
    // api goes while its real server drains: the virtual server goes with it, and its VIP.
    const p2 = sync(k, desired([web(['10.244.0.1'])]), options(2, p1.terminating));
    expect(describeOps(p2.ops)).toEqual(['del-service TCP/10.96.0.11:80']);
    expect(p2.addresses).toEqual({ add: [], remove: ['10.96.0.11'] });
    expect(p2.terminating.size).toBe(0);
    expect([...k.services.keys()]).toEqual(['TCP/10.96.0.10:80']);
  });

  it('a virtual server on a wanted address is taken over even if nothing says it was svcplane\'s', () => {
    const k = fakeKernel([{ service: { ...clusterVS, scheduler: 'lc' } }]);
    const plan = sync(k, desired([web(['10.244.0.1'])]), options(0));
    expect(describeOps(plan.ops)).toEqual(['update-service TCP/10.96.0.10:80 rr', 'new-dest TCP/10.96.0.10:80 10.244.0.1:8080 w1']);
    expect(plan.addresses.add).toEqual(['10.96.0.10']);
  });

  it('VIP addresses: bound when wanted, unbound when no virtual server needs them any more', () => {
    const k = fakeKernel([], ['10.96.0.99']);
    const p1 = sync(k, desired([web([], { loadBalancerIPs: ['198.51.100.9'] })]), options(0));
    expect(p1.addresses).toEqual({ add: ['10.96.0.10', '198.51.100.9'], remove: ['10.96.0.99'] });
    const p2 = sync(k, desired([web([])]), options(1));
    expect(describeOps(p2.ops)).toEqual(['del-service TCP/198.51.100.9:80']);
    expect(p2.addresses).toEqual({ add: [], remove: ['198.51.100.9'] });
    expect([...k.bound]).toEqual(['10.96.0.10']);
  });

  it('IPv6: a dump spelling addresses differently causes no churn', () => {
    const v6 = servicePort({ clusterIP: 'fd00::a', clusterEndpoints: [endpoint('fd00:244::5', 8080)] });
    const d = desiredVirtualServers({ IPv4: familyState(), IPv6: familyState(v6) }, ctx);
    const k = fakeKernel();
    sync(k, d, options(0));
    const current = dump(k);
    const spelled = {
      boundAddresses: new Set(['fd00:0::a']),
      services: current.services.map((s) => ({ service: { ...s.service, address: 'fd00:0:0:0:0:0:0:a' }, destinations: s.destinations.map((x) => ({ ...x, address: 'FD00:244:0::5' })) })),
    };
    const plan = planIpvs(d, spelled, options(1));
    expect(plan.ops).toEqual([]);
    expect(plan.addresses).toEqual({ add: [], remove: [] });
  });
});
