// `svcplane bench --modes userspace`: the real agent in userspace mode, HAProxy and the agent
// in iptables mode measured on one test bed, printed side by side and written to
// userspace.json. No timing thresholds: the numbers only have to exist and be sane.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { cliEntry } from '../../src/testbed/agent-process.js';
import type { UserspaceBenchResult } from '../../src/bench/userspace-bench.js';

describe('svcplane bench --modes userspace', () => {
  const out = mkdtempSync(join(tmpdir(), 'sp-usbench-it-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures userspace, HAProxy and iptables side by side and writes userspace.json', async () => {
    const { stdout, stderr } = await runChecked(process.execPath, [cliEntry(), 'bench', '--modes', 'userspace', '--no-dns', '--duration', '500ms', '--runs', '1', '--out', out], { timeoutMs: 170_000 });
    const result = JSON.parse(readFileSync(join(out, 'userspace.json'), 'utf8')) as UserspaceBenchResult;
    expect(result.proxies.map((p) => p.proxy)).toEqual(['userspace', 'haproxy', 'iptables']);
    for (const { proxy, runs } of result.proxies) {
      expect(runs, proxy).toHaveLength(1);
      for (const run of runs) {
        expect(run.connPerSec, proxy).toBeGreaterThan(0);
        expect(run.p50Us, proxy).toBeGreaterThan(0);
        expect(run.p99Us, proxy).toBeGreaterThanOrEqual(run.p50Us);
        expect(run.bulkMBps, proxy).toBeGreaterThan(0);
        expect(run.loadAvg, proxy).toBeGreaterThan(0);
        // The two proxies' own processes did the work; iptables mode's is the kernel's, not counted.
        if (proxy === 'iptables') expect(run.cpuUsPerConn, proxy).toBeUndefined();
        else {
          expect(run.cpuUsPerConn, proxy).toBeGreaterThan(0);
          expect(run.cpuMsPerGB, proxy).toBeGreaterThan(0);
        }
      }
    }
    expect(result.idleConnections).toBe(2000);
    expect(Number.isFinite(result.idleKBPerConnection)).toBe(true);
    for (const proxy of ['| userspace |', '| haproxy |', '| iptables |']) expect(stdout).toContain(proxy);
    expect(stdout).toMatch(/userspace \/ haproxy: \d+% of connections\/s/);
    expect(stdout).toMatch(/load average \(1 min\) at the end of the runs: [\d.]+-[\d.]+/);
    expect(stderr).toContain('userspace.json');
    // Only the userspace section ran: no kernel-mode tables.
    expect(stdout).not.toContain('full sync');
  }, 180_000);
});
