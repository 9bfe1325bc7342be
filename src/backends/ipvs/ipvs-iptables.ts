// The iptables rules IPVS mode still needs, as kube-proxy's IPVS mode has them: IPVS only
// rewrites destinations, so masquerading (off-cluster traffic to cluster IPs, external
// traffic with Cluster policy) and REJECT for services without endpoints stay in iptables.
// Built from the pieces both modes share (backends/common: chain names, rule writer, fixed rules).
// Hairpin and cluster-IP traffic are masqueraded through the KUBE-LOOP-BACK and KUBE-CLUSTER-IP
// ipsets (ipvs-ipsets.ts), one rule each, as kube-proxy does; the rules for NodePorts, external
// and load-balancer IPs and the REJECTs are still per virtual server.
import { clusterIPMasquerade, nodeFamilyEnv, servicePortPolicy } from '../../state/service-policy.js';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { FamilyState, ServicePortState } from '../../state/types.js';
import type { JumpRule } from '../../kernel/iptables.js';
import { fixedRules } from '../common/fixed-rules.js';
import { KUBE_MARK_MASQ_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_SERVICES_CHAIN, sanitizeCommentPart } from '../common/iptables-chains.js';
import { chainLine, RuleWriter, safeComment } from '../common/rule-writer.js';
import { clusterIPMasqueradeRule, loopBackRule } from './ipvs-ipsets.js';
import type { DesiredIpvs, DesiredVirtualServer } from './virtual-servers.js';

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

/** One virtual server's rules: each table's lines, in restore syntax. */
export interface IptablesFragment {
  readonly nat: string;
  readonly filter: string;
}

/** The rules of one virtual server of `sp` (none for another family or a fwmark service). */
export function virtualServerRules(family: IPFamily, vs: DesiredVirtualServer, sp: ServicePortState | undefined, ctx: NodeContext): IptablesFragment {
  const s = vs.service;
  if (s.af !== family || s.fwmark) return { nat: '', filter: '' };
  const externalPolicyLocal = sp?.externalPolicyLocal === true;
  const nat = new RuleWriter();
  const filter = new RuleWriter();
  const match = { protocol: s.protocol.toLowerCase(), dst: `${s.address}${HOST[family]}`, dport: s.port };
  const name = sanitizeCommentPart(vs.servicePort);
  const comment = safeComment(`${name} ${vs.kind}`);
  const firewall = vs.kind === 'load-balancer' && sp !== undefined ? servicePortPolicy(sp, nodeFamilyEnv(family, ctx)).firewall : undefined;
  if (firewall?.filtered === true) {
    // loadBalancerSourceRanges: new connections from elsewhere are dropped before IPVS sees them.
    for (const allowed of firewall.allowed) {
      filter.add(KUBE_SERVICES_CHAIN, { comment: safeComment(`${name} loadbalancer IP allowed source`), src: allowed, ...match, jump: 'RETURN' });
    }
    filter.add(KUBE_SERVICES_CHAIN, { comment: safeComment(`${name} loadbalancer IP not in loadBalancerSourceRanges`), ...match, jump: 'DROP' });
  }
  if (vs.destinations.length === 0) {
    filter.add(KUBE_SERVICES_CHAIN, { comment: safeComment(`${name} has no endpoints`), ...match, jump: 'REJECT' });
  } else if (vs.kind === 'cluster-ip') {
    // Masqueraded through KUBE-CLUSTER-IP (one rule for all: see assembleIpvsIptables).
  } else if (!externalPolicyLocal) {
    // External traffic with Cluster policy may be answered from another node: masquerade.
    nat.add(KUBE_SERVICES_CHAIN, { comment, ...match, jump: KUBE_MARK_MASQ_CHAIN });
  }
  return { nat: nat.take().text, filter: filter.take().text };
}

/** The whole rule set of one family from its virtual servers' fragments, in key order. */
export function assembleIpvsIptables(family: IPFamily, fragments: ReadonlyMap<string, IptablesFragment>, ctx: NodeContext): string {
  const keys = [...fragments.keys()].sort();
  const nat: string[] = [];
  const filter: string[] = [];
  for (const key of keys) {
    const f = fragments.get(key) as IptablesFragment;
    if (f.nat) nat.push(f.nat);
    if (f.filter) filter.push(f.filter);
  }
  const fixed = fixedRules(ctx.masqueradeBit);
  // The policy step's decision, whatever the internal traffic policy (as kube-proxy's IPVS mode).
  const masquerade = clusterIPMasquerade(nodeFamilyEnv(family, ctx));
  const clusterIPRule =
    masquerade.kind === 'none' ? '' : clusterIPMasqueradeRule(family, KUBE_SERVICES_CHAIN, KUBE_MARK_MASQ_CHAIN, masquerade.kind === 'off-cluster' ? masquerade.podCIDR : undefined);
  return [
    '*filter', chainLine(KUBE_SERVICES_CHAIN), filter.join('') + 'COMMIT',
    '*nat', ...IPVS_IPTABLES_CHAINS.nat.map(chainLine), clusterIPRule + nat.join('') + loopBackRule(family, KUBE_POSTROUTING_CHAIN) + fixed.natPostrouting.text + fixed.natMarkMasq.text + 'COMMIT', '',
  ].join('\n');
}

/** Every virtual server's fragment for one family. */
export function ipvsIptablesFragments(family: IPFamily, desired: DesiredIpvs, state: FamilyState, ctx: NodeContext): Map<string, IptablesFragment> {
  const out = new Map<string, IptablesFragment>();
  for (const vs of desired.virtualServers.values()) {
    if (vs.service.af === family) out.set(vs.key, virtualServerRules(family, vs, state.get(vs.servicePort), ctx));
  }
  return out;
}

/** The whole rule set for one family (it is small: one or two rules per virtual server). */
export function renderIpvsIptables(family: IPFamily, desired: DesiredIpvs, state: FamilyState, ctx: NodeContext): string {
  return assembleIpvsIptables(family, ipvsIptablesFragments(family, desired, state, ctx), ctx);
}
