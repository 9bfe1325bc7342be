import type { IPFamily } from '../model/types.js';

/** What the node agent knows about the node it programs; passed in, never global. */
export interface NodeContext {
  readonly nodeName: string;
  /** The node's own IPs (both families); used for NodePorts restricted to node IPs and for hairpin checks. */
  readonly nodeIPs: readonly string[];
  /** topology.kubernetes.io/zone of this node, for topology-aware routing. */
  readonly zone: string | undefined;
  /** Pod CIDRs: traffic from outside them to a cluster IP is masqueraded. Empty: no local detection. */
  readonly clusterCIDRs: readonly string[];
  /** CIDRs whose local addresses accept NodePorts; empty means every local address. */
  readonly nodePortAddresses: readonly string[];
  /** Masquerade all traffic to cluster IPs (kube-proxy's --masquerade-all). */
  readonly masqueradeAll: boolean;
  /** Bit used in the packet mark for masquerading (kube-proxy's --iptables-masquerade-bit, default 14). */
  readonly masqueradeBit: number;
  /**
   * iptables mode: serve NodePorts on 127.0.0.1 (kube-proxy's --iptables-localhost-nodeports,
   * default true): route_localnet=1 and KUBE-FIREWALL's drop of martians to 127.0.0.0/8.
   */
  readonly localhostNodePorts: boolean;
  /**
   * The service CIDRs whose unallocated addresses the nftables mode drops (kube-proxy's
   * cluster-ips-check); empty: no such check.
   */
  readonly serviceCIDRs: readonly string[];
}

export function defaultNodeContext(overrides: Partial<NodeContext> = {}): NodeContext {
  return {
    nodeName: 'localhost',
    nodeIPs: [],
    zone: undefined,
    clusterCIDRs: [],
    nodePortAddresses: [],
    masqueradeAll: false,
    masqueradeBit: 14,
    localhostNodePorts: true,
    serviceCIDRs: [],
    ...overrides,
  };
}

export function familyOf(ip: string): IPFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}
