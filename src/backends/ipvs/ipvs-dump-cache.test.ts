// The IPVS dump cache: partial syncs plan against what the agent last read and wrote, read the
// kernel only for virtual servers that would lose a real server (their connection counts
// decide), and full syncs read everything again, repairing what changed behind the agent's back.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defaultNodeContext } from '../../state/node-context.js';
import { endpoint, servicePort } from '../../../test/lib/state-fixtures.js';
import type { DesiredState, FamilyState, ServicePortState, StateChanges } from '../../state/types.js';
import { dump as kernelDump, fakeClients, fakeKernel } from './fake-kernel.js';
import { IpvsBackend } from './ipvs-backend.js';
import { IpvsDumpCache } from './ipvs-dump-cache.js';
import { virtualServerKey } from './ipvs-keys.js';
import type { IpvsService } from './ipvs-types.js';

/** Service port i: `default/s{i}:http`, cluster IP 10.96.0.{i}, its endpoints on this node (n1) at port 8080. */
const svc = (i: number, endpoints: readonly string[], extra: Partial<ServicePortState> = {}): ServicePortState =>
  servicePort({ serviceName: `s${i}`, clusterIP: `10.96.0.${i}`, clusterEndpoints: endpoints.map((ip) => endpoint(ip, 8080, { isLocal: true, nodeName: 'n1' })), ...extra });

const state = (ports: readonly ServicePortState[]): DesiredState => ({ IPv4: new Map(ports.map((p) => [p.key, p])) as FamilyState, IPv6: new Map() });
const changes = (...keys: string[]): StateChanges => ({ IPv4: new Set(keys), IPv6: new Set(), serviceChanges: 0, endpointChanges: keys.length });

function setup() {
  const k = fakeKernel();
  const f = fakeClients(k);
  let services = 0;
  const ipvs = { ...f.ipvs, getServices: () => (services++, f.ipvs.getServices()) };
  const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'] }), ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), gracePeriodMs: 0 });
  return { k, f, backend, dumps: () => services };
}

const layout = (k: ReturnType<typeof fakeKernel>): string[] =>
  kernelDump(k).services.map((v) => `${v.service.address}:${v.service.port} -> ${v.destinations.map((d) => `${d.address}/${d.weight}`).sort().join(',')}`).sort();

const base = Array.from({ length: 20 }, (_, i) => svc(i + 1, [`10.244.${i}.1`, `10.244.${i}.2`], { nodePort: 30000 + i }));

describe('IpvsBackend partial syncs over the dump cache', () => {
  it('reads nothing from the kernel for an added endpoint or a new service, and ends where a full sync would', async () => {
    const { k, f, backend, dumps } = setup();
    await backend.sync(state(base));
    expect(dumps()).toBe(1);
    f.calls.getDestinations = 0;
    const grown = base.map((s, i) => (i === 4 ? svc(5, ['10.244.4.1', '10.244.4.2', '10.244.4.3'], { nodePort: 30004 }) : s));
    const added = await backend.sync(state(grown), changes('default/s5:http'));
    expect(added.sent).toMatchObject({ readBack: 0, netlinkMessages: 2 });
    const withNew = [...grown, svc(40, ['10.244.40.1'], { nodePort: 30040 })];
    expect((await backend.sync(state(withNew), changes('default/s40:http'))).sent).toMatchObject({ readBack: 0 });
    expect(f.calls.getDestinations).toBe(0);
    expect(dumps()).toBe(1);
    const partial = layout(k);
    expect(partial).toContain('10.96.0.40:80 -> 10.244.40.1/1');
    // A full sync reads the whole kernel again and finds nothing to do.
    expect((await backend.sync(state(withNew))).sent).toMatchObject({ netlinkMessages: 0, readBack: 42 });
    expect(dumps()).toBe(2);
    expect(layout(k)).toEqual(partial);
  });

  it('reads a virtual server losing a real server, since its connections decide', async () => {
    const { f, backend } = setup();
    await backend.sync(state(base));
    f.calls.getDestinations = 0;
    const shrunk = base.map((s, i) => (i === 4 ? svc(5, ['10.244.4.1'], { nodePort: 30004 }) : s));
    // The cluster IP's and the NodePort's virtual servers.
    expect((await backend.sync(state(shrunk), changes('default/s5:http'))).sent).toMatchObject({ readBack: 2 });
    expect(f.calls.getDestinations).toBe(2);
  });

  it('applies what it wrote to the cache: a second change plans against the first', async () => {
    const { k, backend } = setup();
    await backend.sync(state(base));
    const one = base.map((s, i) => (i === 2 ? svc(3, ['10.244.2.1', '10.244.2.2', '10.244.2.9'], { nodePort: 30002 }) : s));
    await backend.sync(state(one), changes('default/s3:http'));
    // Had the cache missed the first write, this one would send 10.244.2.9 again (EEXIST).
    const two = one.map((s, i) => (i === 2 ? svc(3, ['10.244.2.1', '10.244.2.2', '10.244.2.9', '10.244.2.10'], { nodePort: 30002 }) : s));
    expect((await backend.sync(state(two), changes('default/s3:http'))).sent.netlinkMessages).toBe(2);
    expect(layout(k)).toContain('10.96.0.3:80 -> 10.244.2.1/1,10.244.2.10/1,10.244.2.2/1,10.244.2.9/1');
  });

  it('leaves changes made behind its back to the next full sync; a request the kernel refuses makes the next sync full', async () => {
    const { k, backend } = setup();
    await backend.sync(state(base));
    const before = layout(k);
    // A real server deleted by hand: the cache still has it, so an added endpoint does not restore it.
    const key = [...k.services.keys()].find((x) => x.includes('10.96.0.6:80')) as string;
    const vs = k.services.get(key);
    vs?.dests.delete([...vs.dests.keys()].find((d) => d.includes('10.244.5.2')) as string);
    const grown = base.map((s, i) => (i === 5 ? svc(6, ['10.244.5.1', '10.244.5.2', '10.244.5.3'], { nodePort: 30005 }) : s));
    await backend.sync(state(grown), changes('default/s6:http'));
    expect(layout(k)).toContain('10.96.0.6:80 -> 10.244.5.1/1,10.244.5.3/1');
    // The periodic full sync reads it back and repairs it.
    expect((await backend.sync(state(grown))).kind).toBe('full');
    expect(layout(k)).toContain('10.96.0.6:80 -> 10.244.5.1/1,10.244.5.2/1,10.244.5.3/1');

    // A virtual server deleted by hand: a real server added to it is refused (ENOENT), the sync
    // fails, and the next one is full whatever it is given.
    k.services.delete(key);
    const more = grown.map((s, i) => (i === 5 ? svc(6, ['10.244.5.1', '10.244.5.2', '10.244.5.3', '10.244.5.4'], { nodePort: 30005 }) : s));
    await expect(backend.sync(state(more), changes('default/s6:http'))).rejects.toThrow(/ENOENT/);
    expect((await backend.sync(state(more), changes('default/s6:http'))).kind).toBe('full');
    expect(layout(k)).toContain('10.96.0.6:80 -> 10.244.5.1/1,10.244.5.2/1,10.244.5.3/1,10.244.5.4/1');
    expect(layout(k)).toHaveLength(before.length);
  });
});

describe('IpvsDumpCache', () => {
  const service: IpvsService = { af: 'IPv4', protocol: 'TCP', address: '10.96.0.1', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
  const dest = (address: string, weight = 1) => ({ address, port: 8080, forwardMethod: 'masq' as const, weight, upperThreshold: 0, lowerThreshold: 0 });
  const key = virtualServerKey(service);

  it('applies requests as the kernel does, and keeps no counts or stats of the dump (they go stale)', () => {
    const stats = { connections: 9, packetsIn: 1, packetsOut: 1, bytesIn: 1, bytesOut: 1, cps: 0, ppsIn: 0, ppsOut: 0, bpsIn: 0, bpsOut: 0 };
    const cache = IpvsDumpCache.fromDump([{ service: { ...service, stats }, destinations: [{ ...dest('10.244.0.1'), activeConnections: 3, inactiveConnections: 1, stats }] }]);
    expect(cache.get(key)).toEqual({ service, destinations: [dest('10.244.0.1')] });
    cache.apply([
      { op: 'new-dest', service, dest: dest('10.244.0.2') },
      { op: 'update-dest', service, dest: dest('10.244.0.1', 0) },
      { op: 'update-service', service: { ...service, scheduler: 'sh' } },
    ]);
    expect(cache.get(key)?.service.scheduler).toBe('sh');
    expect(cache.get(key)?.destinations).toEqual([dest('10.244.0.1', 0), dest('10.244.0.2')]);
    cache.apply([{ op: 'del-dest', service, dest: dest('10.244.0.1', 0) }]);
    expect(cache.get(key)?.destinations).toEqual([dest('10.244.0.2')]);
    cache.apply([{ op: 'del-service', service }]);
    expect(cache.get(key)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('is enough for a virtual server that keeps every real server the kernel has', () => {
    const cache = IpvsDumpCache.fromDump([{ service, destinations: [dest('10.244.0.1'), dest('10.244.0.2')] }]);
    const want = (...ips: string[]) => ({ key, servicePort: 'default/s:http', kind: 'cluster-ip' as const, service, destinations: ips.map((ip) => dest(ip)) });
    expect(cache.enoughFor(want('10.244.0.1', '10.244.0.2', '10.244.0.3'))).toBe(true);
    expect(cache.enoughFor(want('10.244.0.1'))).toBe(false);
    expect(cache.enoughFor(want('10.244.0.1', '10.244.0.3'))).toBe(false);
    expect(cache.enoughFor({ ...want(), key: 'other' })).toBe(true);
  });
});
