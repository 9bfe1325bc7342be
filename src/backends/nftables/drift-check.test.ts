import { describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { defaultNodeContext } from '../../state/node-context.js';
import { expectedCounts, nftDrift, type NftTableCounts } from './drift-check.js';
import { memoObjects, planFull, planPartial, type NftMemo } from './planner.js';

const opts = { family: 'IPv4' as const, ctx: defaultNodeContext({ clusterCIDRs: ['10.244.0.0/16'] }) };
const web = servicePort({ serviceName: 'web', clusterIP: '10.96.0.10', nodePort: 30080, clusterEndpoints: [endpoint('10.244.1.1', 8080), endpoint('10.244.1.2', 8080)] });
const api = servicePort({ serviceName: 'api', clusterIP: '10.96.0.11', clusterEndpoints: [endpoint('10.244.2.1', 8080)] });

/** What the kernel would report for a table holding exactly the memo's objects. */
function kernelOf(memo: NftMemo): { chains: Map<string, number>; elements: Map<string, number> } {
  const objects = memoObjects(memo);
  return {
    chains: new Map([...objects.chains.values()].map((c) => [c.name, c.rules.length])),
    elements: new Map([...objects.sets.keys()].map((s) => [s, objects.elements.get(s)?.size ?? 0])),
  };
}

describe('nftables drift check', () => {
  it('finds nothing when the kernel holds the memo, after a full and after a partial plan', () => {
    const memo = planFull(familyState(web, api), opts);
    expect(nftDrift(expectedCounts(memo), kernelOf(memo))).toEqual([]);
    const api2 = servicePort({ ...api, clusterEndpoints: [endpoint('10.244.2.1', 8080), endpoint('10.244.2.2', 8080)] });
    const partial = planPartial(familyState(web, api2), new Set([api.key]), memo, opts);
    const next = partial?.memo as NftMemo;
    expect(nftDrift(expectedCounts(next), kernelOf(next))).toEqual([]);
    expect(nftDrift(expectedCounts(next), kernelOf(memo))).not.toEqual([]);
  });

  it('names a flushed map, a deleted rule, a deleted chain, a missing set and an added chain', () => {
    const memo = planFull(familyState(web, api), opts);
    const expected = expectedCounts(memo);
    const check = (edit: (k: ReturnType<typeof kernelOf>) => void): string => {
      const k = kernelOf(memo);
      edit(k);
      return nftDrift(expected, k as NftTableCounts).join('\n');
    };
    expect(check((k) => k.elements.set('service-ips', 0))).toMatch(/^sets or maps whose elements changed: service-ips \(0 elements, [1-9]\d* committed\)$/);
    const someChain = [...expected.chains].find(([, n]) => n > 1)?.[0] as string;
    expect(check((k) => k.chains.set(someChain, (k.chains.get(someChain) ?? 0) - 1))).toContain(`chains whose rules changed: ${someChain}`);
    expect(check((k) => k.chains.delete(someChain))).toBe(`chains missing: ${someChain}`);
    expect(check((k) => k.elements.delete('service-ips'))).toBe('sets or maps missing: service-ips');
    expect(check((k) => k.chains.set('by-hand', 1))).toBe('chains not in the last sync: by-hand');
  });

  it('only checks the presence of sets the kernel fills or merges (affinity, interval)', () => {
    const sticky = servicePort({ ...web, affinityTimeoutSeconds: 60 });
    const memo = planFull(familyState(sticky), opts);
    const expected = expectedCounts(memo);
    const uncounted = expected.sets.filter((s) => !expected.elements.has(s));
    expect(uncounted.length).toBeGreaterThan(0);
    const k = kernelOf(memo);
    for (const s of uncounted) k.elements.set(s, 7);
    expect(nftDrift(expected, k)).toEqual([]);
  });
});
