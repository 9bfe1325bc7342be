// `svcplane bench` end to end with tiny sizes: every requested mode produces numbers (IPVS
// here where the kernel has it, else from inside the VM, labelled emulated), and the
// report files are written. No timing
// thresholds: the numbers only have to exist and be sane.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/kernel/exec.js';
import { cliEntry } from '../../src/testbed/agent-process.js';
import type { BenchReport } from '../../src/bench/report/report-types.js';
import { kernelHasIpvs } from '../lib/ipvs-kernel.js';

describe('svcplane bench', () => {
  const out = mkdtempSync(join(tmpdir(), 'svcp-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures every mode, prints the tables and writes results.json and the charts', async () => {
    const modes = ['iptables', 'nftables', 'ebpf', 'ipvs'];
    const { stdout, stderr } = await runChecked(process.execPath, [
      cliEntry(), 'bench', '--modes', modes.join(','), '--services', '3,6', '--endpoints', '2', '--duration', '300ms', '--runs', '2', '--out', out,
      // The idle cost's default window is 5 minutes per mode: a short one here, the path still measured.
      '--idle-window', '2s',
    ], { timeoutMs: 900_000 });
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
    expect(report.skipped).toEqual([]);
    for (const mode of modes) {
      const cp = report.controlPlane.filter((r) => r.mode === mode);
      expect(cp.map((r) => r.services), `${mode} control plane`).toEqual([3, 6]);
      for (const r of cp) {
        expect(r.fullMs.samples).toHaveLength(2);
        expect(r.fullMs.median).toBeGreaterThan(0);
        expect(r.changeMs?.median).toBeGreaterThan(0);
        expect(r.addMs?.median).toBeGreaterThan(0);
        // Steady RSS: after the full sync's garbage is collected, so never above the run's peak.
        expect(r.steadyRssMB?.median).toBeGreaterThan(0);
        expect(r.steadyRssMB?.median).toBeLessThanOrEqual(r.peakRssMB?.median ?? 0);
      }
      const dp = report.dataPlane.filter((r) => r.mode === mode);
      expect(dp.map((r) => r.services), `${mode} data plane`).toEqual([3, 6]);
      for (const r of dp) {
        expect(r.viaVip).toHaveLength(2);
        for (const run of [...r.viaVip, ...r.direct]) {
          expect(run.tcp.count).toBeGreaterThan(0);
          expect(run.tcp.p50).toBeGreaterThan(0);
          expect(run.tcp.p99).toBeGreaterThanOrEqual(run.tcp.p50);
        }
      }
    }
    // Idle cost: every mode at the largest size (IPVS from the VM when this kernel has none, labelled so).
    expect((report.idle ?? []).map((r) => [r.mode, r.services, r.where])).toEqual(modes.map((m) => [m, 6, m === 'ipvs' && !kernelHasIpvs() ? 'VM (emulated)' : undefined]));
    for (const r of report.idle ?? []) {
      // The window as measured: at least what was asked.
      expect(r.windowMs).toBeGreaterThanOrEqual(2000);
      expect(r.firstSyncMs).toBeGreaterThan(0);
      // Two idle seconds may round to no CPU at all: only a number, never negative.
      expect(r.cpuSeconds).toBeGreaterThanOrEqual(0);
    }
    const ipvsWhere = kernelHasIpvs() ? undefined : 'VM (emulated)';
    expect(report.controlPlane.filter((r) => r.mode === 'ipvs').map((r) => r.where)).toEqual([ipvsWhere, ipvsWhere]);
    expect(report.controlPlane.filter((r) => r.mode !== 'ipvs').every((r) => r.where === undefined)).toBe(true);
    for (const chart of ['latency-ratio-vs-services', 'latency-vs-services', 'sync-vs-services', 'memory-vs-services']) {
      expect(readFileSync(join(out, `${chart}.svg`), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      expect(readFileSync(join(out, `${chart}.png`)).toString('latin1', 1, 4)).toBe('PNG');
    }
    for (const mode of modes) expect(stdout).toContain(mode);
    expect(stderr).toContain('results.json');
  }, 960_000);
});
