// Partial IPVS syncs: only the changed service ports' virtual servers (and draining ones) are
// read back and planned, and the kernel ends where a full sync would have taken it.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defaultNodeContext } from '../../state/node-context.js';
import { endpoint, servicePort } from '../../../test/lib/state-fixtures.js';
import type { DesiredState, FamilyState, ServicePortState, StateChanges } from '../../state/types.js';
import { destination, dump as kernelDump, fakeClients, fakeKernel, setCounts } from './fake-kernel.js';
import { IpvsBackend } from './ipvs-backend.js';

/** Service port i: `default/s{i}:http`, cluster IP 10.96.0.{i}, its endpoints on this node (n1) at port 8080. */
const svc = (i: number, endpoints: readonly string[], extra: Partial<ServicePortState> = {}): ServicePortState =>
  servicePort({ serviceName: `s${i}`, clusterIP: `10.96.0.${i}`, clusterEndpoints: endpoints.map((ip) => endpoint(ip, 8080, { isLocal: true, nodeName: 'n1' })), ...extra });

function state(ports: readonly ServicePortState[]): DesiredState {
  return { IPv4: new Map(ports.map((p) => [p.key, p])) as FamilyState, IPv6: new Map() };
}

function changes(...keys: string[]): StateChanges {
  return { IPv4: new Set(keys), IPv6: new Set(), serviceChanges: 0, endpointChanges: keys.length };
}

function setup() {
  const k = fakeKernel();
  const f = fakeClients(k);
  const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'] }), ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), gracePeriodMs: 0 });
  return { k, f, backend };
}

const layout = (k: ReturnType<typeof fakeKernel>): string[] =>
  kernelDump(k).services.map((v) => `${v.service.address}:${v.service.port} ${v.service.scheduler} -> ${v.destinations.map((d) => `${d.address}/${d.weight}`).sort().join(',')}`).sort();

describe('IpvsBackend partial syncs', () => {
  const base = Array.from({ length: 50 }, (_, i) => svc(i + 1, [`10.244.${i}.1`, `10.244.${i}.2`]));

  it('reads back and plans only the changed service port, and ends where a full sync would', async () => {
    const { k, f, backend } = setup();
    await backend.sync(state(base));
    const next = base.map((s, i) => (i === 7 ? svc(8, ['10.244.7.1', '10.244.7.9']) : s));
    f.calls.getDestinations = 0;
    const out = await backend.sync(state(next), changes('default/s8:http'));
    expect(out.kind).toBe('partial');
    expect(f.calls.getDestinations).toBe(1);
    expect(out.sent).toMatchObject({ netlinkMessages: 2, readBack: 1, restoreLines: 0 });
    const partial = layout(k);
    // A full sync against the same kernel has nothing left to do.
    expect((await backend.sync(state(next))).sent.netlinkMessages).toBe(0);
    expect(layout(k)).toEqual(partial);
    expect(partial).toContain('10.96.0.8:80 rr -> 10.244.7.1/1,10.244.7.9/1');
  });

  it('adds and removes services: virtual servers and bound VIPs follow', async () => {
    const { k, backend } = setup();
    await backend.sync(state(base));
    const next = [...base.slice(1), svc(60, ['10.244.60.1'])];
    const out = await backend.sync(state(next), changes('default/s1:http', 'default/s60:http'));
    expect(out.kind).toBe('partial');
    expect(k.bound.has('10.96.0.1')).toBe(false);
    expect(k.bound.has('10.96.0.60')).toBe(true);
    expect(layout(k)).not.toContainEqual(expect.stringMatching(/^10\.96\.0\.1:80 /));
    expect(layout(k)).toContain('10.96.0.60:80 rr -> 10.244.60.1/1');
  });

  it('keeps a VIP bound while another port of the service still uses it', async () => {
    const { k, backend } = setup();
    const dns = svc(1, ['10.244.0.1'], { key: 'default/s1:dns', portName: 'dns', protocol: 'UDP', port: 53 });
    await backend.sync(state([...base, dns]));
    await backend.sync(state(base.slice(1).concat(dns)), changes('default/s1:http'));
    expect(k.bound.has('10.96.0.1')).toBe(true);
    expect(layout(k).filter((l) => l.startsWith('10.96.0.1:'))).toEqual(['10.96.0.1:53 rr -> 10.244.0.1/1']);
    await backend.sync(state(base.slice(1)), changes('default/s1:dns'));
    expect(k.bound.has('10.96.0.1')).toBe(false);
  });

  it('keeps an address held by an unchanged service port when a changed one claims it', async () => {
    const { k, backend } = setup();
    await backend.sync(state(base));
    const thief = svc(61, ['10.244.61.1'], { clusterIP: undefined, externalIPs: ['10.96.0.3'] });
    await backend.sync(state([...base, thief]), changes('default/s61:http'));
    expect(layout(k)).toContain('10.96.0.3:80 rr -> 10.244.2.1/1,10.244.2.2/1');
  });

  it('gives a contested address to the first claimant by key, as a full sync does, and back when it goes', async () => {
    const { k, backend } = setup();
    await backend.sync(state(base));
    // default/s0:http sorts before default/s3:http: it owns 10.96.0.3:80 in a full computation.
    const first = svc(0, ['10.244.99.1'], { clusterIP: undefined, externalIPs: ['10.96.0.3'] });
    const out = await backend.sync(state([first, ...base]), changes('default/s0:http'));
    expect(out.kind).toBe('partial');
    expect(layout(k)).toContain('10.96.0.3:80 rr -> 10.244.99.1/1');
    expect((await backend.sync(state([first, ...base]))).sent.netlinkMessages).toBe(0);
    await backend.sync(state(base), changes('default/s0:http'));
    expect(layout(k)).toContain('10.96.0.3:80 rr -> 10.244.2.1/1,10.244.2.2/1');
    expect((await backend.sync(state(base))).sent.netlinkMessages).toBe(0);
  });

  it('follows a per-service scheduler annotation', async () => {
    const { k, backend } = setup();
    await backend.sync(state(base));
    const next = base.map((s, i) => (i === 4 ? { ...s, modeAnnotations: { 'svcplane.io/ipvs-scheduler': 'sh' } } : s));
    await backend.sync(state(next), changes('default/s5:http'));
    expect(layout(k)).toContain('10.96.0.5:80 sh -> 10.244.4.1/1,10.244.4.2/1');
  });

  it('keeps following a draining real server through partial syncs of other services', async () => {
    const k = fakeKernel();
    const f = fakeClients(k);
    const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1' }), ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), gracePeriodMs: 3_600_000 });
    await backend.sync(state(base));
    const vs = kernelDump(k).services.find((v) => v.service.address === '10.96.0.2');
    if (vs === undefined) throw new Error('no virtual server for 10.96.0.2');
    setCounts(k, vs.service, '10.244.1.2', 8080, 1, 0);
    const shrunk = base.map((s, i) => (i === 1 ? svc(2, ['10.244.1.1']) : s));
    expect((await backend.sync(state(shrunk), changes('default/s2:http'))).sent.draining).toBe(1);
    expect(destination(k, vs.service, '10.244.1.2', 8080)?.weight).toBe(0);
    // Another service changes: the draining one is read back too, and still has its connection.
    const other = shrunk.map((s, i) => (i === 9 ? svc(10, ['10.244.9.1']) : s));
    expect((await backend.sync(state(other), changes('default/s10:http'))).sent).toMatchObject({ readBack: 2, draining: 1 });
    setCounts(k, vs.service, '10.244.1.2', 8080, 0, 0);
    expect((await backend.sync(state(other), changes('default/s10:http'))).sent.draining).toBe(0);
    expect(destination(k, vs.service, '10.244.1.2', 8080)).toBeUndefined();
  });

  it('restores the companion iptables rules on full syncs only: they match sets and never change with the services', async () => {
    const k = fakeKernel();
    const f = fakeClients(k);
    const restored: string[] = [];
    const iptables = { restore: async (t: string) => void restored.push(t), save: async () => '', listChains: async () => new Set<string>(), ensureRule: async () => undefined, deleteRule: async () => undefined };
    const ipset = { restore: async () => undefined, destroy: async () => true, members: async () => [], entryCounts: async () => new Map() };
    const ctx = defaultNodeContext({ nodeName: 'n1', clusterCIDRs: ['10.244.0.0/16'] });
    const backend = new IpvsBackend({ ctx, ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), iptables: { IPv4: iptables }, ipset });
    await backend.sync(state(base));
    expect(restored).toHaveLength(1);
    const endpointMoved = base.map((s, i) => (i === 3 ? svc(4, ['10.244.3.1', '10.244.3.7']) : s));
    expect((await backend.sync(state(endpointMoved), changes('default/s4:http'))).sent.restoreLines).toBe(0);
    // No endpoints left, a new service: set members change, the rules do not.
    const emptied = [...endpointMoved.map((s, i) => (i === 3 ? svc(4, []) : s)), svc(70, ['10.244.70.1'], { nodePort: 30070 })];
    await backend.sync(state(emptied), changes('default/s4:http', 'default/s70:http'));
    expect(restored).toHaveLength(1);
    await backend.sync(state(emptied));
    const fresh = new IpvsBackend({ ctx, ipvs: fakeClients(fakeKernel()).ipvs, rtnl: fakeClients(fakeKernel()).rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), iptables: { IPv4: iptables }, ipset });
    await fresh.sync(state([]));
    expect(restored).toHaveLength(3);
    expect(restored[1]).toBe(restored[0]);
    expect(restored[2]).toBe(restored[0]);
  });

  it('leaves drift in unchanged virtual servers to the next full sync, which repairs it', async () => {
    const { k, backend } = setup();
    await backend.sync(state(base));
    const before = layout(k);
    const vs = kernelDump(k).services.find((v) => v.service.address === '10.96.0.20');
    if (vs === undefined) throw new Error('no virtual server for 10.96.0.20');
    k.services.delete([...k.services.keys()].find((key) => key.includes('10.96.0.20:80')) as string);
    await backend.sync(state(base), changes('default/s3:http'));
    expect(layout(k)).toHaveLength(before.length - 1);
    await backend.sync(state(base));
    expect(layout(k)).toEqual(before);
  });
});
