// One service port's rules: its own nat chains (SVC, SVL, EXT, FW, SEP) and
// its lines in the shared top-level chains, following kube-proxy's
// syncProxyRules (pkg/proxy/iptables/proxier.go) in chain structure and names.
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { EndpointInfo, ServicePortState } from '../../state/types.js';
import { nodeFamilyEnv, servicePortPolicy, type NodeFamilyEnv, type NoEndpoints, type ServicePortPolicy } from '../../state/service-policy.js';
import {
  KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_MARK_MASQ_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_PROXY_FIREWALL_CHAIN, KUBE_SERVICES_CHAIN,
  endpointChain, endpointString, hostPrefix, sanitizeCommentPart, servicePortChains, servicePortName, type ServicePortChains,
} from './chain-names.js';
import type { ServiceFragment, TopLines } from './plan-types.js';
import { RuleWriter, probability, safeComment, type RuleSpec } from '../common/rule-writer.js';

/** The node-wide inputs of rendering, already narrowed to one family. */
export interface RenderEnv extends NodeFamilyEnv {
  readonly hostSuffix: string;
}

export function renderEnv(family: IPFamily, ctx: NodeContext): RenderEnv {
  return { ...nodeFamilyEnv(family, ctx), hostSuffix: hostPrefix(family) };
}

/** The policy plus this mode's names for it. */
interface Decisions {
  readonly svc: string;
  readonly protocol: string;
  readonly chains: ServicePortChains;
  readonly policy: ServicePortPolicy;
  readonly internalChain: string;
  /** Target and comment for traffic with no usable endpoint. */
  readonly internalFilter: { readonly jump: string; readonly comment: string };
  readonly externalFilter: { readonly jump: string; readonly comment: string };
}

function noEndpointsFilter(svc: string, none: NoEndpoints): { jump: string; comment: string } {
  return none === 'drop' ? { jump: 'DROP', comment: `${svc} has no local endpoints` } : { jump: 'REJECT', comment: `${svc} has no endpoints` };
}

function decide(sp: ServicePortState, portName: string, env: RenderEnv): Decisions {
  const svc = sanitizeCommentPart(portName);
  const chains = servicePortChains(portName, sp.protocol);
  const policy = servicePortPolicy(sp, env);
  return {
    svc,
    protocol: sp.protocol.toLowerCase(),
    chains,
    policy,
    internalChain: policy.internal.localOnly ? chains.svl : chains.svc,
    internalFilter: noEndpointsFilter(svc, policy.internal.none),
    externalFilter: noEndpointsFilter(svc, policy.external.none),
  };
}

/** Renders one service port: its own chains' rules go to `own`, the rest is returned. */
export function renderServicePort(sp: ServicePortState, env: RenderEnv, own: RuleWriter): ServiceFragment {
  const portName = servicePortName(sp.namespace, sp.serviceName, sp.portName);
  const d = decide(sp, portName, env);
  const top = topLevelRules(sp, d, env);
  const before = own.count;
  const natChains = ownChainRules(sp, d, env, portName, own);
  return {
    key: sp.key,
    natChains,
    top,
    natRuleCount: own.count - before + top.natServices.count + top.natNodePorts.count,
    filterRuleCount: top.filterServices.count + top.filterExternalServices.count + top.filterNodePorts.count + top.filterFirewall.count,
  };
}

/**
 * The service port's lines in the shared chains: cluster IP, external IPs,
 * LB IPs, node ports. Written chain by chain with one writer (a block per chain).
 */
function topLevelRules(sp: ServicePortState, d: Decisions, env: RenderEnv): TopLines {
  const w = new RuleWriter();
  const { svc, protocol, chains } = d;
  const hs = env.hostSuffix;
  const dport = sp.port;
  const clusterIP = sp.clusterIP === undefined ? undefined : sp.clusterIP + hs;

  // nat KUBE-SERVICES: cluster IP, external IPs, load-balancer IPs.
  if (clusterIP !== undefined && d.policy.internal.served) {
    w.add(KUBE_SERVICES_CHAIN, { comment: `${svc} cluster IP`, protocol, dst: clusterIP, dport, jump: d.internalChain });
  }
  if (d.policy.paths.external) {
    for (const ip of sp.externalIPs) w.add(KUBE_SERVICES_CHAIN, { comment: `${svc} external IP`, protocol, dst: ip + hs, dport, jump: chains.ext });
    const lbTarget = d.policy.paths.firewall ? chains.fw : chains.ext;
    for (const ip of sp.loadBalancerIPs) w.add(KUBE_SERVICES_CHAIN, { comment: `${svc} loadbalancer IP`, protocol, dst: ip + hs, dport, jump: lbTarget });
  }
  const natServices = w.take();

  // nat KUBE-NODEPORTS (reached from the last rule of KUBE-SERVICES for local destinations).
  if (sp.nodePort > 0 && d.policy.paths.external) w.add(KUBE_NODEPORTS_CHAIN, { comment: svc, protocol, dport: sp.nodePort, jump: chains.ext });
  const natNodePorts = w.take();

  // filter KUBE-SERVICES: cluster IP without (usable) endpoints.
  if (clusterIP !== undefined && !d.policy.internal.served) w.add(KUBE_SERVICES_CHAIN, { ...d.internalFilter, protocol, dst: clusterIP, dport });
  const filterServices = w.take();

  // filter KUBE-EXTERNAL-SERVICES: external destinations without (local) endpoints.
  if (!d.policy.external.served) {
    for (const ip of sp.externalIPs) w.add(KUBE_EXTERNAL_SERVICES_CHAIN, { ...d.externalFilter, protocol, dst: ip + hs, dport });
    for (const ip of sp.loadBalancerIPs) w.add(KUBE_EXTERNAL_SERVICES_CHAIN, { ...d.externalFilter, protocol, dst: ip + hs, dport });
    if (sp.nodePort > 0) {
      for (const cidr of env.nodePortCIDRs ?? [undefined]) {
        const spec: RuleSpec = { ...d.externalFilter, dstTypeLocal: true, protocol, dport: sp.nodePort };
        w.add(KUBE_EXTERNAL_SERVICES_CHAIN, cidr === undefined ? spec : { ...spec, dst: cidr });
      }
    }
  }
  const filterExternalServices = w.take();

  // filter KUBE-NODEPORTS: the health check node port is always open.
  if (sp.healthCheckNodePort > 0) {
    w.add(KUBE_NODEPORTS_CHAIN, { comment: `${svc} health check node port`, protocol: 'tcp', dport: sp.healthCheckNodePort, jump: 'ACCEPT' });
  }
  const filterNodePorts = w.take();

  // filter KUBE-PROXY-FIREWALL: LB traffic KUBE-FW-X did not accept (and so did not DNAT).
  if (d.policy.paths.firewall) {
    for (const ip of sp.loadBalancerIPs) {
      w.add(KUBE_PROXY_FIREWALL_CHAIN, { comment: `${svc} traffic not accepted by ${chains.fw}`, protocol, dst: ip + hs, dport, jump: 'DROP' });
    }
  }
  const filterFirewall = w.take();
  return { natServices, natNodePorts, filterServices, filterExternalServices, filterNodePorts, filterFirewall };
}

/** Writes the service port's own chains (SVC, SVL, EXT, FW, then SEPs) into `w`; returns their names in that order. */
function ownChainRules(sp: ServicePortState, d: Decisions, env: RenderEnv, portName: string, w: RuleWriter): string[] {
  const { svc, protocol, chains } = d;
  const hs = env.hostSuffix;
  const names: string[] = [];
  // SEP chains are shared by SVC and SVL: one per endpoint identity.
  interface Sep { readonly ip: string; readonly ep: string; readonly chain: string }
  const seps = new Map<string, Sep>();
  const sepList: Sep[] = [];
  const affinity = d.policy.affinitySeconds;

  const svcComment = safeComment(svc);
  const endpointRules = (chain: string, eps: readonly EndpointInfo[]): void => {
    const named = eps.map((ep) => {
      const epStr = endpointString(ep.ip, ep.port);
      let sep = seps.get(epStr);
      if (sep === undefined) {
        sep = { ip: ep.ip, ep: epStr, chain: endpointChain(portName, sp.protocol, epStr) };
        seps.set(epStr, sep);
        sepList.push(sep);
      }
      return sep;
    });
    if (affinity > 0) {
      for (const e of named) w.add(chain, { comment: `${svc} -> ${e.ep}`, recent: { name: e.chain, mode: 'rcheck', seconds: affinity }, jump: e.chain });
    }
    const n = named.length;
    for (let i = 0; i < n; i++) {
      const e = named[i] as Sep;
      w.addEndpointJump(chain, svcComment, e.ep, e.chain, i < n - 1 ? probability(n - i) : undefined);
    }
  };

  // kube-proxy writes the cluster-IP masquerade rule at the head of the internal traffic chain:
  // SVC for internalTrafficPolicy Cluster, SVL for Local (only cluster-IP traffic enters there).
  const clusterIPMasquerade = (chain: string): void => {
    if (sp.clusterIP === undefined) return;
    const masq = { comment: `${svc} cluster IP`, protocol, dst: sp.clusterIP + hs, dport: sp.port, jump: KUBE_MARK_MASQ_CHAIN };
    const m = d.policy.masquerade.clusterIP;
    if (m.kind === 'all') w.add(chain, masq);
    else if (m.kind === 'off-cluster') w.add(chain, { ...masq, notSrc: m.podCIDR });
  };
  if (d.policy.paths.cluster) {
    names.push(chains.svc);
    if (!d.policy.internal.localOnly) clusterIPMasquerade(chains.svc);
    endpointRules(chains.svc, sp.clusterEndpoints);
  }
  if (d.policy.paths.local) {
    names.push(chains.svl);
    if (d.policy.internal.localOnly) clusterIPMasquerade(chains.svl);
    endpointRules(chains.svl, sp.localEndpoints);
  }
  if (d.policy.paths.external) {
    names.push(chains.ext);
    externalChainRules(w, chains.ext, svc, env, d.policy.paths.cluster ? chains.svc : undefined, d.policy.masquerade.external.kind === 'node-sources', d.policy.paths.local ? chains.svl : undefined);
  }
  if (d.policy.paths.firewall) {
    names.push(chains.fw);
    const comment = `${svc} loadbalancer IP`;
    const fw = d.policy.firewall;
    for (const src of fw.ranges) w.add(chains.fw, { comment, src, jump: chains.ext });
    if (fw.nodeInRanges) {
      for (const ip of sp.loadBalancerIPs) w.add(chains.fw, { comment, src: ip + hs, jump: chains.ext });
    }
    // Whatever falls off the end is not DNATed and KUBE-PROXY-FIREWALL drops it.
  }
  for (const sep of sepList) {
    names.push(sep.chain);
    // Hairpin masquerade, then DNAT (with the affinity `recent --set`): see RuleWriter.addEndpointChain.
    w.addEndpointChain(sep.chain, svcComment, sep.ip + hs, protocol, sep.ep, affinity > 0);
  }
  return names;
}

/** KUBE-EXT-X: masquerade as the policy needs, then hand over to the policy chain. */
function externalChainRules(
  w: RuleWriter, ext: string, svc: string, env: RenderEnv, svcChain: string | undefined, nodeSourcesOnly: boolean, svlChain: string | undefined,
): void {
  if (!nodeSourcesOnly) {
    w.add(ext, { comment: `masquerade traffic for ${svc} external destinations`, jump: KUBE_MARK_MASQ_CHAIN });
    if (svcChain !== undefined) w.add(ext, { jump: svcChain });
    return;
  }
  if (svcChain !== undefined) {
    // Pods reaching an external address get Cluster policy, as if they used the cluster IP.
    for (const src of env.clusterCIDRs) {
      w.add(ext, { comment: `pod traffic for ${svc} external destinations`, src, jump: svcChain });
    }
  }
  w.add(ext, { comment: `masquerade LOCAL traffic for ${svc} external destinations`, srcTypeLocal: true, jump: KUBE_MARK_MASQ_CHAIN });
  if (svcChain !== undefined) {
    w.add(ext, { comment: `route LOCAL traffic for ${svc} external destinations`, srcTypeLocal: true, jump: svcChain });
  }
  if (svlChain !== undefined) w.add(ext, { jump: svlChain });
}
