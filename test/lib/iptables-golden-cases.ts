// The iptables planner's golden cases: each a hand-built FamilyState and node
// context whose full plan is compared with test/golden/iptables/<name>.txt
// and fed to the real iptables-restore (test/iptables-restore.test.ts).
import type { IPFamily } from '../../src/model/types.js';
import { defaultNodeContext, type NodeContext } from '../../src/state/node-context.js';
import type { FamilyState } from '../../src/state/types.js';
import { endpoint, familyState, servicePort } from './state-fixtures.js';

export interface GoldenCase {
  readonly name: string;
  readonly family: IPFamily;
  readonly ctx: NodeContext;
  readonly state: FamilyState;
  /** Chains iptables-save shows before the plan (for stale-chain cleanup). */
  readonly existing?: { readonly nat: readonly string[]; readonly filter: readonly string[] };
}

const ctx = (o: Partial<NodeContext> = {}): NodeContext => defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['192.168.1.10', 'fd00:1::10'], ...o });
const three = [endpoint('10.244.1.5', 8080), endpoint('10.244.2.6', 8080), endpoint('10.244.3.7', 8080)];
const mixed = [endpoint('10.244.1.5', 8080, { isLocal: true }), endpoint('10.244.2.6', 8080)];

export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'clusterip-three-endpoints', family: 'IPv4', ctx: ctx(), state: familyState(servicePort({ clusterEndpoints: three })) },
  { name: 'no-endpoints', family: 'IPv4', ctx: ctx(), state: familyState(servicePort({ nodePort: 30080, externalIPs: ['203.0.113.7'] })) },
  {
    name: 'session-affinity', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({ clusterEndpoints: three.slice(0, 2), affinityTimeoutSeconds: 10800 })),
  },
  { name: 'nodeport', family: 'IPv4', ctx: ctx(), state: familyState(servicePort({ nodePort: 30080, clusterEndpoints: three.slice(0, 1) })) },
  {
    name: 'loadbalancer-source-ranges', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({
      nodePort: 30080, loadBalancerIPs: ['198.51.100.20'], loadBalancerSourceRanges: ['192.168.0.0/16', '203.0.113.0/24'],
      clusterEndpoints: three.slice(0, 2),
    })),
  },
  {
    name: 'external-ips', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({ externalIPs: ['203.0.113.7', '203.0.113.8'], clusterEndpoints: three.slice(0, 1) })),
  },
  {
    name: 'etp-local-with-local-endpoints', family: 'IPv4', ctx: ctx({ clusterCIDRs: ['10.244.0.0/16'] }),
    state: familyState(servicePort({ nodePort: 30080, loadBalancerIPs: ['198.51.100.20'], externalPolicyLocal: true, clusterEndpoints: mixed })),
  },
  {
    name: 'etp-local-without-local-endpoints', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({
      nodePort: 30080, loadBalancerIPs: ['198.51.100.20'], externalPolicyLocal: true, clusterEndpoints: three.slice(1),
    })),
  },
  {
    name: 'itp-local', family: 'IPv4', ctx: ctx(),
    state: familyState(
      servicePort({ internalPolicyLocal: true, clusterEndpoints: mixed }),
      servicePort({ serviceName: 'api', clusterIP: '10.96.0.20', internalPolicyLocal: true, clusterEndpoints: three.slice(1) }),
    ),
  },
  {
    // kube-proxy masquerades off-cluster sources to the cluster IP in the internal traffic chain, SVL here.
    name: 'itp-local-masquerade', family: 'IPv4', ctx: ctx({ clusterCIDRs: ['10.244.0.0/16'] }),
    state: familyState(servicePort({ internalPolicyLocal: true, nodePort: 30080, clusterEndpoints: mixed })),
  },
  {
    name: 'itp-local-masquerade-all', family: 'IPv4', ctx: ctx({ masqueradeAll: true }),
    state: familyState(servicePort({ internalPolicyLocal: true, clusterEndpoints: mixed })),
  },
  {
    // --iptables-localhost-nodeports=false: NodePorts everywhere but 127.0.0.0/8, no KUBE-FIREWALL drop.
    name: 'no-localhost-nodeports', family: 'IPv4', ctx: ctx({ localhostNodePorts: false }),
    state: familyState(servicePort({ nodePort: 30080, clusterEndpoints: three.slice(0, 1) })),
  },
  {
    name: 'masquerade-all', family: 'IPv4', ctx: ctx({ masqueradeAll: true, clusterCIDRs: ['10.244.0.0/16'] }),
    state: familyState(servicePort({ clusterEndpoints: three.slice(0, 1) })),
  },
  {
    name: 'cluster-cidr', family: 'IPv4', ctx: ctx({ clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] }),
    state: familyState(servicePort({ clusterEndpoints: three.slice(0, 2) })),
  },
  {
    name: 'nodeport-addresses', family: 'IPv4', ctx: ctx({ nodePortAddresses: ['192.168.1.0/24', '10.0.0.0/8', 'fd00:1::/64'] }),
    state: familyState(
      servicePort({ nodePort: 30080, clusterEndpoints: three.slice(0, 1) }),
      servicePort({ serviceName: 'empty', clusterIP: '10.96.0.30', nodePort: 30090 }),
    ),
  },
  {
    name: 'multi-port', family: 'IPv4', ctx: ctx(),
    state: familyState(
      servicePort({ portName: 'http', port: 80, clusterEndpoints: [endpoint('10.244.1.5', 8080)] }),
      servicePort({ portName: 'https', port: 443, clusterEndpoints: [endpoint('10.244.1.5', 8443)] }),
    ),
  },
  {
    name: 'udp', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({ serviceName: 'dns', portName: 'dns', protocol: 'UDP', port: 53, clusterEndpoints: [endpoint('10.244.1.9', 53)] })),
  },
  {
    name: 'sctp', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({ serviceName: 'sig', portName: 'sig', protocol: 'SCTP', port: 3868, nodePort: 30868, clusterEndpoints: [endpoint('10.244.1.9', 3868)] })),
  },
  {
    name: 'ipv6', family: 'IPv6', ctx: ctx({ clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] }),
    state: familyState(servicePort({
      clusterIP: 'fd00:10:96::a', nodePort: 30080, externalIPs: ['2001:db8::7'], loadBalancerIPs: ['2001:db8::20'],
      loadBalancerSourceRanges: ['fd00:1::/64'], affinityTimeoutSeconds: 60,
      clusterEndpoints: [endpoint('fd00:10:244:1::5', 8080), endpoint('fd00:10:244:2::6', 8080)],
    })),
  },
  {
    name: 'health-check-node-port', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({
      nodePort: 30080, healthCheckNodePort: 32000, loadBalancerIPs: ['198.51.100.20'], externalPolicyLocal: true, clusterEndpoints: mixed,
    })),
  },
  {
    name: 'unnamed-port', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({ portName: '', clusterEndpoints: three.slice(0, 1) })),
  },
  {
    // Names Kubernetes would never accept, to prove nothing unsanitised reaches the batch.
    name: 'nasty-names', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({
      namespace: 'ns" -j ACCEPT "', serviceName: 'x y\nz$(reboot)`id`', portName: "p\\'q\r\n*nat\nCOMMIT",
      nodePort: 30081, healthCheckNodePort: 30082, externalPolicyLocal: true, clusterEndpoints: mixed,
    })),
  },
  {
    name: 'stale-chains', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({ clusterEndpoints: three.slice(0, 1) })),
    existing: {
      nat: ['KUBE-SERVICES', 'KUBE-SVC-AAAAAAAAAAAAAAAA', 'KUBE-SEP-BBBBBBBBBBBBBBBB', 'KUBE-KUBELET-CANARY', 'KUBE-MARK-DROP'],
      filter: ['KUBE-SERVICES', 'KUBE-FW-CCCCCCCCCCCCCCCC', 'KUBE-FIREWALL'],
    },
  },
];
