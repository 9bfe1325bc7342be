import { describe, expect, it } from 'vitest';
import { endpoint, familyState, servicePort } from '../../../test/lib/state-fixtures.js';
import { defaultNodeContext } from '../../state/node-context.js';
import type { FamilyState, ServicePortState } from '../../state/types.js';
import { NftablesPlanError } from './errors.js';
import { fullTransaction } from './full-transaction.js';
import { memoObjects, planFull, planPartial } from './planner.js';

const ctx = defaultNodeContext({ nodeName: 'node-a', nodeIPs: ['192.168.1.10'], clusterCIDRs: ['10.244.0.0/16'] });
const opts = { family: 'IPv4' as const, ctx };

function synthetic(n: number, generation = 0, victim = -1): FamilyState {
  const ports: ServicePortState[] = [];
  for (let i = 0; i < n; i++) {
    const eps = Array.from({ length: 10 }, (_, j) => endpoint(`10.${128 + (i >> 8)}.${i & 255}.${j + 1 + (i === victim && j === 0 ? generation * 100 : 0)}`, 8080));
    ports.push(servicePort({ serviceName: `svc-${String(i).padStart(5, '0')}`, clusterIP: `10.96.${i >> 8}.${i & 255}`, nodePort: i % 10 === 0 ? 30000 + i : 0, clusterEndpoints: eps }));
  }
  return familyState(...ports);
}

describe('partial plans', () => {
  it('a one-endpoint change is a few element writes, the same at 100 and at 1,000 services', () => {
    const sizes = [100, 1000].map((n) => {
      const victim = 50;
      const full = planFull(synthetic(n), opts);
      const partial = planPartial(synthetic(n, 1, victim), new Set([`default/svc-${String(victim).padStart(5, '0')}:http`]), full, opts);
      // The endpoint map's element and the hairpin element are replaced; no chain or rule changes.
      expect(partial?.stats).toEqual({ chainsWritten: 0, chainsDeleted: 0, elementsAdded: 2, elementsDeleted: 2 });
      expect(partial?.ops.some((o) => o.op === 'add-rules' || o.op === 'flush-chain')).toBe(false);
      return { partial: partial?.script.length ?? 0, full: fullTransaction(full, undefined).script.length };
    });
    expect(sizes[0]?.partial).toBeGreaterThan(0);
    expect(sizes[1]?.partial).toBe(sizes[0]?.partial);
    expect(sizes[1]?.full).toBeGreaterThan(5 * (sizes[0]?.full ?? 0));
  });

  it('does not change the memo it started from', () => {
    const full = planFull(familyState(servicePort({ clusterEndpoints: [endpoint('10.244.1.1', 80)] })), opts);
    const before = memoObjects(full);
    planPartial(new Map(), new Set(['default/web:http']), full, opts);
    expect(memoObjects(full)).toEqual(before);
  });

  it('in place, it ends where the copying plan does', () => {
    const key = `default/svc-${String(7).padStart(5, '0')}:http`;
    const copied = planPartial(synthetic(20, 1, 7), new Set([key]), planFull(synthetic(20), opts), opts);
    const inPlace = planPartial(synthetic(20, 1, 7), new Set([key]), planFull(synthetic(20), opts), opts, { inPlace: true });
    expect(inPlace?.script).toBe(copied?.script);
    expect(memoObjects(inPlace?.memo ?? planFull(new Map(), opts))).toEqual(memoObjects(copied?.memo ?? planFull(new Map(), opts)));
  });

  it('an unchanged service port yields an empty transaction', () => {
    const s = familyState(servicePort({ clusterEndpoints: [endpoint('10.244.1.1', 80)] }));
    expect(planPartial(s, new Set(['default/web:http']), planFull(s, opts), opts)?.script).toBe('');
  });
});

describe('element conflicts', () => {
  const a = servicePort({ serviceName: 'a', clusterIP: '10.96.0.11', externalIPs: ['203.0.113.7'], clusterEndpoints: [endpoint('10.244.1.1', 80)] });
  const b = servicePort({ serviceName: 'b', clusterIP: '10.96.0.12', externalIPs: ['203.0.113.7'], clusterEndpoints: [endpoint('10.244.2.2', 80)] });
  const target = (s: FamilyState): string | undefined => {
    const v = memoObjects(planFull(s, opts)).elements.get('service-ips')?.get('203.0.113.7 . tcp . 80')?.verdict;
    return v?.kind === 'goto' ? v.chain : undefined;
  };

  it('the first service port by key owns a contested key, the next one takes over', () => {
    expect(target(familyState(a, b))).toMatch(/^external-[A-Z2-7]{8}-default\/a\//);
    const partial = planPartial(familyState(b), new Set(['default/a:http']), planFull(familyState(a, b), opts), opts);
    const v = partial === undefined ? undefined : memoObjects(partial.memo).elements.get('service-ips')?.get('203.0.113.7 . tcp . 80')?.verdict;
    expect(v).toMatchObject({ kind: 'goto', chain: expect.stringMatching(/^external-[A-Z2-7]{8}-default\/b\//) });
  });
});

describe('names', () => {
  it('user names never break the syntax: identifiers keep to nft\'s characters', () => {
    const nasty = servicePort({
      namespace: 'ns" ; flush ruleset', serviceName: 'x y\nz$(reboot)`id`', portName: "p\\'q\r\n}{",
      nodePort: 30081, affinityTimeoutSeconds: 5, clusterEndpoints: [endpoint('10.244.1.1', 80), endpoint('10.244.2.2', 80, { isLocal: true })],
    });
    const objects = memoObjects(planFull(familyState(nasty), opts));
    for (const name of [...objects.chains.keys(), ...objects.sets.keys()]) expect(name).toMatch(/^[a-z][A-Za-z0-9_./-]*$/);
    for (const line of fullTransaction(planFull(familyState(nasty), opts), undefined).script.split('\n')) {
      // Quotes appear only around comments, and comments hold no quote or backslash.
      expect(line.replace(/comment "[^"\\]*"/g, '')).not.toMatch(/["\\\n\r]/);
    }
  });

  it('refuses service ports of the other family', () => {
    expect(() => planFull(familyState(servicePort({ clusterIP: 'fd00::10' })), opts)).toThrow(NftablesPlanError);
  });
});
