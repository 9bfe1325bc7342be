// The nftables drift check on a real kernel: the read-back over netlink matches what a sync
// wrote, an unchanged ruleset generation skips the read-back (also right after our own syncs,
// whose transactions account for the generation's moves), and a hand edit is found.
import { describe, expect, it } from 'vitest';
import { withNftNetlink } from '../../../test/lib/nft-netns.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { NftNetlink } from '../../kernel/netlink/nftables.js';
import { defaultNodeContext } from '../../state/node-context.js';
import { NftablesBackend } from './nftables-backend.js';
import { memoFragment } from './planner.js';

const ctx = defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['192.168.1.10'], clusterCIDRs: ['10.244.0.0/16'] });
const web = servicePort({ serviceName: 'web', clusterIP: '10.96.0.10', clusterEndpoints: [endpoint('10.244.1.1', 8080), endpoint('10.244.2.2', 8080)] });
const sticky = servicePort({ serviceName: 'sticky', clusterIP: '10.96.0.11', affinityTimeoutSeconds: 60, clusterEndpoints: [endpoint('10.244.1.3', 8080)] });

const scratch = withNftNetlink('svcp-h20drift');

describe('NftablesBackend.checkDrift on a real kernel', () => {
  it('reads nothing back after its own syncs, and names a deleted endpoint element', async () => {
    const { netlink: nl, nft } = scratch();
    let reads = 0;
    const counting = { commit: nl.commit.bind(nl), generation: () => nl.generation(), readCounts: (...a: Parameters<NftNetlink['readCounts']>) => (reads++, nl.readCounts(...a)) };
    const backend = new NftablesBackend({ ctx, nft, netlink: counting });
    await backend.sync({ IPv4: familyState(web, sticky), IPv6: new Map() });
    // The full sync's own transactions are all the generation moved by: nothing to read back.
    expect(await backend.checkDrift()).toEqual([]);
    expect(reads).toBe(0);

    const memo = backend.committed('IPv4');
    const map = (memo === undefined ? undefined : memoFragment(memo, web.key))?.sets.find((s) => s.map === 'endpoints')?.name as string;
    expect(map).toBeDefined();
    await nft.apply(`delete element ip svcplane ${map} { 1 }\n`);
    const drift = await backend.checkDrift();
    expect(reads).toBe(1);
    expect(drift).toEqual([`IPv4 sets or maps whose elements changed: ${map} (1 elements, 2 committed)`]);
    await backend.sync({ IPv4: familyState(web, sticky), IPv6: new Map() });
    expect(await backend.checkDrift()).toEqual([]);
    expect(reads).toBe(1);

    // A partial sync (over netlink) from a state vouched for keeps it so.
    const sticky2 = { ...sticky, clusterEndpoints: [endpoint('10.244.1.3', 8080), endpoint('10.244.1.4', 8080)] };
    const changes = (key: string) => ({ IPv4: new Set([key]), IPv6: new Set<string>(), serviceChanges: 0, endpointChanges: 1 });
    expect((await backend.sync({ IPv4: familyState(web, sticky2), IPv6: new Map() }, changes(sticky.key))).kind).toBe('partial');
    expect(await backend.checkDrift()).toEqual([]);
    expect(reads).toBe(1);

    // A hand edit, then a partial sync of another service before any check: the edit is still found.
    await nft.apply(`delete element ip svcplane ${map} { 1 }\n`);
    await backend.sync({ IPv4: familyState(web, sticky), IPv6: new Map() }, changes(sticky.key));
    expect(await backend.checkDrift()).toEqual([`IPv4 sets or maps whose elements changed: ${map} (1 elements, 2 committed)`]);
    expect(reads).toBe(2);
  });
});
