import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GOLDEN_CASES } from '../../../test/lib/iptables-golden-cases.js';
import { expectGolden, parseBatch, unknownTargets } from '../../../test/lib/iptables-batch.js';
import { planFull } from './planner.js';

const goldenDir = fileURLToPath(new URL('../../../test/golden/iptables/', import.meta.url));

describe('iptables full plans (golden)', () => {
  for (const c of GOLDEN_CASES) {
    it(c.name, () => {
      const plan = planFull(c.state, { family: c.family, ctx: c.ctx }, c.existing);
      expectGolden(`${goldenDir}${c.name}.txt`, plan.restore);
      expect(unknownTargets(plan.restore)).toEqual([]);
      // Every chain the batch writes is one the plan reports as left in the kernel, and vice versa.
      const form = parseBatch(plan.restore);
      for (const table of ['nat', 'filter'] as const) {
        const removed = new Set(form[table]?.removed);
        const kept = (form[table]?.declared ?? []).filter((n) => !removed.has(n)).sort();
        expect(kept).toEqual([...plan.chains[table]].sort());
      }
    });
  }
});
