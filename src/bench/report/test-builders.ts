// Small fixed reports for the report side's tests.
import type { BenchReport, ControlPlaneResult, DataPlaneRun, MachineInfo, Stat } from './report-types.js';
import { summarize } from './stats.js';

export const MACHINE: MachineInfo = {
  hostname: 'bench-1',
  cpus: 8,
  cpuModel: 'Test CPU @ 3.0GHz',
  memoryGB: 31.3,
  kernel: '6.1.0-test',
  os: 'Debian GNU/Linux 12 (bookworm)',
  node: 'v24.0.0',
  svcplane: '0.1.0',
  tools: { iptables: 'v1.8.9 (nf_tables)' },
};

export function stat(...samples: number[]): Stat {
  return summarize(samples);
}

export function run(p50: number, connPerSec: number, udpP50?: number): DataPlaneRun {
  return {
    tcp: { p50, p90: p50 * 2, p99: p50 * 4, count: 1000 },
    connPerSec,
    ...(udpP50 !== undefined ? { udp: { p50: udpP50, p90: udpP50, p99: udpP50, count: 1000 } } : {}),
  };
}

export function controlPlane(mode: string, services: number, fullMs: Stat, extra: Partial<ControlPlaneResult> = {}): ControlPlaneResult {
  return { mode, services, endpoints: services * 2, fullMs, sent: { full: { restoreLines: services * 12 } }, ...extra };
}

export function sampleReport(overrides: Partial<BenchReport> = {}): BenchReport {
  return {
    startedAt: '2025-01-02T03:04:05.000Z',
    machine: MACHINE,
    params: { modes: ['iptables', 'nftables'], services: [100, 10_000], endpoints: 2, durationMs: 5000, runs: 3 },
    controlPlane: [
      controlPlane('nftables', 100, stat(20, 21, 22), { sent: { full: { nftBytes: 52_000 } } }),
      controlPlane('iptables', 10_000, stat(1500, 1600, 1700), {
        changeMs: stat(40, 42, 44),
        addMs: stat(45, 45, 45),
        peakRssMB: stat(120, 121, 122),
        steadyRssMB: stat(90, 95, 99),
        sent: { full: { restoreLines: 120_000 }, change: { restoreLines: 14 } },
      }),
      controlPlane('iptables', 100, stat(10, 11, 12)),
    ],
    dataPlane: [
      { mode: 'iptables', services: 100, viaVip: [run(60, 9000), run(62, 9100), run(58, 8900)], direct: [run(50, 10_000), run(52, 10_200), run(48, 9800)] },
      { mode: 'nftables', services: 100, viaVip: [run(70, 8000), run(71, 8100), run(69, 7900)], direct: [run(50, 10_000), run(50, 10_000), run(50, 10_000)] },
    ],
    warnings: [],
    skipped: [{ mode: 'ebpf', reason: 'bpffs not mounted' }],
    ...overrides,
  };
}
