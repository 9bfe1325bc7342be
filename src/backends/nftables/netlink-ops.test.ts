// The netlink path must leave the kernel exactly as the `nft -f` path does:
// every golden case is planned as a partial sync (from an empty table, and the
// partial cases from their "before"), applied once as nft text and once as
// netlink messages in two network namespaces, and `nft list table` compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NFT_GOLDEN_CASES, NFT_PARTIAL_CASES, type NftGoldenCase } from '../../../test/lib/nftables-golden-cases.js';
import { createNftNetns, type NftNetns, withNftNetlink } from '../../../test/lib/nft-netns.js';
import type { FamilyState } from '../../state/types.js';
import { fullTransaction } from './full-transaction.js';
import { elementKeyBytes, lowerOps, lowerRule } from './netlink-ops.js';
import { planFull, planPartial } from './planner.js';

let text: NftNetns | undefined;
beforeAll(async () => {
  text = await createNftNetns();
});
afterAll(async () => {
  await text?.destroy();
});
const wire = withNftNetlink();

function need<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('test setup failed');
  return v;
}

async function compare(c: NftGoldenCase, before: FamilyState, changed: readonly string[]): Promise<void> {
  const opts = { family: c.family, ctx: c.ctx };
  const memo = planFull(before, opts);
  const plan = planPartial(c.state, new Set(changed), memo, opts);
  if (plan === undefined) throw new Error('expected a partial plan');
  // Every service port's objects go through netlink (only base chains are left to nft).
  const messages = lowerOps(memo.family, plan.ops);
  if (messages === undefined) throw new Error('the netlink path refused ops it should encode');
  for (const ns of [need(text), wire()]) {
    await ns.nft.deleteTable(memo.family, memo.table);
    await ns.nft.apply(fullTransaction(memo, undefined).script);
  }
  if (plan.script !== '') await need(text).nft.apply(plan.script);
  wire().netlink.commit(memo.family, memo.table, messages);
  const [a, b] = await Promise.all([need(text).nft.listTableText(memo.family, memo.table), wire().nft.listTableText(memo.family, memo.table)]);
  expect(b).toBe(a);
}

describe('netlink partial syncs leave what nft -f leaves', () => {
  for (const c of NFT_GOLDEN_CASES) {
    it(`${c.name} (every service port added to an empty table)`, async () => {
      await compare(c, new Map(), [...c.state.keys()]);
    });
    it(`${c.name} (every service port removed)`, async () => {
      await compare({ ...c, state: new Map() }, c.state, [...c.state.keys()]);
    });
  }
  for (const c of NFT_PARTIAL_CASES) {
    it(c.name, async () => {
      await compare(c, c.before, c.changed);
    });
  }
});

describe('netlink transactions', () => {
  it('are all or nothing: a failing message leaves the table as it was', async () => {
    const ns = wire();
    await ns.nft.deleteTable('ip', 't');
    await ns.nft.apply('add table ip t\nadd chain ip t keep\n');
    const before = await ns.nft.listTableText('ip', 't');
    const err = (() => {
      try {
        wire().netlink.commit('ip', 't', [{ kind: 'newchain', chain: 'new-one' }, { kind: 'delchain', chain: 'no-such-chain' }]);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ errnoName: 'ENOENT' });
    expect((err as Error).message).toContain('delchain no-such-chain');
    expect(await ns.nft.listTableText('ip', 't')).toBe(before);
  });
});

describe('lowering', () => {
  it('encodes concatenated keys with each part padded to 4 bytes', () => {
    expect([...(elementKeyBytes('ip', ['10.96.0.1', 'tcp', 80]) ?? [])]).toEqual([10, 96, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0]);
    expect(elementKeyBytes('ip', ['fd00::1', 'udp', 53])).toBeUndefined();
    expect(elementKeyBytes('ip6', ['fd00::1', 'udp', 53])?.length).toBe(24);
    expect(elementKeyBytes('ip', ['10.0.0.0/8'])).toBeUndefined();
  });

  it('leaves base-chain statements to nft', () => {
    expect(lowerRule('ip', { match: [{ kind: 'ct-state', state: 'new' }], action: { kind: 'verdict', verdict: { kind: 'drop' } } })).toBeUndefined();
    expect(lowerRule('ip', { match: [], action: { kind: 'masquerade' } })).toBeUndefined();
    expect(lowerRule('ip', { match: [{ kind: 'addr', dir: 'saddr', negated: false, value: '10.0.0.0/9' }], action: { kind: 'verdict', verdict: { kind: 'accept' } } })?.map((e) => e.type))
      .toEqual(['payload', 'bitwise', 'cmp', 'verdict']);
  });
});
