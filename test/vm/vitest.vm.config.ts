// Vitest configuration for the suites that run inside the VM (`*.vm-test.ts`), through
// runVitestInVm. The host's vitest.config.ts only picks up `*.test.ts`, so these never run on
// a host kernel that lacks what they test.

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../../', import.meta.url)),
  test: {
    include: ['src/**/*.vm-test.ts', 'test/**/*.vm-test.ts'],
    // One guest, one vCPU, one kernel state: files run one at a time.
    fileParallelism: false,
    // The guest runs under TCG, several times slower than the host (and slower still on a
    // loaded host: the behaviour suite's set-up starts a test bed, five servers and the agent).
    testTimeout: 300_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
