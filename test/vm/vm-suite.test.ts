// Privileged: runs the `*.vm-test.ts` suites inside one boot of the real-kernel VM (see
// harness.ts) and fails with their output when they fail.

import { describe, expect, it } from 'vitest';
import { describeVmRun, runVitestInVm } from '../../src/vm/harness.js';

/** The suites run in the VM, all in one vitest run (a boot and a vitest start cost seconds). */
const VM_SUITES = [
  'test/vm/example.vm-test.ts',
  'test/vm/ipvs.vm-test.ts',
  'test/vm/ipvs-agent.vm-test.ts',
  'test/vm/ipvs-present.vm-test.ts',
  'test/vm/mode-pairs.vm-test.ts',
  'test/vm/ipvs-tools.vm-test.ts',
  'test/vm/ipvs-behaviour.vm-test.ts',
];

describe('suites inside the VM', () => {
  it(
    'pass',
    async () => {
      // Under TCG the mode walk is seven agent starts (~4 min) and the IPVS behaviour suite
      // ~5 min on a quiet host; both stretch under load.
      const run = await runVitestInVm(VM_SUITES, { timeoutMs: 2_100_000 });
      expect(run.exitCode, describeVmRun(run)).toBe(0);
      // vitest's own summary: every suite ran, none was filtered out or skipped.
      expect(run.stdout).toMatch(new RegExp(`Test Files\\s+${VM_SUITES.length} passed \\(${VM_SUITES.length}\\)`));
      for (const suite of VM_SUITES) expect(run.stdout).toContain(suite);
    },
    2_160_000,
  );
});
