// The node, addresses and endpoints both modes' behaviour tests trace packets through,
// so that the iptables and nftables suites describe the same cluster.
import { defaultNodeContext, type NodeContext } from '../../src/state/node-context.js';
import { endpoint } from './state-fixtures.js';

export const NODE_IP = '192.168.1.10';
export const CLIENT = '203.0.113.7';
export const POD = '10.244.9.9';
export const CLUSTER_IP = '10.96.0.10';
export const EXTERNAL_IP = '198.51.100.50';
export const LB_IP = '198.51.100.80';
export const NODE_PORT = 30080;
export const ENV = { localAddresses: [NODE_IP, '127.0.0.0/8'] };

export const ctx = (overrides: Partial<NodeContext> = {}): NodeContext =>
  defaultNodeContext({ nodeIPs: [NODE_IP, 'fd00:1::10'], clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/64'], ...overrides });

export const remote1 = endpoint('10.244.1.1', 8080);
export const remote2 = endpoint('10.244.2.2', 8080);
export const local3 = endpoint('10.244.0.3', 8080, { isLocal: true });
