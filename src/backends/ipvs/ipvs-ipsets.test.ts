// KUBE-LOOP-BACK and KUBE-CLUSTER-IP: their members from the virtual servers, their restore
// text, and when the backend writes them (before the rules naming them; partial syncs only
// those that changed).
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { IpsetKernel } from '../../kernel/ipset.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState } from '../../state/types.js';
import { fakeClients, fakeKernel } from './fake-kernel.js';
import { IpvsBackend } from './ipvs-backend.js';
import { IPVS_IPSETS, ipvsIpsetContents, loopBackEntries, loopBackRestore, loopBackRule } from './ipvs-ipsets.js';
import { desiredVirtualServers } from './virtual-servers.js';

const ctx = defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'], clusterCIDRs: ['10.244.0.0/16'] });

function ep(ip: string, port = 8080): EndpointInfo {
  return { ip, port, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'n1', zone: undefined };
}

function svc(i: number, endpoints: readonly EndpointInfo[], extra: Partial<ServicePortState> = {}): ServicePortState {
  return {
    key: `default/s${i}:http`, namespace: 'default', serviceName: `s${i}`, portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80, clusterIP: `10.96.0.${i}`,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 0, healthCheckNodePort: 0, affinityTimeoutSeconds: 0,
    externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: endpoints, localEndpoints: endpoints, hasEndpoints: endpoints.length > 0, ...extra,
  };
}

function state(ports: readonly ServicePortState[]): DesiredState {
  return { IPv4: new Map(ports.map((p) => [p.key, p])) as FamilyState, IPv6: new Map() };
}

describe('IPVS ipsets: members and restore text', () => {
  it('has one member per real server address, protocol and port, whatever the number of virtual servers', () => {
    const ports = [
      svc(1, [ep('10.244.1.5'), ep('10.244.2.5')], { nodePort: 30080, externalIPs: ['192.168.77.150'] }),
      svc(2, [ep('10.244.1.5', 5353)], { key: 'default/s2:dns', protocol: 'UDP', port: 53 }),
      svc(3, []),
    ];
    const desired = desiredVirtualServers(state(ports), ctx);
    expect(desired.virtualServers.size).toBeGreaterThan(3);
    expect(loopBackEntries('IPv4', desired.virtualServers.values())).toEqual([
      '10.244.1.5,tcp:8080,10.244.1.5',
      '10.244.1.5,udp:5353,10.244.1.5',
      '10.244.2.5,tcp:8080,10.244.2.5',
    ]);
    expect(loopBackEntries('IPv6', desired.virtualServers.values())).toEqual([]);
    // KUBE-CLUSTER-IP: cluster IPs with real servers only (node ports and external IPs have their own rules).
    const clusterIP = ipvsIpsetContents('IPv4', desired.virtualServers.values())[1];
    expect(clusterIP?.set.name).toBe('KUBE-CLUSTER-IP');
    expect(clusterIP?.entries).toEqual(['10.96.0.1,tcp:80', '10.96.0.2,udp:53']);
  });

  it('fills a staging set and swaps it in; IPv6 gets kube-proxy\'s KUBE-6- name and family inet6', () => {
    expect(loopBackRestore('IPv4', ['10.244.1.5,tcp:8080,10.244.1.5']).split('\n')).toEqual([
      'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 1048576',
      'create SVCPLANE-LOOP-BACK-NEW hash:ip,port,ip family inet hashsize 1024 maxelem 1048576',
      'flush SVCPLANE-LOOP-BACK-NEW',
      'add SVCPLANE-LOOP-BACK-NEW 10.244.1.5,tcp:8080,10.244.1.5',
      'swap SVCPLANE-LOOP-BACK-NEW KUBE-LOOP-BACK',
      'destroy SVCPLANE-LOOP-BACK-NEW',
      '',
    ]);
    expect(loopBackRestore('IPv6', [])).toContain('create KUBE-6-LOOP-BACK hash:ip,port,ip family inet6');
    expect(loopBackRule('IPv6', 'KUBE-POSTROUTING')).toMatch(/--match-set KUBE-6-LOOP-BACK dst,dst,src -j MASQUERADE\n$/);
    for (const name of IPVS_IPSETS) expect(name.length).toBeLessThanOrEqual(31);
  });
});

describe('IpvsBackend and KUBE-LOOP-BACK', () => {
  function setup() {
    const calls: string[] = [];
    const iptables = { restore: async () => void calls.push('iptables-restore'), save: async () => '', listChains: async () => new Set<string>(), ensureRule: async () => undefined, deleteRule: async () => undefined };
    const ipset: IpsetKernel = { restore: async (t) => void calls.push(`ipset ${t.split('\n').filter((l) => l.startsWith('add ')).join(' | ')}`), destroy: async (n) => (calls.push(`destroy ${n}`), true), members: async () => [] };
    const f = fakeClients(fakeKernel());
    const backend = new IpvsBackend({ ctx, ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), iptables: { IPv4: iptables }, ipset });
    return { calls, backend };
  }
  const change = (key: string) => ({ IPv4: new Set([key]), IPv6: new Set<string>(), serviceChanges: 0, endpointChanges: 1 });

  it('writes the set before the rules naming it; a partial sync rewrites it only when its members change', async () => {
    const { calls, backend } = setup();
    const base = [svc(1, [ep('10.244.1.5')]), svc(2, [ep('10.244.2.5')])];
    await backend.sync(state(base));
    expect(calls).toEqual([
      'ipset add SVCPLANE-LOOP-BACK-NEW 10.244.1.5,tcp:8080,10.244.1.5 | add SVCPLANE-LOOP-BACK-NEW 10.244.2.5,tcp:8080,10.244.2.5',
      'ipset add SVCPLANE-CLUSTER-IP-NEW 10.96.0.1,tcp:80 | add SVCPLANE-CLUSTER-IP-NEW 10.96.0.2,tcp:80',
      'iptables-restore',
    ]);

    calls.length = 0;
    // A scheduler change moves no real server: the set stays as it is.
    const out = await backend.sync(state([svc(1, [ep('10.244.1.5')], { modeAnnotations: { 'svcplane.io/ipvs-scheduler': 'sh' } }), base[1] as ServicePortState]), change('default/s1:http'));
    expect(out.kind).toBe('partial');
    expect(calls.filter((c) => c.startsWith('ipset'))).toEqual([]);

    calls.length = 0;
    const next = [svc(1, [ep('10.244.1.6')]), base[1] as ServicePortState];
    // An endpoint change rewrites KUBE-LOOP-BACK alone; KUBE-CLUSTER-IP and the rules stay.
    expect((await backend.sync(state(next), change('default/s1:http'))).sent).toMatchObject({ ipsetEntries: 2 });
    expect(calls).toEqual(['ipset add SVCPLANE-LOOP-BACK-NEW 10.244.1.6,tcp:8080,10.244.1.6 | add SVCPLANE-LOOP-BACK-NEW 10.244.2.5,tcp:8080,10.244.2.5']);

    // A service losing its last endpoint leaves KUBE-CLUSTER-IP (it is REJECTed instead).
    calls.length = 0;
    const emptied = [svc(1, [ep('10.244.1.6')]), svc(2, [])];
    await backend.sync(state(emptied), change('default/s2:http'));
    expect(calls.filter((c) => c.startsWith('ipset'))).toEqual(['ipset add SVCPLANE-LOOP-BACK-NEW 10.244.1.6,tcp:8080,10.244.1.6', 'ipset add SVCPLANE-CLUSTER-IP-NEW 10.96.0.1,tcp:80']);

    // A full sync always rewrites it (drift by hand is repaired), and cleanup destroys the sets last.
    calls.length = 0;
    await backend.sync(state(next));
    expect(calls[0]).toMatch(/^ipset add /);
    calls.length = 0;
    await backend.cleanup();
    expect(calls.slice(-IPVS_IPSETS.length)).toEqual(IPVS_IPSETS.map((n) => `destroy ${n}`));
  });
});
