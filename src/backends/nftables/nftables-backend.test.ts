// The backend against the real kernel, in a throwaway network namespace: a full
// sync, partial syncs, drift repair, the IPv6 table's life cycle and cleanup,
// each checked by reading the table back.
import { beforeAll, describe, expect, it } from 'vitest';
import { withNftNetlink } from '../../../test/lib/nft-netns.js';
import { expectedForm, readTable } from '../../../test/lib/nft-readback.js';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import type { IPFamily } from '../../model/types.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { DesiredState, FamilyState, ServicePortState, StateChanges } from '../../state/types.js';
import { NftablesBackend } from './nftables-backend.js';
import { memoFragment, memoObjects } from './planner.js';

const ctx = defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['192.168.1.10'], clusterCIDRs: ['10.244.0.0/16'] });
const web = (eps = [endpoint('10.244.1.1', 8080), endpoint('10.244.2.2', 8080)]): ServicePortState =>
  servicePort({ nodePort: 30080, affinityTimeoutSeconds: 60, clusterEndpoints: eps });
const db = servicePort({ serviceName: 'db', clusterIP: '10.96.0.20', externalIPs: ['203.0.113.7'], clusterEndpoints: [endpoint('10.244.3.3', 5432)] });
const empty = servicePort({ serviceName: 'empty', clusterIP: '10.96.0.30' });
const v6 = servicePort({ serviceName: 'six', clusterIP: 'fd00:96::10', clusterEndpoints: [endpoint('fd00:244::1', 8080)] });

const state = (v4: FamilyState, v6State: FamilyState = new Map()): DesiredState => ({ IPv4: v4, IPv6: v6State });
const changes = (v4: string[], v6Keys: string[] = []): StateChanges => ({ IPv4: new Set(v4), IPv6: new Set(v6Keys), serviceChanges: 1, endpointChanges: 1 });

const netns = withNftNetlink();
let backend: NftablesBackend;
beforeAll(() => {
  const { nft, netlink } = netns();
  backend = new NftablesBackend({ ctx, nft, netlink });
});

async function expectKernelMatches(family: IPFamily): Promise<void> {
  const memo = backend.committed(family);
  if (memo === undefined) throw new Error(`nothing committed for ${family}`);
  expect(await readTable(netns().nft, memo.family, memo.table)).toEqual(expectedForm(memoObjects(memo)));
}

describe('NftablesBackend on a real kernel', () => {
  it('a full sync writes exactly the planned chains, sets and elements', async () => {
    const out = await backend.sync(state(familyState(web(), db, empty)));
    expect(out.kind).toBe('full');
    expect(out.ruleCounts['nat']).toBeGreaterThan(0);
    expect(out.ruleCounts['filter']).toBeGreaterThan(0);
    expect(out.sent['transactions']).toBe(1);
    await expectKernelMatches('IPv4');
    expect(await netns().nft.hasTable('ip6', 'svcplane')).toBe(false);
  });

  it('partial syncs edit only the changed service ports and leave the same table as the plan', async () => {
    const s1 = state(familyState(web([endpoint('10.244.1.1', 8080), endpoint('10.244.4.4', 8080)]), db, empty));
    const p1 = await backend.sync(s1, changes(['default/web:http']));
    expect(p1.kind).toBe('partial');
    // With affinity, kube-proxy's design: the service chain and the new endpoint chain.
    expect(p1.sent['chainsWritten']).toBe(2);
    expect(p1.sent['elementsAdded']).toBe(1); // the new endpoint's hairpin element
    // Sent as netlink messages, not through nft.
    expect(p1.sent['netlinkTransactions']).toBe(1);
    expect(p1.sent['transactions']).toBe(0);
    await expectKernelMatches('IPv4');

    // db goes away, empty gains endpoints: elements move between maps.
    const s2 = state(familyState(web([endpoint('10.244.1.1', 8080)]), servicePort({ ...empty, clusterEndpoints: [endpoint('10.244.5.5', 80)], hasEndpoints: true })));
    const p2 = await backend.sync(s2, changes(['default/web:http', 'default/db:http', 'default/empty:http']));
    expect(p2.kind).toBe('partial');
    expect(p2.sent['elementsDeleted']).toBeGreaterThanOrEqual(3);
    await expectKernelMatches('IPv4');
  });

  it('a full sync repairs drift: a deleted element, a stray chain, a flushed chain; affinity clients survive', async () => {
    const nft = netns().nft;
    const memo = backend.committed('IPv4');
    if (memo === undefined) throw new Error('nothing committed');
    const web = memoFragment(memo, 'default/web:http');
    const svcChain = web?.chains[0]?.name ?? '';
    const affinity = web?.sets[0]?.name ?? '';
    await nft.apply([
      'delete element ip svcplane service-ips { 10.96.0.10 . tcp . 80 }',
      'add chain ip svcplane service-STALE-old/gone/tcp/x',
      `flush chain ip svcplane ${svcChain}`,
      `add element ip svcplane ${affinity} { 203.0.113.9 }`,
      '',
    ].join('\n'));
    expect(await readTable(nft, 'ip', 'svcplane')).not.toEqual(expectedForm(memoObjects(memo)));
    const out = await backend.sync(currentState());
    expect(out.kind).toBe('full');
    await expectKernelMatches('IPv4');
    expect(JSON.stringify(await nft.listTableJson('ip', 'svcplane'))).toContain('203.0.113.9');
  });

  it('the IPv6 table exists only while IPv6 service ports do', async () => {
    await backend.sync({ IPv4: currentState().IPv4, IPv6: familyState(v6) }, changes([], ['default/six:http']));
    await expectKernelMatches('IPv6');
    await backend.sync({ IPv4: currentState().IPv4, IPv6: new Map() }, changes([], ['default/six:http']));
    expect(await netns().nft.hasTable('ip6', 'svcplane')).toBe(false);
  });

  it('cleanup deletes svcplane\'s tables and nothing else', async () => {
    await netns().nft.apply('add table ip other\nadd chain ip other keep\n');
    expect(await backend.hasLeftovers()).toBe(true);
    await backend.cleanup();
    expect(await backend.hasLeftovers()).toBe(false);
    expect(await netns().nft.hasTable('ip', 'other')).toBe(true);
    expect(await netns().nft.hasTable('ip', 'svcplane')).toBe(false);
  });
});

/** The state the backend last committed for IPv4 (rebuilt from the test's last inputs). */
function currentState(): DesiredState {
  return state(familyState(web([endpoint('10.244.1.1', 8080)]), servicePort({ ...empty, clusterEndpoints: [endpoint('10.244.5.5', 80)], hasEndpoints: true })));
}
