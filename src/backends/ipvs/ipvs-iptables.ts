// The iptables rules IPVS mode still needs, as kube-proxy's IPVS mode has them: IPVS only
// rewrites destinations, so masquerading (off-cluster traffic to cluster IPs, external traffic
// with Cluster policy, hairpin), the loadBalancerSourceRanges firewall and REJECT for services
// without endpoints stay in iptables. Every rule matches one of the ipsets (ipvs-ipsets.ts), so
// the rule set is fixed: it depends on the node's settings, never on the services, and a sync
// changes set members only.
import { clusterIPMasquerade, nodeFamilyEnv } from '../../state/service-policy.js';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { JumpRule } from '../../kernel/iptables.js';
import { fixedRules } from '../common/fixed-rules.js';
import { KUBE_MARK_MASQ_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_SERVICES_CHAIN } from '../common/iptables-chains.js';
import { chainLine } from '../common/rule-writer.js';
import {
  CLUSTER_IP_SET, EXTERNAL_IP_LOCAL_SET, EXTERNAL_IP_SET, HEALTH_CHECK_NODE_PORT_SET, LOAD_BALANCER_FW_SET, LOAD_BALANCER_LOCAL_SET, LOAD_BALANCER_SET,
  LOAD_BALANCER_SOURCE_CIDR_SET, LOAD_BALANCER_SOURCE_IP_SET, LOOP_BACK_SET, NO_ENDPOINTS_SET, NODE_PORT_LOCAL_SETS, NODE_PORT_SETS, type IpvsIpset,
} from './ipvs-ipsets.js';

/** kube-proxy's IPVS-mode chains. */
export const KUBE_LOAD_BALANCER_CHAIN = 'KUBE-LOAD-BALANCER';
export const KUBE_NODE_PORT_CHAIN = 'KUBE-NODE-PORT';
export const KUBE_SOURCE_RANGES_FIREWALL_CHAIN = 'KUBE-SOURCE-RANGES-FIREWALL';

/** The chains this rule set owns (never the iptables mode's per-service chains). */
export const IPVS_IPTABLES_CHAINS = {
  nat: [KUBE_SERVICES_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_MARK_MASQ_CHAIN, KUBE_LOAD_BALANCER_CHAIN, KUBE_NODE_PORT_CHAIN],
  filter: [KUBE_SERVICES_CHAIN, KUBE_SOURCE_RANGES_FIREWALL_CHAIN],
} as const;

export const IPVS_IPTABLES_JUMPS: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
  { table: 'nat', chain: 'OUTPUT', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
  { table: 'nat', chain: 'POSTROUTING', args: ['-m', 'comment', '--comment', 'kubernetes postrouting rules', '-j', KUBE_POSTROUTING_CHAIN] },
  { table: 'filter', chain: 'INPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
  { table: 'filter', chain: 'OUTPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
];

/** `-A CHAIN [-p P] -m comment --comment "<the set's>" -m set --match-set NAME FLAGS [EXTRA] -j TARGET`. */
function setRule(chain: string, set: IpvsIpset, flags: string, target: string, opts: { protocol?: string; extra?: string } = {}): string {
  const protocol = opts.protocol === undefined ? '' : ` -p ${opts.protocol}`;
  const extra = opts.extra === undefined ? '' : ` ${opts.extra}`;
  return `-A ${chain}${protocol} -m comment --comment "${set.comment}" -m set --match-set ${set.name} ${flags}${extra} -j ${target}\n`;
}

/** The nat rules of KUBE-SERVICES, KUBE-LOAD-BALANCER and KUBE-NODE-PORT. */
function natRules(family: IPFamily, ctx: NodeContext): string {
  const f = <T>(s: Readonly<Record<IPFamily, T>>): T => s[family];
  // The policy step's decision, whatever the internal traffic policy (as kube-proxy's IPVS mode).
  const masquerade = clusterIPMasquerade(nodeFamilyEnv(family, ctx));
  let out = '';
  if (masquerade.kind !== 'none') {
    out += setRule(KUBE_SERVICES_CHAIN, f(CLUSTER_IP_SET), 'dst,dst', KUBE_MARK_MASQ_CHAIN, masquerade.kind === 'off-cluster' ? { extra: `! -s ${masquerade.podCIDR}` } : {});
  }
  // External traffic with Cluster policy may be answered from another node: masquerade.
  out += setRule(KUBE_SERVICES_CHAIN, f(EXTERNAL_IP_SET), 'dst,dst', KUBE_MARK_MASQ_CHAIN);
  out += setRule(KUBE_SERVICES_CHAIN, f(LOAD_BALANCER_SET), 'dst,dst', KUBE_LOAD_BALANCER_CHAIN);
  // Virtual servers' own traffic is done here (kube-proxy's acceptIPVSTraffic), before the
  // NodePort rules, which match a port on any local address (kube-ipvs0's VIPs are local too).
  for (const set of [CLUSTER_IP_SET, EXTERNAL_IP_SET, EXTERNAL_IP_LOCAL_SET, LOAD_BALANCER_SET]) out += setRule(KUBE_SERVICES_CHAIN, f(set), 'dst,dst', 'ACCEPT');
  out += `-A ${KUBE_SERVICES_CHAIN} -m addrtype --dst-type LOCAL -j ${KUBE_NODE_PORT_CHAIN}\n`;
  out += setRule(KUBE_LOAD_BALANCER_CHAIN, f(LOAD_BALANCER_LOCAL_SET), 'dst,dst', 'RETURN');
  out += `-A ${KUBE_LOAD_BALANCER_CHAIN} -j ${KUBE_MARK_MASQ_CHAIN}\n`;
  for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) {
    const flags = protocol === 'SCTP' ? 'dst,dst' : 'dst';
    const p = protocol.toLowerCase();
    out += setRule(KUBE_NODE_PORT_CHAIN, f(NODE_PORT_LOCAL_SETS[protocol]), flags, 'RETURN', { protocol: p });
    out += setRule(KUBE_NODE_PORT_CHAIN, f(NODE_PORT_SETS[protocol]), flags, KUBE_MARK_MASQ_CHAIN, { protocol: p });
  }
  return out;
}

/** The filter rules: health-check NodePorts accepted, the source-range firewall, REJECT without endpoints. */
function filterRules(family: IPFamily): string {
  const f = <T>(s: Readonly<Record<IPFamily, T>>): T => s[family];
  return [
    setRule(KUBE_SERVICES_CHAIN, f(HEALTH_CHECK_NODE_PORT_SET), 'dst', 'ACCEPT', { protocol: 'tcp' }),
    // loadBalancerSourceRanges: new connections from elsewhere are dropped before IPVS sees them.
    setRule(KUBE_SERVICES_CHAIN, f(LOAD_BALANCER_FW_SET), 'dst,dst', KUBE_SOURCE_RANGES_FIREWALL_CHAIN),
    setRule(KUBE_SERVICES_CHAIN, f(NO_ENDPOINTS_SET), 'dst,dst', 'REJECT'),
    setRule(KUBE_SOURCE_RANGES_FIREWALL_CHAIN, f(LOAD_BALANCER_SOURCE_CIDR_SET), 'dst,dst,src', 'RETURN'),
    setRule(KUBE_SOURCE_RANGES_FIREWALL_CHAIN, f(LOAD_BALANCER_SOURCE_IP_SET), 'dst,dst,src', 'RETURN'),
    `-A ${KUBE_SOURCE_RANGES_FIREWALL_CHAIN} -j DROP\n`,
  ].join('');
}

/** The whole rule set of one family (restore syntax): the same whatever the services. */
export function renderIpvsIptables(family: IPFamily, ctx: NodeContext): string {
  const fixed = fixedRules(ctx.masqueradeBit);
  const postrouting = setRule(KUBE_POSTROUTING_CHAIN, LOOP_BACK_SET[family], 'dst,dst,src', 'MASQUERADE');
  return [
    '*filter', ...IPVS_IPTABLES_CHAINS.filter.map(chainLine), filterRules(family) + 'COMMIT',
    '*nat', ...IPVS_IPTABLES_CHAINS.nat.map(chainLine), natRules(family, ctx) + postrouting + fixed.natPostrouting.text + fixed.natMarkMasq.text + 'COMMIT', '',
  ].join('\n');
}
