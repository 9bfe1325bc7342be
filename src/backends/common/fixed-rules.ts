// The fixed contents of the base chains both the iptables mode and IPVS mode's companion
// rules write, as kube-proxy does: masquerade what KUBE-MARK-MASQ marked, and accept
// forwarded service traffic.
import { KUBE_FORWARD_CHAIN, KUBE_MARK_MASQ_CHAIN, KUBE_POSTROUTING_CHAIN } from './iptables-chains.js';
import { markValue, ruleBlock, type RuleBlock } from './rule-writer.js';

export interface FixedRules {
  readonly natPostrouting: RuleBlock;
  readonly natMarkMasq: RuleBlock;
  readonly filterForward: RuleBlock;
}

export function fixedRules(masqueradeBit: number): FixedRules {
  const mark = markValue(masqueradeBit);
  const masked = `${mark}/${mark}`;
  return {
    natPostrouting: ruleBlock([
      [KUBE_POSTROUTING_CHAIN, { mark: { value: masked, negated: true }, jump: 'RETURN' }],
      // Clear the mark so that re-traversals (e.g. IPsec) do not masquerade again.
      [KUBE_POSTROUTING_CHAIN, { jump: 'MARK', targetArgs: ['--xor-mark', mark] }],
      [KUBE_POSTROUTING_CHAIN, { comment: 'kubernetes service traffic requiring SNAT', jump: 'MASQUERADE', targetArgs: ['--random-fully'] }],
    ]),
    natMarkMasq: ruleBlock([[KUBE_MARK_MASQ_CHAIN, { jump: 'MARK', targetArgs: ['--or-mark', mark] }]]),
    filterForward: ruleBlock([
      [KUBE_FORWARD_CHAIN, { ctstate: 'INVALID', jump: 'DROP' }],
      [KUBE_FORWARD_CHAIN, { comment: 'kubernetes forwarding rules', mark: { value: masked, negated: false }, jump: 'ACCEPT' }],
      [KUBE_FORWARD_CHAIN, { comment: 'kubernetes forwarding conntrack rule', ctstate: 'RELATED,ESTABLISHED', jump: 'ACCEPT' }],
    ]),
  };
}
