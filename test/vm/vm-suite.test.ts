// Privileged: runs the `*.vm-test.ts` suites inside the real-kernel VM (see harness.ts) and
// fails with their output when they fail.

import { describe, expect, it } from 'vitest';
import { describeVmRun, runVitestInVm } from '../../src/vm/harness.js';

/**
 * The suites, in two boots of about ten minutes each on a quiet host (a boot and a vitest start
 * cost seconds; one boot of all of them came to about 24 minutes, too near one timeout once the
 * host is loaded, when TCG runs two to three times slower). Within a boot, one vitest run.
 */
const VM_BOOTS: readonly (readonly string[])[] = [
  // The kernel checks, the agent, and the operator tools (the last alone ~9 min: each CLI call is a node start).
  ['test/vm/example.vm-test.ts', 'test/vm/ipvs.vm-test.ts', 'test/vm/ipvs-agent.vm-test.ts', 'test/vm/ipvs-present.vm-test.ts', 'test/vm/ipvs-tools.vm-test.ts'],
  // The mode walk (seven agent starts, ~9 min) and the IPVS behaviour suite (~5 min).
  ['test/vm/mode-pairs.vm-test.ts', 'test/vm/ipvs-behaviour.vm-test.ts'],
];

describe('suites inside the VM', () => {
  for (const [i, suites] of VM_BOOTS.entries()) {
    it(
      `pass, boot ${i + 1}: ${suites.map((s) => s.replace(/^test\/vm\/|\.vm-test\.ts$/g, '')).join(', ')}`,
      async () => {
        const run = await runVitestInVm(suites, { timeoutMs: 2_100_000 });
        expect(run.exitCode, describeVmRun(run)).toBe(0);
        // vitest's own summary: every suite ran, none was filtered out or skipped.
        expect(run.stdout).toMatch(new RegExp(`Test Files\\s+${suites.length} passed \\(${suites.length}\\)`));
        for (const suite of suites) expect(run.stdout).toContain(suite);
      },
      2_160_000,
    );
  }
});
