// The objects that do not depend on any service: base chains on the netfilter
// hooks, the dispatch chains, the verdict maps and sets, after kube-proxy's
// nftables mode. Services only add elements to the maps and their own chains.
import type { NodeFamilyEnv } from '../../state/service-policy.js';
import {
  CLUSTER_IPS_CHECK_CHAIN, CLUSTER_IPS_SET, ENDPOINTS_CHECK_CHAIN, FIREWALL_CHECK_CHAIN, FIREWALL_IPS_MAP, HAIRPIN_SET, MARK_MASQ_CHAIN, MASQUERADING_CHAIN, NODEPORT_ADDRESSES_SET,
  NO_ENDPOINT_NODEPORTS_MAP, NO_ENDPOINT_SERVICES_MAP, REJECT_CHAIN, SERVICES_CHAIN, SERVICE_IPS_MAP, SERVICE_NODEPORTS_MAP,
} from './names.js';
import { NF_IP_PRI_NAT_DST, NF_IP_PRI_NAT_SRC, type Match, type NftChain, type NftElement, type NftRule, type NftSet } from './objects.js';

export interface BaseObjects {
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
  readonly elements: readonly NftElement[];
}

const jump = (chain: string, ...match: Match[]): NftRule => ({ match, action: { kind: 'verdict', verdict: { kind: 'jump', chain } } });
const NEW: Match = { kind: 'ct-state', state: 'new' };

function addrType(env: NodeFamilyEnv): string {
  return env.family === 'IPv6' ? 'ipv6_addr' : 'ipv4_addr';
}

/**
 * Where NodePorts are served: every local address, or local addresses in nodePortAddresses;
 * never loopback, as in kube-proxy's nftables mode (a DNATed packet from 127.0.0.1 cannot be
 * routed without route_localnet): 127.0.0.1:NODEPORT stays the node's own, and is refused.
 */
function nodePortMatch(env: NodeFamilyEnv): Match[] {
  const local: Match = { kind: 'fib-local', dir: 'daddr' };
  const notLoopback: Match = { kind: 'addr', dir: 'daddr', negated: true, value: env.family === 'IPv6' ? '::1' : '127.0.0.0/8' };
  return env.nodePortCIDRs === undefined ? [local, notLoopback] : [local, notLoopback, { kind: 'addr-set', dir: 'daddr', set: NODEPORT_ADDRESSES_SET }];
}

/**
 * kube-proxy's cluster-ips-check, after DNAT: a new connection still addressed to a cluster IP
 * used no service port of it (rejected: ICMP port unreachable); one to an address of the
 * service CIDRs that is no cluster IP is dropped, instead of leaving the node un-NATed.
 */
function clusterIPsCheck(env: NodeFamilyEnv): NftChain {
  const rules: NftRule[] = [{ match: [{ kind: 'addr-set', dir: 'daddr', set: CLUSTER_IPS_SET }], action: { kind: 'reject' }, comment: 'Reject traffic to invalid ports of ClusterIPs' }];
  for (const cidr of env.serviceCIDRs) {
    rules.push({ match: [{ kind: 'addr', dir: 'daddr', negated: false, value: cidr }], action: { kind: 'verdict', verdict: { kind: 'drop' } }, comment: 'Drop traffic to unallocated ClusterIPs' });
  }
  return { name: CLUSTER_IPS_CHECK_CHAIN, rules };
}

export function baseObjects(env: NodeFamilyEnv, masqueradeBit: number): BaseObjects {
  const mark = 2 ** masqueradeBit;
  const addr = addrType(env);
  const filter = (name: string, hook: 'prerouting' | 'input' | 'forward' | 'output', priority: number, rules: NftRule[]): NftChain => ({
    name, base: { type: 'filter', hook, priority }, rules,
  });
  const nat = (name: string, hook: 'prerouting' | 'output' | 'postrouting', priority: number, rules: NftRule[]): NftChain => ({
    name, base: { type: 'nat', hook, priority }, rules,
  });
  const chains: NftChain[] = [
    // Filtering on pre-DNAT destinations (load-balancer source ranges) runs before DNAT...
    filter('filter-prerouting', 'prerouting', NF_IP_PRI_NAT_DST - 10, [jump(FIREWALL_CHECK_CHAIN, NEW)]),
    filter('filter-output', 'output', NF_IP_PRI_NAT_DST - 10, [jump(FIREWALL_CHECK_CHAIN, NEW)]),
    // ...while "no endpoints" checks must only see what DNAT did not take (input and forward
    // come after prerouting's DNAT; locally generated traffic needs a chain after nat-output).
    filter('filter-input', 'input', NF_IP_PRI_NAT_DST - 10, [jump(ENDPOINTS_CHECK_CHAIN, NEW)]),
    filter('filter-forward', 'forward', NF_IP_PRI_NAT_DST - 10, [
      // As iptables mode's KUBE-FORWARD: invalid packets could escape de-NAT.
      { match: [{ kind: 'ct-state', state: 'invalid' }], action: { kind: 'verdict', verdict: { kind: 'drop' } } },
      jump(ENDPOINTS_CHECK_CHAIN, NEW),
      jump(CLUSTER_IPS_CHECK_CHAIN, NEW),
    ]),
    filter('filter-output-post-dnat', 'output', NF_IP_PRI_NAT_DST + 10, [jump(ENDPOINTS_CHECK_CHAIN, NEW), jump(CLUSTER_IPS_CHECK_CHAIN, NEW)]),
    nat('nat-prerouting', 'prerouting', NF_IP_PRI_NAT_DST, [jump(SERVICES_CHAIN)]),
    nat('nat-output', 'output', NF_IP_PRI_NAT_DST, [jump(SERVICES_CHAIN)]),
    nat('nat-postrouting', 'postrouting', NF_IP_PRI_NAT_SRC, [jump(MASQUERADING_CHAIN)]),
    { name: FIREWALL_CHECK_CHAIN, rules: [{ match: [], action: { kind: 'vmap', key: 'addr-proto-port', map: FIREWALL_IPS_MAP } }] },
    {
      name: ENDPOINTS_CHECK_CHAIN,
      rules: [
        { match: [], action: { kind: 'vmap', key: 'addr-proto-port', map: NO_ENDPOINT_SERVICES_MAP } },
        { match: nodePortMatch(env), action: { kind: 'vmap', key: 'proto-port', map: NO_ENDPOINT_NODEPORTS_MAP } },
      ],
    },
    clusterIPsCheck(env),
    { name: REJECT_CHAIN, rules: [{ match: [], action: { kind: 'reject' } }] },
    {
      name: SERVICES_CHAIN,
      rules: [
        { match: [], action: { kind: 'vmap', key: 'addr-proto-port', map: SERVICE_IPS_MAP } },
        // Last, as iptables mode's KUBE-NODEPORTS jump: service IPs that are local addresses win.
        { match: nodePortMatch(env), action: { kind: 'vmap', key: 'proto-port', map: SERVICE_NODEPORTS_MAP } },
      ],
    },
    {
      name: MASQUERADING_CHAIN,
      rules: [
        // Hairpin: a pod that reached itself through a service must see the reply come from the VIP.
        jump(MARK_MASQ_CHAIN, { kind: 'ct-status-dnat' }, { kind: 'addr-pair-set', set: HAIRPIN_SET }),
        { match: [{ kind: 'mark-clear', mask: mark }], action: { kind: 'verdict', verdict: { kind: 'return' } } },
        // Clear the mark so that re-traversals (e.g. IPsec) do not masquerade again.
        { match: [], action: { kind: 'mark', op: 'xor', value: mark } },
        { match: [], action: { kind: 'masquerade' }, comment: 'kubernetes service traffic requiring SNAT' },
      ],
    },
    { name: MARK_MASQ_CHAIN, rules: [{ match: [], action: { kind: 'mark', op: 'or', value: mark } }] },
  ];
  const serviceKey = `${addr} . inet_proto . inet_service`;
  const sets: NftSet[] = [
    { name: SERVICE_IPS_MAP, type: serviceKey, map: 'verdict', comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' },
    { name: SERVICE_NODEPORTS_MAP, type: 'inet_proto . inet_service', map: 'verdict', comment: 'NodePort traffic' },
    { name: NO_ENDPOINT_SERVICES_MAP, type: serviceKey, map: 'verdict', comment: 'drop or reject traffic to services without (usable) endpoints' },
    { name: NO_ENDPOINT_NODEPORTS_MAP, type: 'inet_proto . inet_service', map: 'verdict', comment: 'drop or reject traffic to nodeports without (usable) endpoints' },
    { name: FIREWALL_IPS_MAP, type: serviceKey, map: 'verdict', comment: 'destinations subject to loadBalancerSourceRanges' },
    { name: HAIRPIN_SET, type: `${addr} . ${addr}`, comment: 'endpoints, to masquerade connections DNATed to their own source' },
    { name: CLUSTER_IPS_SET, type: addr, comment: 'Active ClusterIPs' },
  ];
  const elements: NftElement[] = [];
  if (env.nodePortCIDRs !== undefined) {
    sets.push({ name: NODEPORT_ADDRESSES_SET, type: addr, flags: ['interval'], autoMerge: true, comment: 'nodePortAddresses' });
    for (const cidr of env.nodePortCIDRs) elements.push({ set: NODEPORT_ADDRESSES_SET, key: [cidr] });
  }
  return { chains, sets, elements };
}
