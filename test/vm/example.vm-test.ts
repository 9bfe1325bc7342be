// Runs inside the VM (see vm-suite.test.ts): proof that a vitest suite can program IPVS there.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

if (process.env.SVCPLANE_IN_VM !== '1') {
  throw new Error('example.vm-test.ts runs inside the VM: use runVitestInVm from src/vm/harness.ts');
}

describe('IPVS inside the VM', () => {
  afterAll(async () => {
    await execFileAsync('ipvsadm', ['-C']);
  });

  it('adds a virtual service that the kernel lists in /proc/net/ip_vs', async () => {
    await execFileAsync('ipvsadm', ['-A', '-t', '10.96.0.10:53', '-s', 'wrr']);
    await execFileAsync('ipvsadm', ['-a', '-t', '10.96.0.10:53', '-r', '10.244.0.5:53', '-m', '-w', '3']);
    const table = await readFile('/proc/net/ip_vs', 'utf8');
    // 10.96.0.10:53 and 10.244.0.5:53 in the kernel's hex notation.
    expect(table).toMatch(/^TCP {2}0A60000A:0035 wrr\s*$/m);
    expect(table).toMatch(/^ {2}-> 0AF40005:0035 {6}Masq {4}3 /m);
  });
});
