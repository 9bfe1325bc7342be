import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, EndpointInfo, ServicePortState } from '../../state/types.js';
import { dump as kernelDump, fakeClients as fakes, fakeKernel } from './fake-kernel.js';
import { IPVS_SYSCTLS, IpvsBackend } from './ipvs-backend.js';

function ep(ip: string): EndpointInfo {
  return { ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'n1', zone: undefined };
}

function web(endpoints: EndpointInfo[]): DesiredState {
  const sp: ServicePortState = {
    key: 'default/web:http', namespace: 'default', serviceName: 'web', portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80, clusterIP: '10.96.0.10',
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 30080, healthCheckNodePort: 0, affinityTimeoutSeconds: 0,
    externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: endpoints, localEndpoints: endpoints, hasEndpoints: endpoints.length > 0,
  };
  return { IPv4: new Map([[sp.key, sp]]), IPv6: new Map() };
}

describe('IpvsBackend', () => {
  it('creates kube-ipvs0, binds the VIP, programs cluster IP and NodePort servers, sets the sysctls once', async () => {
    const k = fakeKernel();
    const f = fakes(k);
    const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'] }), ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }) });
    const out = await backend.sync(web([ep('10.244.1.2'), ep('10.244.1.3')]));
    expect(f.link()).toBe(7);
    expect([...k.bound]).toEqual(['10.96.0.10']);
    const dump = kernelDump(k).services;
    expect(dump.map((v) => `${v.service.address}:${v.service.port}`).sort()).toEqual(['10.96.0.10:80', '192.168.77.1:30080']);
    expect(dump.every((v) => v.destinations.length === 2)).toBe(true);
    expect(out.ruleCounts).toEqual({ virtualServers: 2 });
    expect([...f.sysctls.keys()].sort()).toEqual(IPVS_SYSCTLS.map(([n]) => n).sort());
    // Converged: the next sync sends nothing.
    expect((await backend.sync(web([ep('10.244.1.2'), ep('10.244.1.3')]))).sent.netlinkMessages).toBe(0);
  });

  it('drains a removed real server with weight 0 while it has connections, then deletes it', async () => {
    let now = 1_000;
    const k = fakeKernel();
    const f = fakes(k);
    const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1' }), ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), gracePeriodMs: 60_000, now: () => now });
    await backend.sync(web([ep('10.244.1.2'), ep('10.244.1.3')]));
    const vs = [...k.services.values()][0];
    const gone = [...(vs?.dests.entries() ?? [])].find(([, d]) => d.address === '10.244.1.3');
    if (!vs || !gone) throw new Error('setup');
    vs.dests.set(gone[0], { ...gone[1], activeConnections: 1 });
    await backend.sync(web([ep('10.244.1.2')]));
    expect(vs.dests.get(gone[0])?.weight).toBe(0);
    vs.dests.set(gone[0], { ...(vs.dests.get(gone[0]) ?? gone[1]), activeConnections: 0 });
    now += 1_000;
    await backend.sync(web([ep('10.244.1.2')]));
    expect(vs.dests.has(gone[0])).toBe(false);
  });

  it('cleanup deletes only our virtual servers and the dummy interface', async () => {
    const foreign = { af: 'IPv4' as const, protocol: 'TCP' as const, address: '10.0.0.1', port: 443, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
    const k = fakeKernel([{ service: foreign }]);
    const f = fakes(k);
    const backend = new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'] }), ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }) });
    await backend.sync(web([ep('10.244.1.2')]));
    await backend.cleanup();
    expect(kernelDump(k).services.map((v) => v.service.address)).toEqual(['10.0.0.1']);
    expect(f.link()).toBeUndefined();
  });

  it('cleanup without a node context (svcplane cleanup) still finds NodePorts on the node\'s addresses', async () => {
    const foreign = { af: 'IPv4' as const, protocol: 'TCP' as const, address: '192.168.77.1', port: 8443, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
    const k = fakeKernel();
    const running = fakes(k, ['192.168.77.1']);
    await new IpvsBackend({ ctx: defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'] }), ipvs: running.ipvs, rtnl: running.rtnl, sysctl: running.sysctl, logger: pino({ level: 'silent' }) })
      .sync(web([ep('10.244.1.2')]));
    running.ipvs.batch([{ op: 'newService', service: foreign }]); // someone else's, on the node's address
    expect(kernelDump(k).services.map((v) => `${v.service.address}:${v.service.port}`).sort()).toEqual(['10.96.0.10:80', '192.168.77.1:30080', '192.168.77.1:8443']);
    // A fresh backend on the same kernel, as `svcplane cleanup --mode ipvs` builds it: no node IPs known.
    await new IpvsBackend({ ctx: defaultNodeContext(), ipvs: running.ipvs, rtnl: running.rtnl, sysctl: running.sysctl, logger: pino({ level: 'silent' }) }).cleanup();
    expect(running.link()).toBeUndefined();
    // The NodePort is gone; a virtual server outside the NodePort range is not ours.
    expect(kernelDump(k).services.map((v) => `${v.service.address}:${v.service.port}`)).toEqual(['192.168.77.1:8443']);
  });
});
