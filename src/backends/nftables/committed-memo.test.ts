// The compact committed memo: shared-map claims as owner strings, the memo holding
// service port states (not rendered objects), and the full transaction's element buffer.
import { describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { ServicePortState } from '../../state/types.js';
import { expectedCounts } from './drift-check.js';
import { SharedClaims } from './element-claims.js';
import { FullTransactionBuilder, fullTransaction } from './full-transaction.js';
import type { NftElement } from './objects.js';
import { ElementCommandBuffer, elementCommands } from './partial-ops.js';
import { memoObjects, planFull, planPartial, type NftMemo } from './planner.js';
import { NftCommands } from './render.js';

const opts = { family: 'IPv4' as const, ctx: defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['192.168.1.10'], clusterCIDRs: ['10.244.0.0/16'] }) };

describe('SharedClaims', () => {
  it('gives a key to the first claimant by service-port key, whatever the order, and hands it on', () => {
    const c = new SharedClaims();
    c.add('service-ips', '203.0.113.7 . tcp . 80', 'ns/b:http');
    c.add('service-ips', '203.0.113.7 . tcp . 80', 'ns/c:http');
    c.add('service-ips', '203.0.113.7 . tcp . 80', 'ns/a:http');
    c.add('service-ips', '203.0.113.7 . tcp . 80', 'ns/a:http');
    expect(c.claimants('service-ips', '203.0.113.7 . tcp . 80')).toEqual(['ns/a:http', 'ns/b:http', 'ns/c:http']);
    expect(c.contested).toBe(1);
    const copy = new SharedClaims(c);
    c.remove('service-ips', '203.0.113.7 . tcp . 80', 'ns/a:http');
    expect(c.owner('service-ips', '203.0.113.7 . tcp . 80')).toBe('ns/b:http');
    // The copy shares no owner list with the original.
    expect(copy.owner('service-ips', '203.0.113.7 . tcp . 80')).toBe('ns/a:http');
    c.remove('service-ips', '203.0.113.7 . tcp . 80', 'ns/b:http');
    expect(c.contested).toBe(0);
    c.remove('service-ips', '203.0.113.7 . tcp . 80', 'ns/c:http');
    expect(c.count('service-ips')).toBe(0);
    expect(copy.count('service-ips')).toBe(1);
  });
});

describe('ElementCommandBuffer', () => {
  it('writes the commands elementCommands writes per set, whatever the interleaving', () => {
    const cmd = new NftCommands('ip', 'svcplane');
    const sets = ['hairpin-endpoints', 'eps-a', 'service-ips'];
    const all: NftElement[] = [];
    for (let i = 0; i < 2500; i++) all.push({ set: sets[i % 3] as string, key: [`10.0.${i >> 8}.${i & 255}`] });
    const buffer = new ElementCommandBuffer(cmd);
    for (const e of all) buffer.push(e.set, `${e.key[0] as string}`);
    buffer.seal('eps-a');
    buffer.push('eps-a', '10.9.9.9');
    const expected = sets.flatMap((s) => elementCommands(cmd, s, [...all.filter((e) => e.set === s), ...(s === 'eps-a' ? [{ set: s, key: ['10.9.9.9'] }] : [])]));
    // Sealing ends a command early: the set's commands are the same elements, one more command.
    const got = buffer.commands();
    expect(got.length).toBe(expected.length + 1);
    const elementsOf = (lines: string[]): string[] => lines.flatMap((l) => /\{ (.*) \}$/.exec(l)?.[1]?.split(', ') ?? []);
    expect(elementsOf(got)).toEqual(elementsOf(expected));
    const unsealed = new ElementCommandBuffer(cmd);
    for (const e of all) unsealed.push(e.set, `${e.key[0] as string}`);
    expect(unsealed.commands()).toEqual(sets.flatMap((s) => elementCommands(cmd, s, all.filter((e) => e.set === s))));
  });
});

describe('the committed memo', () => {
  const a = servicePort({ serviceName: 'a', clusterIP: '10.96.0.11', externalIPs: ['203.0.113.7'], nodePort: 30080, clusterEndpoints: [endpoint('10.244.1.1', 80), endpoint('10.244.9.9', 80)] });
  const b = servicePort({ serviceName: 'b', clusterIP: '10.96.0.12', externalIPs: ['203.0.113.7'], clusterEndpoints: [endpoint('10.244.9.9', 80)] });
  const c = servicePort({ serviceName: 'c', clusterIP: '10.96.0.13', affinityTimeoutSeconds: 60, clusterEndpoints: [endpoint('10.244.3.3', 80)] });

  it('holds the state objects it was planned from, not rendered copies', () => {
    const memo = planFull(familyState(a, b, c), opts);
    expect(memo.ports.get(a.key)?.sp).toBe(a);
    expect(Object.keys(memo.ports.get(a.key) ?? {}).sort()).toEqual(['chains', 'sets', 'sp']);
  });

  it('after partial plans in place, stands for what a full plan of the same state does', () => {
    const steps: ServicePortState[][] = [
      [a, b, c],
      [b, c], // a gone: b takes the shared external IP and hairpin element
      [a, servicePort({ ...b, clusterEndpoints: [endpoint('10.244.2.2', 80)] }), c],
      [a, servicePort({ ...c, affinityTimeoutSeconds: 0 })],
    ];
    let memo: NftMemo = planFull(familyState(...(steps[0] ?? [])), opts);
    for (const ports of steps.slice(1)) {
      const changed = new Set([a.key, b.key, c.key]);
      const plan = planPartial(familyState(...ports), changed, memo, opts, { inPlace: true });
      if (plan === undefined) throw new Error('no partial plan');
      memo = plan.memo;
      const fresh = planFull(familyState(...ports), opts);
      expect(memoObjects(memo)).toEqual(memoObjects(fresh));
      // A port planned again is listed last (Map order): the same counts in another order.
      const counts = (m: NftMemo): unknown => ({ ...expectedCounts(m), sets: [...expectedCounts(m).sets].sort() });
      expect(counts(memo)).toEqual(counts(fresh));
      expect(memo.rules).toEqual(fresh.rules);
      expect(fullTransaction(memo, undefined).stats).toEqual(fullTransaction(fresh, undefined).stats);
    }
  });

  it('feeds the full transaction as it plans: the same script as rendering the memo again', () => {
    const existing = { chains: [{ table: 'svcplane', name: 'stale' }], sets: [{ table: 'svcplane', name: 'service-ips', type: 'ipv4_addr', flags: [] }] };
    const builder = new FullTransactionBuilder('ip', 'svcplane', existing);
    const memo = planFull(familyState(c, b, a), opts, builder);
    const fed = builder.finish();
    expect(fed).toEqual(fullTransaction(memo, existing));
    expect(fed.stats.chainsDeleted).toBe(1);
    // The contested external IP is a's (first by key), whatever order the state lists them in.
    expect(fed.script).toContain('203.0.113.7 . tcp . 80 comment "default/a:http" : goto external-');
    expect(fed.script).not.toContain('203.0.113.7 . tcp . 80 comment "default/b:http"');
  });
});
