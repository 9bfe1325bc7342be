// IPVS mode's ipsets: their members from the virtual servers, their restore text, and when the
// backend writes them (before the rules naming them; whole sets on full syncs, the members that
// changed on partial ones).
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { IpsetKernel } from '../../kernel/ipset.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, EndpointInfo, FamilyState, ServicePortState } from '../../state/types.js';
import { fakeClients, fakeKernel } from './fake-kernel.js';
import { IpvsBackend } from './ipvs-backend.js';
import { IPVS_IPSETS, ipsetDeltaRestore, ipsetRestore, ipvsIpsetContents, LOOP_BACK_SET, NODE_PORT_SETS } from './ipvs-ipsets.js';
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
  const members = (ports: readonly ServicePortState[], family: 'IPv4' | 'IPv6' = 'IPv4'): Record<string, string[]> => {
    const st = state(ports);
    const desired = desiredVirtualServers(st, ctx);
    return Object.fromEntries(ipvsIpsetContents(family, desired.virtualServers.values(), st, ctx).filter((c) => c.entries.length > 0).map((c) => [c.set.name, c.entries]));
  };

  it('puts each virtual server in the sets of its kind and policy, whatever the number of virtual servers', () => {
    const ports = [
      svc(1, [ep('10.244.1.5'), ep('10.244.2.5')], { nodePort: 30080, externalIPs: ['192.168.77.150'] }),
      svc(2, [ep('10.244.1.5', 5353)], { key: 'default/s2:dns', protocol: 'UDP', port: 53, nodePort: 30053, externalPolicyLocal: true, externalIPs: ['192.168.77.151'] }),
      svc(3, []),
      svc(4, [ep('10.244.4.5')], { loadBalancerIPs: ['192.168.77.200'], nodePort: 30084, externalPolicyLocal: true, healthCheckNodePort: 31000 }),
      svc(5, [ep('10.244.5.5')], { key: 'default/s5:sctp', protocol: 'SCTP', port: 9, nodePort: 30090, loadBalancerIPs: ['192.168.77.201'], loadBalancerSourceRanges: ['203.0.113.0/24', '192.168.77.0/24'] }),
    ];
    expect(members(ports)).toEqual({
      'KUBE-LOOP-BACK': ['10.244.1.5,tcp:8080,10.244.1.5', '10.244.1.5,udp:5353,10.244.1.5', '10.244.2.5,tcp:8080,10.244.2.5', '10.244.4.5,tcp:8080,10.244.4.5', '10.244.5.5,sctp:8080,10.244.5.5'],
      'KUBE-CLUSTER-IP': ['10.96.0.1,tcp:80', '10.96.0.2,udp:53', '10.96.0.4,tcp:80', '10.96.0.5,sctp:9'],
      'KUBE-EXTERNAL-IP': ['192.168.77.150,tcp:80'],
      'KUBE-EXTERNAL-IP-LOCAL': ['192.168.77.151,udp:53'],
      'KUBE-LOAD-BALANCER': ['192.168.77.200,tcp:80', '192.168.77.201,sctp:9'],
      'KUBE-LOAD-BALANCER-LOCAL': ['192.168.77.200,tcp:80'],
      // Source ranges: the node (192.168.77.1) is in one, so it may reach its own LB IP.
      'KUBE-LOAD-BALANCER-FW': ['192.168.77.201,sctp:9'],
      'KUBE-LOAD-BALANCER-SOURCE-CIDR': ['192.168.77.201,sctp:9,192.168.77.0/24', '192.168.77.201,sctp:9,203.0.113.0/24'],
      'KUBE-LOAD-BALANCER-SOURCE-IP': ['192.168.77.201,sctp:9,192.168.77.201'],
      // NodePorts by port (bitmap:port), SCTP by node IP and port.
      'KUBE-NODE-PORT-TCP': ['30080', '30084'],
      'KUBE-NODE-PORT-LOCAL-TCP': ['30084'],
      'KUBE-NODE-PORT-UDP': ['30053'],
      'KUBE-NODE-PORT-LOCAL-UDP': ['30053'],
      'KUBE-NODE-PORT-SCTP-HASH': ['192.168.77.1,sctp:30090'],
      'KUBE-HEALTH-CHECK-NODE-PORT': ['31000'],
      // No endpoints: every frontend of the port is REJECTed (here the cluster IP alone).
      'SVCPLANE-NO-ENDPOINTS': ['10.96.0.3,tcp:80'],
    });
    expect(members(ports, 'IPv6')).toEqual({});
  });

  it('leaves a load balancer whose source ranges cover every address unfiltered (ipset refuses a /0)', () => {
    const m = members([svc(1, [ep('10.244.1.5')], { loadBalancerIPs: ['192.168.77.200'], loadBalancerSourceRanges: ['0.0.0.0/0'] })]);
    expect(m['KUBE-LOAD-BALANCER-FW']).toBeUndefined();
    expect(m['KUBE-LOAD-BALANCER']).toEqual(['192.168.77.200,tcp:80']);
  });

  it('fills a staging set and swaps it in; IPv6 gets kube-proxy\'s KUBE-6- name and family inet6', () => {
    expect(ipsetRestore(LOOP_BACK_SET.IPv4, ['10.244.1.5,tcp:8080,10.244.1.5']).split('\n')).toEqual([
      'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 1048576',
      'create SVCPLANE-LOOP-BACK-NEW hash:ip,port,ip family inet hashsize 1024 maxelem 1048576',
      'flush SVCPLANE-LOOP-BACK-NEW',
      'add SVCPLANE-LOOP-BACK-NEW 10.244.1.5,tcp:8080,10.244.1.5',
      'swap SVCPLANE-LOOP-BACK-NEW KUBE-LOOP-BACK',
      'destroy SVCPLANE-LOOP-BACK-NEW',
      '',
    ]);
    expect(ipsetRestore(LOOP_BACK_SET.IPv6, [])).toContain('create KUBE-6-LOOP-BACK hash:ip,port,ip family inet6');
    expect(ipsetRestore(NODE_PORT_SETS.TCP.IPv6, ['30080'])).toContain('create KUBE-6-NODE-PORT-TCP bitmap:port range 0-65535\n');
    expect(ipsetDeltaRestore([{ set: LOOP_BACK_SET.IPv4, add: ['a'], del: ['b'] }, { set: NODE_PORT_SETS.TCP.IPv4, add: ['30080'], del: [] }])).toBe(
      'del KUBE-LOOP-BACK b\nadd KUBE-LOOP-BACK a\nadd KUBE-NODE-PORT-TCP 30080\n',
    );
    for (const name of IPVS_IPSETS) expect(name.length).toBeLessThanOrEqual(31);
    expect(new Set(IPVS_IPSETS).size).toBe(IPVS_IPSETS.length);
  });
});

describe('IpvsBackend and the ipsets', () => {
  function setup() {
    const calls: string[] = [];
    const iptables = { restore: async () => void calls.push('iptables-restore'), save: async () => '', listChains: async () => new Set<string>(), ensureRule: async () => undefined, deleteRule: async () => undefined };
    const ipset: IpsetKernel = {
      restore: async (t) => void calls.push(`ipset ${t.split('\n').filter((l) => /^(add|del) /.test(l)).join(' | ')}`),
      destroy: async (n) => (calls.push(`destroy ${n}`), true),
      members: async () => [],
      entryCounts: async () => new Map(),
    };
    const f = fakeClients(fakeKernel());
    const backend = new IpvsBackend({ ctx, ipvs: f.ipvs, rtnl: f.rtnl, sysctl: f.sysctl, logger: pino({ level: 'silent' }), iptables: { IPv4: iptables }, ipset });
    return { calls, backend };
  }
  const change = (key: string) => ({ IPv4: new Set([key]), IPv6: new Set<string>(), serviceChanges: 0, endpointChanges: 1 });

  it('writes the sets before the rules naming them; a partial sync adds and deletes only the members that changed', async () => {
    const { calls, backend } = setup();
    const base = [svc(1, [ep('10.244.1.5')]), svc(2, [ep('10.244.2.5')])];
    await backend.sync(state(base));
    // One ipset restore for every set of the family, then the rules.
    expect(calls).toEqual([
      'ipset add SVCPLANE-LOOP-BACK-NEW 10.244.1.5,tcp:8080,10.244.1.5 | add SVCPLANE-LOOP-BACK-NEW 10.244.2.5,tcp:8080,10.244.2.5 | add SVCPLANE-CLUSTER-IP-NEW 10.96.0.1,tcp:80 | add SVCPLANE-CLUSTER-IP-NEW 10.96.0.2,tcp:80',
      'iptables-restore',
    ]);

    calls.length = 0;
    // A scheduler change moves no real server: the sets stay as they are, and the rules too.
    const out = await backend.sync(state([svc(1, [ep('10.244.1.5')], { modeAnnotations: { 'svcplane.io/ipvs-scheduler': 'sh' } }), base[1] as ServicePortState]), change('default/s1:http'));
    expect(out.kind).toBe('partial');
    expect(calls).toEqual([]);

    const next = [svc(1, [ep('10.244.1.6')]), base[1] as ServicePortState];
    // An endpoint change: one member out of KUBE-LOOP-BACK, one in; no rule is written.
    expect((await backend.sync(state(next), change('default/s1:http'))).sent).toMatchObject({ ipsetEntries: 2, restoreLines: 0 });
    expect(calls).toEqual(['ipset del KUBE-LOOP-BACK 10.244.1.5,tcp:8080,10.244.1.5 | add KUBE-LOOP-BACK 10.244.1.6,tcp:8080,10.244.1.6']);

    // A service losing its last endpoint leaves KUBE-CLUSTER-IP for SVCPLANE-NO-ENDPOINTS (REJECT).
    calls.length = 0;
    const emptied = [svc(1, [ep('10.244.1.6')]), svc(2, [])];
    await backend.sync(state(emptied), change('default/s2:http'));
    expect(calls).toEqual(['ipset del KUBE-LOOP-BACK 10.244.2.5,tcp:8080,10.244.2.5 | del KUBE-CLUSTER-IP 10.96.0.2,tcp:80 | add SVCPLANE-NO-ENDPOINTS 10.96.0.2,tcp:80']);

    // A new service: its members only.
    calls.length = 0;
    await backend.sync(state([...emptied, svc(3, [ep('10.244.3.5')], { nodePort: 30083 })]), change('default/s3:http'));
    expect(calls).toEqual(['ipset add KUBE-LOOP-BACK 10.244.3.5,tcp:8080,10.244.3.5 | add KUBE-CLUSTER-IP 10.96.0.3,tcp:80 | add KUBE-NODE-PORT-TCP 30083']);

    // A full sync always rewrites every set whole (drift by hand is repaired), and cleanup destroys the sets last.
    calls.length = 0;
    await backend.sync(state(next));
    expect(calls[0]).toMatch(/^ipset add SVCPLANE-LOOP-BACK-NEW /);
    expect(calls[1]).toBe('iptables-restore');
    calls.length = 0;
    await backend.cleanup();
    expect(calls.slice(-IPVS_IPSETS.length)).toEqual(IPVS_IPSETS.map((n) => `destroy ${n}`));
  });

  it('keeps a member two virtual servers share until neither has it', async () => {
    const { calls, backend } = setup();
    // Two NodePorts of one port number cannot exist; two node IPs of one NodePort share its port.
    const two = [svc(1, [ep('10.244.1.5')], { nodePort: 30080 }), svc(2, [ep('10.244.1.5')], { key: 'default/s2:http', port: 80 })];
    await backend.sync(state(two));
    calls.length = 0;
    // s2 shares s1's real server: removing s2 keeps the KUBE-LOOP-BACK member.
    await backend.sync(state([two[0] as ServicePortState]), change('default/s2:http'));
    expect(calls).toEqual(['ipset del KUBE-CLUSTER-IP 10.96.0.2,tcp:80']);
  });
});
