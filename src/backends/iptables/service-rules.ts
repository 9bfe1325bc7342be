// One service port's rules: its own nat chains (SVC, SVL, EXT, FW, SEP) and
// its lines in the shared top-level chains, following kube-proxy's
// syncProxyRules (pkg/proxy/iptables/proxier.go) in chain structure and names.
import { BlockList, isIP } from 'node:net';
import type { IPFamily } from '../../model/types.js';
import type { NodeContext } from '../../state/node-context.js';
import type { EndpointInfo, ServicePortState } from '../../state/types.js';
import { isExternallyAccessible } from '../../state/types.js';
import {
  KUBE_EXTERNAL_SERVICES_CHAIN, KUBE_MARK_MASQ_CHAIN, KUBE_NODEPORTS_CHAIN, KUBE_PROXY_FIREWALL_CHAIN, KUBE_SERVICES_CHAIN,
  endpointChain, endpointString, hostPrefix, sanitizeCommentPart, servicePortChains, servicePortName, type ServicePortChains,
} from './chain-names.js';
import type { ServiceFragment, TopLines } from './plan-types.js';
import { RuleWriter, probability, safeComment, type RuleSpec } from './rule-writer.js';

/** The node-wide inputs of rendering, already narrowed to one family. */
export interface RenderEnv {
  readonly family: IPFamily;
  readonly hostSuffix: string;
  readonly masqueradeAll: boolean;
  /** Cluster CIDRs of this family (pod traffic detection). */
  readonly clusterCIDRs: readonly string[];
  /** undefined: NodePorts on every local address; else only on these CIDRs of this family (maybe none). */
  readonly nodePortCIDRs: readonly string[] | undefined;
  readonly nodeIPs: readonly string[];
}

const ofFamily = (family: IPFamily) => (addr: string) => addr.includes(':') === (family === 'IPv6');

export function renderEnv(family: IPFamily, ctx: NodeContext): RenderEnv {
  const mine = ofFamily(family);
  return {
    family,
    hostSuffix: hostPrefix(family),
    masqueradeAll: ctx.masqueradeAll,
    clusterCIDRs: ctx.clusterCIDRs.filter(mine),
    nodePortCIDRs: ctx.nodePortAddresses.length === 0 ? undefined : ctx.nodePortAddresses.filter(mine),
    nodeIPs: ctx.nodeIPs.filter(mine),
  };
}

/** Whether any node IP lies in one of the source ranges (then the node may reach its own LB IP). */
function nodeInRanges(env: RenderEnv, ranges: readonly string[]): boolean {
  if (env.nodeIPs.length === 0 || ranges.length === 0) return false;
  const type = env.family === 'IPv6' ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  for (const r of ranges) {
    const [net, bits] = r.split('/');
    if (net === undefined || isIP(net) === 0) continue;
    const prefix = bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits);
    if (Number.isInteger(prefix)) list.addSubnet(net, prefix, type);
  }
  return env.nodeIPs.some((ip) => list.check(ip, type));
}

/** What kube-proxy derives per service port before writing any rule. */
interface Decisions {
  readonly svc: string;
  readonly protocol: string;
  readonly chains: ServicePortChains;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  readonly internalChain: string;
  readonly usesExt: boolean;
  readonly usesSvc: boolean;
  readonly usesSvl: boolean;
  readonly usesFw: boolean;
  /** Target and comment for traffic with no usable endpoint. */
  readonly internalFilter: { readonly jump: string; readonly comment: string };
  readonly externalFilter: { readonly jump: string; readonly comment: string };
}

function decide(sp: ServicePortState, portName: string): Decisions {
  const svc = sanitizeCommentPart(portName);
  const chains = servicePortChains(portName, sp.protocol);
  const { internalPolicyLocal, externalPolicyLocal, hasEndpoints } = sp;
  const cluster = sp.clusterEndpoints.length;
  const local = sp.localEndpoints.length;
  const hasClusterIP = sp.clusterIP !== undefined;
  const usesExt = hasEndpoints && isExternallyAccessible(sp);
  const noEndpoints = { jump: 'REJECT', comment: `${svc} has no endpoints` };
  const noLocalEndpoints = { jump: 'DROP', comment: `${svc} has no local endpoints` };
  return {
    svc,
    protocol: sp.protocol.toLowerCase(),
    chains,
    hasInternalEndpoints: internalPolicyLocal ? local > 0 : cluster > 0,
    hasExternalEndpoints: externalPolicyLocal ? local > 0 : hasEndpoints,
    internalChain: internalPolicyLocal ? chains.svl : chains.svc,
    usesExt,
    usesSvc: cluster > 0 && ((!internalPolicyLocal && hasClusterIP) || usesExt),
    usesSvl: local > 0 && ((internalPolicyLocal && hasClusterIP) || (usesExt && externalPolicyLocal)),
    usesFw: hasEndpoints && sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0,
    internalFilter: internalPolicyLocal && hasEndpoints ? noLocalEndpoints : noEndpoints,
    externalFilter: externalPolicyLocal && hasEndpoints ? noLocalEndpoints : noEndpoints,
  };
}

/** Renders one service port: its own chains' rules go to `own`, the rest is returned. */
export function renderServicePort(sp: ServicePortState, env: RenderEnv, own: RuleWriter): ServiceFragment {
  const portName = servicePortName(sp.namespace, sp.serviceName, sp.portName);
  const d = decide(sp, portName);
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
  if (clusterIP !== undefined && d.hasInternalEndpoints) {
    w.add(KUBE_SERVICES_CHAIN, { comment: `${svc} cluster IP`, protocol, dst: clusterIP, dport, jump: d.internalChain });
  }
  if (sp.hasEndpoints) {
    for (const ip of sp.externalIPs) w.add(KUBE_SERVICES_CHAIN, { comment: `${svc} external IP`, protocol, dst: ip + hs, dport, jump: chains.ext });
    const lbTarget = d.usesFw ? chains.fw : chains.ext;
    for (const ip of sp.loadBalancerIPs) w.add(KUBE_SERVICES_CHAIN, { comment: `${svc} loadbalancer IP`, protocol, dst: ip + hs, dport, jump: lbTarget });
  }
  const natServices = w.take();

  // nat KUBE-NODEPORTS (reached from the last rule of KUBE-SERVICES for local destinations).
  if (sp.nodePort > 0 && sp.hasEndpoints) w.add(KUBE_NODEPORTS_CHAIN, { comment: svc, protocol, dport: sp.nodePort, jump: chains.ext });
  const natNodePorts = w.take();

  // filter KUBE-SERVICES: cluster IP without (usable) endpoints.
  if (clusterIP !== undefined && !d.hasInternalEndpoints) w.add(KUBE_SERVICES_CHAIN, { ...d.internalFilter, protocol, dst: clusterIP, dport });
  const filterServices = w.take();

  // filter KUBE-EXTERNAL-SERVICES: external destinations without (local) endpoints.
  if (!d.hasExternalEndpoints) {
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
  if (d.usesFw) {
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
  const affinity = sp.affinityTimeoutSeconds;

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

  if (d.usesSvc) {
    names.push(chains.svc);
    if (sp.clusterIP !== undefined) {
      const masq = { comment: `${svc} cluster IP`, protocol, dst: sp.clusterIP + hs, dport: sp.port, jump: KUBE_MARK_MASQ_CHAIN };
      const podCIDR = env.clusterCIDRs[0];
      if (env.masqueradeAll) w.add(chains.svc, masq);
      else if (podCIDR !== undefined) w.add(chains.svc, { ...masq, notSrc: podCIDR });
    }
    endpointRules(chains.svc, sp.clusterEndpoints);
  }
  if (d.usesSvl) {
    names.push(chains.svl);
    endpointRules(chains.svl, sp.localEndpoints);
  }
  if (d.usesExt) {
    names.push(chains.ext);
    externalChainRules(w, chains.ext, svc, env, d.usesSvc ? chains.svc : undefined, sp.externalPolicyLocal, d.usesSvl ? chains.svl : undefined);
  }
  if (d.usesFw) {
    names.push(chains.fw);
    const comment = `${svc} loadbalancer IP`;
    const ranges = sp.loadBalancerSourceRanges.filter(ofFamily(env.family));
    for (const src of ranges) w.add(chains.fw, { comment, src, jump: chains.ext });
    if (nodeInRanges(env, ranges)) {
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
  w: RuleWriter, ext: string, svc: string, env: RenderEnv, svcChain: string | undefined, externalPolicyLocal: boolean, svlChain: string | undefined,
): void {
  if (!externalPolicyLocal) {
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
