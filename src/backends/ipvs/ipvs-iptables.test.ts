import { describe, expect, it } from 'vitest';
import { defaultNodeContext } from '../../state/node-context.js';
import type { EndpointInfo, FamilyState, ServicePortState } from '../../state/types.js';
import { renderIpvsIptables } from './ipvs-iptables.js';
import { familyVirtualServers } from './virtual-servers.js';

const ep = (ip: string): EndpointInfo => ({ ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'n1', zone: undefined });

function sp(name: string, clusterIP: string, eps: EndpointInfo[], over: Partial<ServicePortState> = {}): ServicePortState {
  return {
    key: `default/${name}:http`, namespace: 'default', serviceName: name, portName: 'http', family: 'IPv4', protocol: 'TCP', port: 80, clusterIP,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], nodePort: 0, healthCheckNodePort: 0, affinityTimeoutSeconds: 0,
    externalPolicyLocal: false, internalPolicyLocal: false, clusterEndpoints: eps, localEndpoints: eps, hasEndpoints: eps.length > 0, ...over,
  };
}

describe('renderIpvsIptables', () => {
  const ctx = defaultNodeContext({ nodeName: 'n1', nodeIPs: ['192.168.77.1'], clusterCIDRs: ['10.244.0.0/16'] });
  const state: FamilyState = new Map(
    [
      sp('web', '10.96.0.10', [ep('10.244.1.2')], { nodePort: 30080 }),
      sp('local', '10.96.0.11', [ep('10.244.1.3')], { nodePort: 30081, externalPolicyLocal: true }),
      sp('empty', '10.96.0.12', []),
      sp('evil"name', '10.96.0.13', [ep('10.244.1.4')], { nodePort: 30083 }),
      sp('lb', '10.96.0.14', [ep('10.244.1.5')], { nodePort: 30082, loadBalancerIPs: ['192.168.77.200'], loadBalancerSourceRanges: ['192.168.77.3/32', '10.0.0.0/8'] }),
    ].map((p) => [p.key, p]),
  );
  const text = renderIpvsIptables('IPv4', familyVirtualServers('IPv4', state, ctx), state, ctx);

  it('masquerades off-cluster traffic to cluster IPs and Cluster-policy external traffic', () => {
    // Every cluster IP through one rule matching KUBE-CLUSTER-IP; none per virtual server.
    expect(text).toContain('-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ\n');
    expect(text).not.toMatch(/-d 10\.96\.0\.1\d\/32 .*KUBE-MARK-MASQ/);
    expect(text).toContain('-d 192.168.77.1/32 --dport 30080 -j KUBE-MARK-MASQ');
    // Local policy keeps the client address: no masquerade for its NodePort.
    expect(text).not.toContain('--dport 30081 -j KUBE-MARK-MASQ');
  });

  it('rejects services without endpoints in filter, and writes the masquerade machinery', () => {
    expect(text).toMatch(/\*filter\n:KUBE-SERVICES - \[0:0\]\n-A KUBE-SERVICES -m comment --comment "default\/empty:http has no endpoints" -m tcp -p tcp -d 10\.96\.0\.12\/32 --dport 80 -j REJECT\n/);
    expect(text).toContain('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
    expect(text).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000');
    expect(text.trimEnd().endsWith('COMMIT')).toBe(true);
  });

  it('sanitises user names in comments', () => {
    expect(text).not.toContain('evil"name');
    expect(text).toContain('default/evil_name:http');
  });

  it('masquerades hairpin traffic through KUBE-LOOP-BACK, first in KUBE-POSTROUTING', () => {
    const postrouting = text.split('\n').filter((l) => l.startsWith('-A KUBE-POSTROUTING'));
    expect(postrouting[0]).toBe('-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE');
    expect(text.match(/KUBE-LOOP-BACK/g)).toHaveLength(1);
  });

  it('drops new connections to a load-balancer IP from outside loadBalancerSourceRanges', () => {
    const lb = text.split('\n').filter((l) => l.includes('-d 192.168.77.200/32'));
    expect(lb.filter((l) => l.includes('-j RETURN')).map((l) => / -s (\S+) /.exec(l)?.[1])).toEqual(['192.168.77.3/32', '10.0.0.0/8']);
    const drop = lb.findIndex((l) => l.endsWith('-j DROP'));
    expect(drop).toBe(2);
    expect(lb[drop]).toMatch(/^-A KUBE-SERVICES .*-p tcp -d 192\.168\.77\.200\/32 --dport 80 -j DROP$/);
    // Only the load-balancer IP: the cluster IP and the NodePort of the same port stay open.
    expect(text).not.toMatch(/-d (10\.96\.0\.14|192\.168\.77\.1)\/32 .*-j DROP/);
  });
});
