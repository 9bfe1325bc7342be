// The nftables planner's golden cases: the iptables planner's cases (the same
// representative services and node contexts) plus nftables-specific ones, and
// partial-sync cases (a state before, a state after, the keys that changed).
import { expect } from 'vitest';
import type { IPFamily } from '../../src/model/types.js';
import { defaultNodeContext, type NodeContext } from '../../src/state/node-context.js';
import type { FamilyState } from '../../src/state/types.js';
import { readGolden } from './golden-file.js';
import { GOLDEN_CASES as IPTABLES_CASES } from './iptables-golden-cases.js';
import { endpoint, familyState, servicePort } from './state-fixtures.js';

export interface NftGoldenCase {
  readonly name: string;
  readonly family: IPFamily;
  readonly ctx: NodeContext;
  readonly state: FamilyState;
}

export interface NftPartialCase extends NftGoldenCase {
  readonly before: FamilyState;
  readonly changed: readonly string[];
}

const ctx = (o: Partial<NodeContext> = {}): NodeContext => defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['192.168.1.10', 'fd00:1::10'], ...o });
const ep1 = endpoint('10.244.1.5', 8080);
const ep2 = endpoint('10.244.2.6', 8080);
const ep3 = endpoint('10.244.3.7', 8080, { isLocal: true });

export const NFT_GOLDEN_CASES: readonly NftGoldenCase[] = [
  ...IPTABLES_CASES.map(({ name, family, ctx: c, state }) => ({ name, family, ctx: c, state })),
  {
    name: 'overlapping-source-ranges', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({
      loadBalancerIPs: ['192.168.1.200'], loadBalancerSourceRanges: ['192.168.0.0/16', '192.168.1.0/24', 'fd00::/8'], clusterEndpoints: [ep1],
    })),
  },
  {
    name: 'source-ranges-other-family-only', family: 'IPv4', ctx: ctx(),
    state: familyState(servicePort({ loadBalancerIPs: ['198.51.100.20'], loadBalancerSourceRanges: ['fd00::/8'], clusterEndpoints: [ep1] })),
  },
  {
    // Two services claim one external IP and port: the first by key wins, as in iptables mode.
    name: 'conflicting-external-ip', family: 'IPv4', ctx: ctx(),
    state: familyState(
      servicePort({ serviceName: 'a', clusterIP: '10.96.0.11', externalIPs: ['203.0.113.7'], clusterEndpoints: [ep1] }),
      servicePort({ serviceName: 'b', clusterIP: '10.96.0.12', externalIPs: ['203.0.113.7'], clusterEndpoints: [ep2] }),
    ),
  },
  {
    name: 'affinity-itp-local', family: 'IPv4', ctx: ctx({ clusterCIDRs: ['10.244.0.0/16'] }),
    state: familyState(servicePort({ internalPolicyLocal: true, affinityTimeoutSeconds: 30, nodePort: 30080, clusterEndpoints: [ep1, ep3] })),
  },
  {
    name: 'nodeport-addresses-other-family-only', family: 'IPv4', ctx: ctx({ nodePortAddresses: ['fd00:1::/64'] }),
    state: familyState(servicePort({ nodePort: 30080, clusterEndpoints: [ep1] })),
  },
  {
    // kube-proxy's cluster-ips-check: unused ports of cluster IPs rejected, unallocated service-CIDR addresses dropped.
    name: 'cluster-ip-check', family: 'IPv4', ctx: ctx({ serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/108'], clusterCIDRs: ['10.244.0.0/16'] }),
    state: familyState(
      servicePort({ clusterEndpoints: [ep1, ep2] }),
      servicePort({ portName: 'https', port: 443, clusterEndpoints: [ep1, ep2] }),
      servicePort({ serviceName: 'empty', clusterIP: '10.96.0.30' }),
    ),
  },
];

const web = (o: Parameters<typeof servicePort>[0] = {}) => servicePort({ nodePort: 30080, clusterEndpoints: [ep1, ep2], ...o });
const db = servicePort({ serviceName: 'db', clusterIP: '10.96.0.20', clusterEndpoints: [ep1] });

export const NFT_PARTIAL_CASES: readonly NftPartialCase[] = [
  { name: 'partial-endpoint-replaced', family: 'IPv4', ctx: ctx(), before: familyState(web(), db), state: familyState(web({ clusterEndpoints: [ep1, ep3] }), db), changed: ['default/web:http'] },
  // A count change rewrites the service chain (numgen's modulus) and adds an endpoint map element.
  { name: 'partial-endpoint-added', family: 'IPv4', ctx: ctx(), before: familyState(web(), db), state: familyState(web({ clusterEndpoints: [ep1, ep2, ep3] }), db), changed: ['default/web:http'] },
  { name: 'partial-service-removed', family: 'IPv4', ctx: ctx(), before: familyState(web(), db), state: familyState(db), changed: ['default/web:http'] },
  { name: 'partial-service-added', family: 'IPv4', ctx: ctx(), before: familyState(db), state: familyState(web(), db), changed: ['default/web:http'] },
  { name: 'partial-last-endpoint-gone', family: 'IPv4', ctx: ctx(), before: familyState(web(), db), state: familyState(web({ clusterEndpoints: [] }), db), changed: ['default/web:http'] },
  // Affinity switched on and off: endpoint maps give way to per-endpoint chains and sets, and back.
  { name: 'partial-affinity-enabled', family: 'IPv4', ctx: ctx(), before: familyState(web(), db), state: familyState(web({ affinityTimeoutSeconds: 60 }), db), changed: ['default/web:http'] },
  { name: 'partial-affinity-disabled', family: 'IPv4', ctx: ctx(), before: familyState(web({ affinityTimeoutSeconds: 60 }), db), state: familyState(web(), db), changed: ['default/web:http'] },
  {
    name: 'partial-affinity-timeout', family: 'IPv4', ctx: ctx(),
    before: familyState(web({ affinityTimeoutSeconds: 60 })), state: familyState(web({ affinityTimeoutSeconds: 120 })), changed: ['default/web:http'],
  },
  {
    name: 'partial-conflict-owner-removed', family: 'IPv4', ctx: ctx(),
    before: familyState(
      servicePort({ serviceName: 'a', clusterIP: '10.96.0.11', externalIPs: ['203.0.113.7'], clusterEndpoints: [ep1] }),
      servicePort({ serviceName: 'b', clusterIP: '10.96.0.12', externalIPs: ['203.0.113.7'], clusterEndpoints: [ep2] }),
    ),
    state: familyState(servicePort({ serviceName: 'b', clusterIP: '10.96.0.12', externalIPs: ['203.0.113.7'], clusterEndpoints: [ep2] })),
    changed: ['default/a:http'],
  },
];

/** Compare an nft script with its golden file, exactly (missing goldens fail; see golden-file.ts to record them). */
export function expectNftGolden(path: string, actual: string): void {
  const golden = readGolden(path, actual);
  if (golden === undefined) return;
  expect(actual).toBe(golden);
}
