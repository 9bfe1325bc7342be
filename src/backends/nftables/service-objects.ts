// One service port's objects: its chains (service, local, external, firewall,
// endpoints), its affinity sets and its elements in the shared verdict maps.
// WHAT happens to each kind of traffic is the iptables mode's (kube-proxy's)
// decision, taken once by the policy step (src/state/service-policy.ts); HOW is
// kube-proxy's nftables design: one verdict map lookup instead of a rule per IP.
import type { EndpointInfo, ServicePortState } from '../../state/types.js';
import { servicePortPolicy, type NoEndpoints, type NodeFamilyEnv, type ServicePortPolicy } from '../../state/service-policy.js';
import {
  CLUSTER_IPS_SET, FIREWALL_IPS_MAP, HAIRPIN_SET, MARK_MASQ_CHAIN, NO_ENDPOINT_NODEPORTS_MAP, NO_ENDPOINT_SERVICES_MAP, REJECT_CHAIN, SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP, endpointNames, servicePortNames, servicePortString, type EndpointNames,
} from './names.js';
import type { L4Protocol, Match, NftChain, NftElement, NftRule, NftSet, Verdict } from './objects.js';

export interface ServiceFragment {
  readonly key: string;
  /** Its own chains, in the order service, local, external, firewall, endpoints. */
  readonly chains: readonly NftChain[];
  /** Its endpoint maps, or (with ClientIP affinity) its affinity sets, one per endpoint as kube-proxy's. */
  readonly sets: readonly NftSet[];
  /** Its elements in the shared maps. */
  readonly elements: readonly NftElement[];
}

const goto = (chain: string): Verdict => ({ kind: 'goto', chain });
const jumpRule = (chain: string, match: Match[], comment?: string): NftRule => ({
  match, action: { kind: 'verdict', verdict: { kind: 'jump', chain } }, ...(comment === undefined ? {} : { comment }),
});
const gotoRule = (chain: string, match: Match[], comment?: string): NftRule => ({
  match, action: { kind: 'verdict', verdict: goto(chain) }, ...(comment === undefined ? {} : { comment }),
});

export function serviceFragment(sp: ServicePortState, env: NodeFamilyEnv): ServiceFragment {
  const names = servicePortNames(sp.namespace, sp.serviceName, sp.protocol, sp.portName);
  const label = servicePortString(sp.namespace, sp.serviceName, sp.portName);
  const protocol = sp.protocol.toLowerCase() as L4Protocol;
  const policy = servicePortPolicy(sp, env);
  const { cluster: usesSvc, local: usesSvl, external: usesExt, firewall: usesFw } = policy.paths;
  const hasInternalEndpoints = policy.internal.served;
  const hasExternalEndpoints = policy.external.served;
  const noEndpoints = (none: NoEndpoints): Verdict => (none === 'drop' ? { kind: 'drop' } : goto(REJECT_CHAIN));
  const internalFilter = noEndpoints(policy.internal.none);
  const externalFilter = noEndpoints(policy.external.none);

  const elements: NftElement[] = [];
  const element = (set: string, key: (string | number)[], verdict: Verdict): void => {
    elements.push({ set, key, verdict, comment: label });
  };
  if (sp.clusterIP !== undefined) {
    // Shared by the ports of a service (the claims keep it while one is left); no comment, so
    // that which port holds it never shows as a change.
    elements.push({ set: CLUSTER_IPS_SET, key: [sp.clusterIP] });
    if (hasInternalEndpoints) element(SERVICE_IPS_MAP, [sp.clusterIP, protocol, sp.port], goto(policy.internal.localOnly ? names.local : names.service));
    else element(NO_ENDPOINT_SERVICES_MAP, [sp.clusterIP, protocol, sp.port], internalFilter);
  }
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
    if (usesExt) element(SERVICE_IPS_MAP, [ip, protocol, sp.port], goto(names.external));
    if (!hasExternalEndpoints) element(NO_ENDPOINT_SERVICES_MAP, [ip, protocol, sp.port], externalFilter);
  }
  if (usesFw) for (const ip of sp.loadBalancerIPs) element(FIREWALL_IPS_MAP, [ip, protocol, sp.port], goto(names.firewall));
  if (sp.nodePort > 0) {
    if (usesExt) element(SERVICE_NODEPORTS_MAP, [protocol, sp.nodePort], goto(names.external));
    if (!hasExternalEndpoints) element(NO_ENDPOINT_NODEPORTS_MAP, [protocol, sp.nodePort], externalFilter);
  }

  // An endpoint reaching itself through the service is masqueraded (the masquerading chain's hairpin rule).
  for (const ip of new Set([...sp.clusterEndpoints, ...sp.localEndpoints].map((ep) => ep.ip))) elements.push({ set: HAIRPIN_SET, key: [ip, ip] });

  const affinity = policy.affinitySeconds > 0;
  const sets: NftSet[] = [];
  const endpointChains: NftChain[] = [];
  // With ClientIP affinity, kube-proxy's design: a chain and an affinity set per endpoint (shared
  // by the service and local chains), chosen by a numgen cascade unless the client is remembered.
  const endpoints = new Map<string, EndpointNames>();
  const named = (eps: readonly EndpointInfo[]): EndpointNames[] => eps.map((ep) => {
    const id = `${ep.ip}|${ep.port}`;
    let n = endpoints.get(id);
    if (n === undefined) {
      n = endpointNames(sp.namespace, sp.serviceName, sp.protocol, sp.portName, ep.ip, ep.port);
      endpoints.set(id, n);
      sets.push({ name: n.affinitySet, type: env.family === 'IPv6' ? 'ipv6_addr' : 'ipv4_addr', flags: ['dynamic', 'timeout'], timeout: policy.affinitySeconds });
      endpointChains.push({ name: n.chain, rules: [{ match: [], action: { kind: 'update-saddr', set: n.affinitySet } }, { match: [], action: { kind: 'dnat', protocol, ip: ep.ip, port: ep.port } }] });
    }
    return n;
  });
  // Without: an endpoint map per chain, elements 0..n-1, picked by one numgen lookup.
  const addrType = env.family === 'IPv6' ? 'ipv6_addr' : 'ipv4_addr';
  const balance = (eps: readonly EndpointInfo[], map: string): NftRule[] => {
    if (!affinity) {
      sets.push({ name: map, type: 'integer', map: 'endpoints', data: `${addrType} . inet_service`, protocol });
      eps.forEach((ep, i) => elements.push({ set: map, key: [i], data: [ep.ip, ep.port] }));
      return [{ match: [], action: { kind: 'dnat-map', protocol, mod: eps.length, map } }];
    }
    const targets = named(eps);
    const rules: NftRule[] = targets.map((t) => gotoRule(t.chain, [{ kind: 'addr-set', dir: 'saddr', set: t.affinitySet }]));
    // Endpoint i of n is taken with probability 1/(n-i) among those left: an even split.
    targets.forEach((t, i) => rules.push(gotoRule(t.chain, i < targets.length - 1 ? [{ kind: 'numgen', mod: targets.length - i }] : [])));
    return rules;
  };

  const chains: NftChain[] = [];
  // The cluster-IP masquerade rule heads the internal traffic chain: service for
  // internalTrafficPolicy Cluster, local for Local (only cluster-IP traffic enters there).
  const clusterIPMasquerade: NftRule[] = [];
  if (sp.clusterIP !== undefined) {
    const toClusterIP: Match[] = [{ kind: 'addr', dir: 'daddr', negated: false, value: sp.clusterIP }, { kind: 'dport', protocol, port: sp.port }];
    const m = policy.masquerade.clusterIP;
    if (m.kind === 'all') clusterIPMasquerade.push(jumpRule(MARK_MASQ_CHAIN, toClusterIP));
    else if (m.kind === 'off-cluster') clusterIPMasquerade.push(jumpRule(MARK_MASQ_CHAIN, [...toClusterIP, { kind: 'addr', dir: 'saddr', negated: true, value: m.podCIDR }]));
  }
  const internalLocal = policy.internal.localOnly;
  if (usesSvc) chains.push({ name: names.service, rules: [...(internalLocal ? [] : clusterIPMasquerade), ...balance(sp.clusterEndpoints, names.endpoints)] });
  if (usesSvl) chains.push({ name: names.local, rules: [...(internalLocal ? clusterIPMasquerade : []), ...balance(sp.localEndpoints, names.localEndpoints)] });
  if (usesExt) chains.push({ name: names.external, rules: externalRules(env, policy.masquerade.external.kind === 'node-sources', usesSvc ? names.service : undefined, usesSvl ? names.local : undefined) });
  if (usesFw) chains.push({ name: names.firewall, rules: firewallRules(policy) });
  chains.push(...endpointChains);
  return { key: sp.key, chains, sets, elements };
}

/** The external chain: masquerade as the policy needs, then hand over to the policy chain. */
function externalRules(env: NodeFamilyEnv, nodeSourcesOnly: boolean, svc: string | undefined, svl: string | undefined): NftRule[] {
  const rules: NftRule[] = [];
  if (!nodeSourcesOnly) {
    rules.push(jumpRule(MARK_MASQ_CHAIN, [], 'masquerade traffic for external destinations'));
    if (svc !== undefined) rules.push(gotoRule(svc, []));
    return rules;
  }
  // Pods reaching an external address get Cluster policy, as if they used the cluster IP.
  if (svc !== undefined) for (const cidr of env.clusterCIDRs) rules.push(gotoRule(svc, [{ kind: 'addr', dir: 'saddr', negated: false, value: cidr }], 'short-circuit pod traffic'));
  rules.push(jumpRule(MARK_MASQ_CHAIN, [{ kind: 'fib-local', dir: 'saddr' }], 'masquerade local traffic'));
  if (svc !== undefined) rules.push(gotoRule(svc, [{ kind: 'fib-local', dir: 'saddr' }], 'short-circuit local traffic'));
  if (svl !== undefined) rules.push(gotoRule(svl, []));
  return rules;
}

/**
 * Drops new connections to the LB IPs from outside loadBalancerSourceRanges (and the node, when
 * in them): each allowed range returns (the base chain then accepts), the rest is dropped. One
 * rule per range rather than an anonymous set, so a partial sync stays plain netlink messages.
 */
function firewallRules(policy: ServicePortPolicy): NftRule[] {
  const allowed = policy.firewall.allowed;
  const rules: NftRule[] = allowed.map((value) => ({ match: [{ kind: 'addr', dir: 'saddr', negated: false, value }], action: { kind: 'verdict', verdict: { kind: 'return' } } }));
  // Ranges only of the other family: nothing of this family is allowed.
  rules.push({ match: [], action: { kind: 'verdict', verdict: { kind: 'drop' } } });
  return rules;
}
