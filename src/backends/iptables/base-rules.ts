// The rules that do not depend on any service: the last rule of nat KUBE-SERVICES
// and the jumps from the built-in chains (which the applier ensures outside the
// batch). The fixed contents of the base chains are common/fixed-rules.ts (IPVS
// mode writes them too).
import { ruleBlock } from '../common/rule-writer.js';
import {
  KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_FIREWALL_CHAIN, KUBE_FORWARD_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_POSTROUTING_CHAIN, KUBE_PROXY_FIREWALL_CHAIN, KUBE_SERVICES_CHAIN,
} from './chain-names.js';
import type { JumpRule, RuleBlock } from './plan-types.js';
import type { RenderEnv } from './service-rules.js';

const NODEPORTS_COMMENT = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';

/** The loopback range of a family, as kube-proxy excludes it from NodePorts. */
function loopback(env: RenderEnv): string {
  return env.family === 'IPv6' ? '::1/128' : '127.0.0.0/8';
}

/** A nodePortAddresses CIDR that holds only loopback addresses. */
function onlyLoopback(cidr: string): boolean {
  return cidr === '::1/128' || (/^127\./.test(cidr) && Number(cidr.split('/')[1] ?? '32') >= 8);
}

/**
 * The last rules of nat KUBE-SERVICES: local destinations go on to KUBE-NODEPORTS. Loopback
 * destinations only with localhost NodePorts (IPv4, --iptables-localhost-nodeports): DNATed
 * without route_localnet, they would be dropped by routing and the client would hang; left
 * alone, they reach the node's own 127.0.0.1 and are refused.
 */
export function nodePortsTail(env: RenderEnv): RuleBlock {
  const notLoopback = env.localhostNodePorts ? {} : { notDst: loopback(env) };
  const cidrs = env.nodePortCIDRs?.filter((c) => env.localhostNodePorts || !onlyLoopback(c));
  if (cidrs === undefined) return ruleBlock([[KUBE_SERVICES_CHAIN, { comment: NODEPORTS_COMMENT, dstTypeLocal: true, ...notLoopback, jump: KUBE_NODEPORTS_CHAIN }]]);
  return ruleBlock(cidrs.map((cidr) => [KUBE_SERVICES_CHAIN, { comment: NODEPORTS_COMMENT, dstTypeLocal: true, dst: cidr, jump: KUBE_NODEPORTS_CHAIN }]));
}

/**
 * With route_localnet=1 (localhost NodePorts), packets to 127.0.0.0/8 from elsewhere are no
 * longer martians: kube-proxy's KUBE-FIREWALL rule drops those that were not DNATed.
 */
export function localnetFirewall(env: RenderEnv): RuleBlock {
  if (!env.localhostNodePorts) return ruleBlock([]);
  return ruleBlock([[KUBE_FIREWALL_CHAIN, {
    comment: 'block incoming localnet connections', dst: '127.0.0.0/8', notSrc: '127.0.0.0/8', notCtstate: 'RELATED,ESTABLISHED,DNAT', jump: 'DROP',
  }]]);
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'] as const;
const comment = (text: string): string[] => ['-m', 'comment', '--comment', text];

/** Jumps from the built-in chains into ours, in the order kube-proxy ensures them. */
export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'filter', chain: 'INPUT', args: ['-j', KUBE_FIREWALL_CHAIN] },
  { table: 'filter', chain: 'OUTPUT', args: ['-j', KUBE_FIREWALL_CHAIN] },
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
