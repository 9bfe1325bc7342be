// Golden transactions for representative services, full and partial; every
// script must also pass the real `nft -c` in a throwaway network namespace.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NFT_GOLDEN_CASES, NFT_PARTIAL_CASES, expectNftGolden } from '../../../test/lib/nftables-golden-cases.js';
import { createNftNetns, type NftNetns } from '../../../test/lib/nft-netns.js';
import { fullTransaction } from './full-transaction.js';
import { planFull, planPartial } from './planner.js';

const goldenDir = fileURLToPath(new URL('../../../test/golden/nftables/', import.meta.url));

let ns: NftNetns | undefined;
beforeAll(async () => {
  ns = await createNftNetns();
});
afterAll(async () => {
  await ns?.destroy();
});

function netns(): NftNetns {
  if (ns === undefined) throw new Error('no network namespace');
  return ns;
}

describe('nftables full transactions (golden, nft -c)', () => {
  for (const c of NFT_GOLDEN_CASES) {
    it(c.name, async () => {
      const { script } = fullTransaction(planFull(c.state, { family: c.family, ctx: c.ctx }), undefined);
      expectNftGolden(`${goldenDir}${c.name}.nft`, script);
      await netns().nft.apply(script, { check: true });
    });
  }
});

describe('nftables partial transactions (golden, nft -c over the applied full one)', () => {
  for (const c of NFT_PARTIAL_CASES) {
    it(c.name, async () => {
      const opts = { family: c.family, ctx: c.ctx };
      const before = planFull(c.before, opts);
      const partial = planPartial(c.state, new Set(c.changed), before, opts);
      expect(partial?.kind).toBe('partial');
      expectNftGolden(`${goldenDir}${c.name}.nft`, partial?.script ?? '');
      const family = before.family;
      await netns().nft.deleteTable(family, before.table);
      await netns().nft.apply(fullTransaction(before, undefined).script);
      await netns().nft.apply(partial?.script ?? '', { check: true });
    });
  }
});
