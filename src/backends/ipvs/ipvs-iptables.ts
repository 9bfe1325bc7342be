// The iptables rules IPVS mode still needs, as kube-proxy's IPVS mode has them: IPVS only
// rewrites destinations, so masquerading (off-cluster traffic to cluster IPs, external
// traffic with Cluster policy) and REJECT for services without endpoints stay in iptables.
// Built from the iptables backend's own pieces (chain names, rule writer, fixed rules).
// kube-proxy matches ipsets here; per-VIP rules in one chain are used until ipset support lands.
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { FamilyState } from '../../state/types.js';
import { fixedRules } from '../iptables/base-rules.js';
import { KUBE_MARK_MASQ_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_SERVICES_CHAIN, sanitizeCommentPart } from '../iptables/chain-names.js';
import type { JumpRule } from '../iptables/plan-types.js';
import { chainLine, RuleWriter, safeComment } from '../iptables/rule-writer.js';
import type { DesiredIpvs } from './virtual-servers.js';

/** The chains this rule set owns (the iptables mode's base chains, never its per-service chains). */
export const IPVS_IPTABLES_CHAINS = { nat: [KUBE_SERVICES_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_MARK_MASQ_CHAIN], filter: [KUBE_SERVICES_CHAIN] } as const;

export const IPVS_IPTABLES_JUMPS: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
  { table: 'nat', chain: 'OUTPUT', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
  { table: 'nat', chain: 'POSTROUTING', args: ['-m', 'comment', '--comment', 'kubernetes postrouting rules', '-j', KUBE_POSTROUTING_CHAIN] },
  { table: 'filter', chain: 'INPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
  { table: 'filter', chain: 'OUTPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', KUBE_SERVICES_CHAIN] },
];

const HOST = { IPv4: '/32', IPv6: '/128' } as const;

/** The whole rule set for one family (it is small: one or two rules per virtual server). */
export function renderIpvsIptables(family: IPFamily, desired: DesiredIpvs, state: FamilyState, ctx: NodeContext): string {
  const nat = new RuleWriter();
  const filter = new RuleWriter();
  const podCIDR = ctx.clusterCIDRs.find((c) => c.includes(':') === (family === 'IPv6'));
  for (const vs of [...desired.virtualServers.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const s = vs.service;
    if (s.af !== family || s.fwmark) continue;
    const match = { protocol: s.protocol.toLowerCase(), dst: `${s.address}${HOST[family]}`, dport: s.port };
    const name = sanitizeCommentPart(vs.servicePort);
    const comment = safeComment(`${name} ${vs.kind}`);
    if (vs.destinations.length === 0) {
      filter.add(KUBE_SERVICES_CHAIN, { comment: safeComment(`${name} has no endpoints`), ...match, jump: 'REJECT' });
      continue;
    }
    if (vs.kind === 'cluster-ip') {
      if (ctx.masqueradeAll) nat.add(KUBE_SERVICES_CHAIN, { comment, ...match, jump: KUBE_MARK_MASQ_CHAIN });
      else if (podCIDR) nat.add(KUBE_SERVICES_CHAIN, { comment, ...match, notSrc: podCIDR, jump: KUBE_MARK_MASQ_CHAIN });
    } else if (state.get(vs.servicePort)?.externalPolicyLocal !== true) {
      // External traffic with Cluster policy may be answered from another node: masquerade.
      nat.add(KUBE_SERVICES_CHAIN, { comment, ...match, jump: KUBE_MARK_MASQ_CHAIN });
    }
  }
  const fixed = fixedRules(ctx.masqueradeBit);
  const natRules = nat.take();
  const filterRules = filter.take();
  return [
    '*filter', chainLine(KUBE_SERVICES_CHAIN), filterRules.text + 'COMMIT',
    '*nat', ...IPVS_IPTABLES_CHAINS.nat.map(chainLine), natRules.text + fixed.natPostrouting.text + fixed.natMarkMasq.text + 'COMMIT', '',
  ].join('\n');
}
