import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { ServicePortState } from '../../state/types.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { IpvsConfigError, IpvsSchedulerError, IpvsVirtualServerConflictError } from './errors.js';
import { IP_VS_SVC_F_PERSISTENT } from './ipvs-types.js';
import { desiredVirtualServers, familyVirtualServers, nodePortIPs, type DesiredIpvs } from './virtual-servers.js';

const ctx = defaultNodeContext({ nodeName: 'localhost', nodeIPs: ['192.168.1.10', '10.0.0.5', 'fd00::10', '127.0.0.1'] });
const local1 = endpoint('10.244.0.5', 8080, { isLocal: true });
const remote1 = endpoint('10.244.1.5', 8080);
const remote2 = endpoint('10.244.2.5', 8080);
const eps = [local1, remote1, remote2];

function plan(...ports: ServicePortState[]): DesiredIpvs {
  return familyVirtualServers('IPv4', familyState(...ports), ctx);
}

function realServers(d: DesiredIpvs, key: string): string[] | undefined {
  return d.virtualServers.get(key)?.destinations.map((x) => `${x.address}:${x.port}/w${x.weight}/${x.forwardMethod}`);
}

describe('desired virtual servers', () => {
  it('ClusterIP: one virtual server on the cluster IP with every cluster endpoint, the IP bound to kube-ipvs0', () => {
    const d = plan(servicePort({ clusterEndpoints: eps }));
    expect([...d.virtualServers.keys()]).toEqual(['TCP/10.96.0.10:80']);
    const vs = d.virtualServers.get('TCP/10.96.0.10:80');
    expect(vs?.service).toEqual({ af: 'IPv4', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff });
    expect(vs?.kind).toBe('cluster-ip');
    expect(vs?.servicePort).toBe('default/web:http');
    expect(realServers(d, 'TCP/10.96.0.10:80')).toEqual(['10.244.0.5:8080/w1/masq', '10.244.1.5:8080/w1/masq', '10.244.2.5:8080/w1/masq']);
    expect([...d.boundAddresses]).toEqual(['10.96.0.10']);
    expect(d.nodePortAddresses.size).toBe(0);
    expect(d.problems).toEqual([]);
  });

  it('a service without endpoints still gets its virtual server (with no real server)', () => {
    const d = plan(servicePort({ protocol: 'UDP', port: 53 }));
    expect(realServers(d, 'UDP/10.96.0.10:53')).toEqual([]);
  });

  it('headless service ports (no cluster IP) have no virtual server', () => {
    const d = plan(servicePort({ clusterIP: undefined, clusterEndpoints: eps }));
    expect(d.virtualServers.size).toBe(0);
    expect(d.boundAddresses.size).toBe(0);
  });

  it('NodePort: one virtual server per node IP of the family (not loopback), node IPs not bound', () => {
    const d = plan(servicePort({ nodePort: 30080, clusterEndpoints: eps }));
    expect([...d.virtualServers.keys()].sort()).toEqual(['TCP/10.0.0.5:30080', 'TCP/10.96.0.10:80', 'TCP/192.168.1.10:30080']);
    expect(d.virtualServers.get('TCP/10.0.0.5:30080')?.kind).toBe('node-port');
    expect(realServers(d, 'TCP/192.168.1.10:30080')).toHaveLength(3);
    expect([...d.boundAddresses]).toEqual(['10.96.0.10']);
    expect([...d.nodePortAddresses].sort()).toEqual(['10.0.0.5', '192.168.1.10']);
  });

  it('NodePort addresses are restricted to ctx.nodePortAddresses, or come from opts.nodeIPs', () => {
    const restricted = defaultNodeContext({ nodeIPs: ctx.nodeIPs, nodePortAddresses: ['192.168.0.0/16'] });
    const d = familyVirtualServers('IPv4', familyState(servicePort({ nodePort: 30080 })), restricted);
    expect([...d.nodePortAddresses]).toEqual(['192.168.1.10']);
    const given = familyVirtualServers('IPv4', familyState(servicePort({ nodePort: 30080 })), ctx, { nodeIPs: ['172.16.0.1'] });
    expect([...given.nodePortAddresses]).toEqual(['172.16.0.1']);
    expect(nodePortIPs('IPv6', ctx)).toEqual(['fd00::10']);
  });

  it('external and load-balancer IPs: bound to kube-ipvs0, served on the service port', () => {
    const d = plan(servicePort({ externalIPs: ['203.0.113.7'], loadBalancerIPs: ['198.51.100.9'], clusterEndpoints: eps }));
    expect(d.virtualServers.get('TCP/203.0.113.7:80')?.kind).toBe('external-ip');
    expect(d.virtualServers.get('TCP/198.51.100.9:80')?.kind).toBe('load-balancer');
    expect(realServers(d, 'TCP/198.51.100.9:80')).toHaveLength(3);
    expect([...d.boundAddresses].sort()).toEqual(['10.96.0.10', '198.51.100.9', '203.0.113.7']);
  });

  it('an external IP that is a node IP is served but not bound (the node already has it)', () => {
    const d = plan(servicePort({ externalIPs: ['192.168.1.10'] }));
    expect(d.virtualServers.has('TCP/192.168.1.10:80')).toBe(true);
    expect([...d.boundAddresses]).toEqual(['10.96.0.10']);
  });

  it('externalTrafficPolicy Local: external IP, LB IP and NodePort get local endpoints only, the cluster IP all', () => {
    const d = plan(servicePort({ nodePort: 30080, externalIPs: ['203.0.113.7'], loadBalancerIPs: ['198.51.100.9'], externalPolicyLocal: true, clusterEndpoints: eps }));
    for (const key of ['TCP/203.0.113.7:80', 'TCP/198.51.100.9:80', 'TCP/192.168.1.10:30080', 'TCP/10.0.0.5:30080']) {
      expect(realServers(d, key), key).toEqual(['10.244.0.5:8080/w1/masq']);
    }
    expect(realServers(d, 'TCP/10.96.0.10:80')).toHaveLength(3);
  });

  it('externalTrafficPolicy Local without local endpoints: external virtual servers have no real server', () => {
    const d = plan(servicePort({ nodePort: 30080, externalPolicyLocal: true, clusterEndpoints: [remote1, remote2] }));
    expect(realServers(d, 'TCP/192.168.1.10:30080')).toEqual([]);
    expect(realServers(d, 'TCP/10.96.0.10:80')).toHaveLength(2);
  });

  it('internalTrafficPolicy Local: the cluster IP gets local endpoints only, NodePorts all', () => {
    const d = plan(servicePort({ nodePort: 30080, internalPolicyLocal: true, clusterEndpoints: eps }));
    expect(realServers(d, 'TCP/10.96.0.10:80')).toEqual(['10.244.0.5:8080/w1/masq']);
    expect(realServers(d, 'TCP/192.168.1.10:30080')).toHaveLength(3);
  });

  it('ClientIP affinity: persistent flag and the affinity timeout on every virtual server of the port', () => {
    const d = plan(servicePort({ affinityTimeoutSeconds: 10800, nodePort: 30080, clusterEndpoints: eps }));
    for (const vs of d.virtualServers.values()) {
      expect(vs.service.flags & IP_VS_SVC_F_PERSISTENT).toBe(IP_VS_SVC_F_PERSISTENT);
      expect(vs.service.timeout).toBe(10800);
    }
    expect(plan(servicePort()).virtualServers.get('TCP/10.96.0.10:80')?.service).toMatchObject({ flags: 0, timeout: 0 });
  });

  it('per-service scheduler from the lookup; the node-wide default otherwise', () => {
    const state = familyState(servicePort({ serviceName: 'a', clusterIP: '10.96.0.1' }), servicePort({ serviceName: 'b', clusterIP: '10.96.0.2' }));
    const d = familyVirtualServers('IPv4', state, ctx, { scheduler: 'wlc', schedulerFor: (sp) => (sp.serviceName === 'a' ? 'sh' : undefined) });
    expect(d.virtualServers.get('TCP/10.96.0.1:80')?.service.scheduler).toBe('sh');
    expect(d.virtualServers.get('TCP/10.96.0.2:80')?.service.scheduler).toBe('wlc');
    expect(d.problems).toEqual([]);
  });

  it('an unknown per-service scheduler falls back to the default and is reported naming the service port', () => {
    const d = familyVirtualServers('IPv4', familyState(servicePort({ nodePort: 30080 })), ctx, { scheduler: 'lc', schedulerFor: () => 'fastest' });
    for (const vs of d.virtualServers.values()) expect(vs.service.scheduler).toBe('lc');
    expect(d.problems).toHaveLength(1);
    const p = d.problems[0];
    expect(p).toBeInstanceOf(IpvsSchedulerError);
    expect(p?.code).toBe('SVCPLANE_IPVS_UNKNOWN_SCHEDULER');
    expect(p?.message).toContain('default/web:http');
    expect(p?.message).toContain('fastest');
  });

  it('an unknown node-wide scheduler is a configuration error', () => {
    expect(() => familyVirtualServers('IPv4', familyState(), ctx, { scheduler: 'nope' })).toThrow(IpvsConfigError);
  });

  it('two service ports on the same address, port and protocol: the first in key order keeps it, the other is reported', () => {
    const a = servicePort({ serviceName: 'a', clusterIP: '10.96.0.1', externalIPs: ['203.0.113.7'], clusterEndpoints: [remote1] });
    const b = servicePort({ serviceName: 'b', clusterIP: '10.96.0.2', externalIPs: ['203.0.113.7'], clusterEndpoints: [remote2] });
    const d = plan(b, a);
    expect(d.virtualServers.get('TCP/203.0.113.7:80')?.servicePort).toBe('default/a:http');
    expect(d.problems).toHaveLength(1);
    expect(d.problems[0]).toBeInstanceOf(IpvsVirtualServerConflictError);
    expect(d.problems[0]?.message).toContain('default/b:http');
  });

  it('the same port number over TCP and UDP gives two virtual servers', () => {
    const d = plan(servicePort({ portName: 'dns-tcp', port: 53 }), servicePort({ portName: 'dns-udp', port: 53, protocol: 'UDP' }));
    expect([...d.virtualServers.keys()].sort()).toEqual(['TCP/10.96.0.10:53', 'UDP/10.96.0.10:53']);
    expect(d.problems).toEqual([]);
  });

  it('IPv6: netmask 128, canonical addresses, IPv6 node IPs only, both families together', () => {
    const v6 = servicePort({
      clusterIP: 'fd00:0:0::a', nodePort: 30080, affinityTimeoutSeconds: 60,
      clusterEndpoints: [endpoint('fd00:244::5', 8080), endpoint('fd00:244:0:0::6', 8080), endpoint('10.244.9.9', 8080)],
    });
    const d = desiredVirtualServers({ IPv4: familyState(servicePort()), IPv6: familyState(v6) }, ctx);
    expect([...d.virtualServers.keys()].sort()).toEqual(['TCP/10.96.0.10:80', 'TCP/[fd00::10]:30080', 'TCP/[fd00::a]:80']);
    const vs = d.virtualServers.get('TCP/[fd00::a]:80');
    expect(vs?.service).toMatchObject({ af: 'IPv6', address: 'fd00::a', netmask: 128, flags: IP_VS_SVC_F_PERSISTENT, timeout: 60 });
    expect(vs?.destinations.map((x) => x.address)).toEqual(['fd00:244::5', 'fd00:244::6']);
    expect([...d.boundAddresses].sort()).toEqual(['10.96.0.10', 'fd00::a']);
  });
});
