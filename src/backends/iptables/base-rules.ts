// The rules that do not depend on any service: the last rule of nat KUBE-SERVICES
// and the jumps from the built-in chains (which the applier ensures outside the
// batch). The fixed contents of the base chains are common/fixed-rules.ts (IPVS
// mode writes them too).
import { ruleBlock } from '../common/rule-writer.js';
import {
  KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_FORWARD_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_PROXY_FIREWALL_CHAIN, KUBE_SERVICES_CHAIN,
} from './chain-names.js';
import type { JumpRule, RuleBlock } from './plan-types.js';
import type { RenderEnv } from './service-rules.js';

const NODEPORTS_COMMENT = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';

/** The last rules of nat KUBE-SERVICES: local destinations go on to KUBE-NODEPORTS. */
export function nodePortsTail(env: RenderEnv): RuleBlock {
  const cidrs = env.nodePortCIDRs ?? [undefined];
  return ruleBlock(cidrs.map((cidr) => [KUBE_SERVICES_CHAIN, {
    comment: NODEPORTS_COMMENT, dstTypeLocal: true, ...(cidr === undefined ? {} : { dst: cidr }), jump: KUBE_NODEPORTS_CHAIN,
  }]));
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'] as const;
const comment = (text: string): string[] => ['-m', 'comment', '--comment', text];

/** Jumps from the built-in chains into ours, in the order kube-proxy ensures them. */
export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', args: [...comment('kubernetes service portals'), '-j', KUBE_SERVICES_CHAIN] },
  { table: 'nat', chain: 'OUTPUT', args: [...comment('kubernetes service portals'), '-j', KUBE_SERVICES_CHAIN] },
  { table: 'nat', chain: 'POSTROUTING', args: [...comment('kubernetes postrouting rules'), '-j', KUBE_POSTROUTING_CHAIN] },
  { table: 'filter', chain: 'INPUT', args: [...NEW, ...comment('kubernetes load balancer firewall'), '-j', KUBE_PROXY_FIREWALL_CHAIN] },
  { table: 'filter', chain: 'INPUT', args: [...comment('kubernetes health check service ports'), '-j', KUBE_NODEPORTS_CHAIN] },
  { table: 'filter', chain: 'INPUT', args: [...NEW, ...comment('kubernetes externally-visible service portals'), '-j', KUBE_EXTERNAL_SERVICES_CHAIN] },
  { table: 'filter', chain: 'FORWARD', args: [...NEW, ...comment('kubernetes load balancer firewall'), '-j', KUBE_PROXY_FIREWALL_CHAIN] },
  { table: 'filter', chain: 'FORWARD', args: [...comment('kubernetes forwarding rules'), '-j', KUBE_FORWARD_CHAIN] },
  { table: 'filter', chain: 'FORWARD', args: [...NEW, ...comment('kubernetes service portals'), '-j', KUBE_SERVICES_CHAIN] },
  { table: 'filter', chain: 'FORWARD', args: [...NEW, ...comment('kubernetes externally-visible service portals'), '-j', KUBE_EXTERNAL_SERVICES_CHAIN] },
  { table: 'filter', chain: 'OUTPUT', args: [...NEW, ...comment('kubernetes load balancer firewall'), '-j', KUBE_PROXY_FIREWALL_CHAIN] },
  { table: 'filter', chain: 'OUTPUT', args: [...NEW, ...comment('kubernetes service portals'), '-j', KUBE_SERVICES_CHAIN] },
];
