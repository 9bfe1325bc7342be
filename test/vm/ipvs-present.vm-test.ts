// The host suites that branch on whether the kernel has IPVS, run inside the VM, whose
// Debian kernel has it: there they take (and must pass) their IPVS-present branches,
// which a host without IPVS never exercises.
import { expect, it } from 'vitest';
import { kernelHasIpvs } from '../lib/ipvs-kernel.js';

if (process.env.SVCPLANE_IN_VM !== '1') throw new Error('ipvs-present.vm-test.ts runs inside the VM: see test/vm/vm-suite.test.ts');

it('the VM kernel has IPVS, so the suites below take their IPVS branches', () => {
  expect(kernelHasIpvs()).toBe(true);
});

// Imported after the guard: each registers its tests in this file.
await import('../../src/kernel/netlink/genl.test.js');
await import('../integration/ipvs-fallback.test.js');
