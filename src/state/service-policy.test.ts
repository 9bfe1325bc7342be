// The policy step's decisions, case by case after kube-proxy's syncProxyRules
// (pkg/proxy/iptables/proxier.go): which paths exist, what traffic without
// endpoints gets, who is masqueraded, and which frontends a port has.
import { describe, expect, it } from 'vitest';
import { endpoint, servicePort } from '../../test/lib/state-fixtures.js';
import { defaultNodeContext } from './node-context.js';
import { frontendKey, nodeFamilyEnv, servicePortPolicy } from './service-policy.js';

const local = endpoint('10.244.1.5', 8080, { isLocal: true });
const remote = endpoint('10.244.2.6', 8080);
const v4 = nodeFamilyEnv('IPv4', defaultNodeContext({ nodeIPs: ['192.168.1.10', 'fd00::10', '127.0.0.1'], clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/64'] }));

describe('servicePortPolicy', () => {
  it('Cluster policies: one cluster path, masquerade of off-cluster sources to the cluster IP, reject without endpoints', () => {
    const p = servicePortPolicy(servicePort({ clusterEndpoints: [local, remote] }), v4);
    expect(p.paths).toEqual({ cluster: true, local: false, external: false, firewall: false });
    expect(p.internal).toMatchObject({ localOnly: false, served: true, endpoints: [local, remote] });
    expect(p.masquerade.clusterIP).toMatchObject({ kind: 'off-cluster', podCIDR: '10.244.0.0/16' });
    const none = servicePortPolicy(servicePort({ nodePort: 30080 }), v4);
    expect(none.internal).toMatchObject({ served: false, none: 'reject' });
    expect(none.external).toMatchObject({ served: false, none: 'reject' });
    expect(none.paths).toEqual({ cluster: false, local: false, external: false, firewall: false });
  });

  it('internalTrafficPolicy Local: only local endpoints, and drop (not reject) when the service has endpoints elsewhere only', () => {
    const p = servicePortPolicy(servicePort({ internalPolicyLocal: true, clusterEndpoints: [local, remote] }), v4);
    expect(p.internal).toMatchObject({ localOnly: true, served: true, endpoints: [local] });
    expect(p.paths).toMatchObject({ cluster: false, local: true });
    const elsewhere = servicePortPolicy(servicePort({ internalPolicyLocal: true, clusterEndpoints: [remote] }), v4);
    expect(elsewhere.internal).toMatchObject({ served: false, none: 'drop' });
  });

  it('externalTrafficPolicy Local: client IPs kept (only the node\'s own traffic masqueraded), both paths for a NodePort', () => {
    const p = servicePortPolicy(servicePort({ nodePort: 30080, externalPolicyLocal: true, clusterEndpoints: [local, remote] }), v4);
    expect(p.paths).toEqual({ cluster: true, local: true, external: true, firewall: false });
    expect(p.external).toMatchObject({ localOnly: true, served: true, endpoints: [local] });
    expect(p.masquerade.external.kind).toBe('node-sources');
    const noLocal = servicePortPolicy(servicePort({ nodePort: 30080, externalPolicyLocal: true, clusterEndpoints: [remote] }), v4);
    expect(noLocal.external).toMatchObject({ served: false, none: 'drop' });
    expect(servicePortPolicy(servicePort({ nodePort: 30080, clusterEndpoints: [remote] }), v4).masquerade.external.kind).toBe('all');
  });

  it('masquerades every source with masquerade-all, and none without a cluster CIDR', () => {
    const all = nodeFamilyEnv('IPv4', defaultNodeContext({ masqueradeAll: true }));
    expect(servicePortPolicy(servicePort({ clusterEndpoints: [remote] }), all).masquerade.clusterIP.kind).toBe('all');
    const bare = nodeFamilyEnv('IPv4', defaultNodeContext());
    expect(servicePortPolicy(servicePort({ clusterEndpoints: [remote] }), bare).masquerade.clusterIP.kind).toBe('none');
  });

  it('firewall: ranges of the family; the node may reach its own LB IP when one of its IPs is in them', () => {
    const sp = servicePort({ loadBalancerIPs: ['198.51.100.20'], loadBalancerSourceRanges: ['192.168.0.0/16', 'fd00::/8'], clusterEndpoints: [remote] });
    const p = servicePortPolicy(sp, v4);
    expect(p.paths.firewall).toBe(true);
    expect(p.firewall).toEqual({ configured: true, filtered: true, ranges: ['192.168.0.0/16'], nodeInRanges: true, allowed: ['192.168.0.0/16', '198.51.100.20'] });
    const outside = servicePortPolicy({ ...sp, loadBalancerSourceRanges: ['203.0.113.0/24'] }, v4);
    expect(outside.firewall).toMatchObject({ nodeInRanges: false, allowed: ['203.0.113.0/24'] });
    // Ranges only of the other family: still filtered (nothing of this family is allowed).
    const other = servicePortPolicy({ ...sp, loadBalancerSourceRanges: ['fd00::/8'] }, v4);
    expect(other.firewall).toMatchObject({ filtered: true, ranges: [], allowed: [] });
  });

  it('frontends in order: cluster IP, external IPs, LB IPs, NodePort per node IP of the family; a repeated address keeps its first kind', () => {
    const sp = servicePort({ externalIPs: ['203.0.113.7'], loadBalancerIPs: ['203.0.113.7', '198.51.100.20'], nodePort: 30080, clusterEndpoints: [remote] });
    const p = servicePortPolicy(sp, v4);
    expect(p.frontends.map((f) => `${f.kind} ${f.key}`)).toEqual([
      'cluster-ip 10.96.0.10:80/TCP',
      'external-ip 203.0.113.7:80/TCP',
      'load-balancer 198.51.100.20:80/TCP',
      'node-port 127.0.0.1:30080/TCP',
      'node-port 192.168.1.10:30080/TCP',
    ]);
    expect(frontendKey('fd00::a', 53, 'UDP')).toBe('fd00::a:53/UDP');
  });

  it('NodePorts only on node IPs inside --nodeport-addresses, canonical IPv6, none when only the other family is given', () => {
    const ctx = defaultNodeContext({ nodeIPs: ['192.168.1.10', '10.0.0.5', 'FD00:0::10'], nodePortAddresses: ['192.168.0.0/16', 'fd00::/8'] });
    expect(nodeFamilyEnv('IPv4', ctx).nodePortIPs).toEqual(['192.168.1.10']);
    expect(nodeFamilyEnv('IPv6', ctx).nodePortIPs).toEqual(['fd00::10']);
    const v6only = defaultNodeContext({ nodeIPs: ['192.168.1.10'], nodePortAddresses: ['fd00::/8'] });
    expect(nodeFamilyEnv('IPv4', v6only)).toMatchObject({ nodePortCIDRs: [], nodePortIPs: [] });
    expect(nodeFamilyEnv('IPv4', ctx).key).not.toBe(nodeFamilyEnv('IPv4', v6only).key);
  });
});
