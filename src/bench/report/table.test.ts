import { describe, expect, it } from 'vitest';
import { controlPlane, run, sampleReport, stat } from './test-builders.js';
import { controlPlaneTable, dataPlaneTable, renderTables, sentCell } from './table.js';
import { renderTable } from './text-table.js';

const GOLDEN = `svcplane 0.1.0 bench, 2025-01-02T03:04:05.000Z
bench-1: Test CPU @ 3.0GHz, 8 cores, 31.3 GB, Debian GNU/Linux 12 (bookworm), kernel 6.1.0-test, node v24.0.0
median of 3 runs, ±spread = (max-min)/median; 2 endpoints per service

Control plane (time to program the kernel)
mode      services  endpoints   full sync  endpoint change  new service    peak RSS  steady RSS  sent (full sync)   sent (endpoint change)
--------  --------  ---------  ----------  ---------------  -----------  ----------  ----------  -----------------  ----------------------
iptables       100        200  11 ms ±18%                -            -           -           -  restoreLines 1.2k  -
iptables       10k        20k  1.6 s ±13%       42 ms ±10%    45 ms ±0%  121 MB ±2%   95 MB ±9%  restoreLines 120k  restoreLines 14
nftables       100        200  21 ms ±10%                -            -           -           -  nftBytes 52 kB     -

Data plane (TCP connect + first byte, 5 s per run)
mode      services  VIP p50  VIP p90  VIP p99  direct p50  VIP/direct  conn/s VIP  conn/s direct
--------  --------  -------  -------  -------  ----------  ----------  ----------  -------------
iptables       100    60 µs   120 µs   240 µs       50 µs       1.20x          9k            10k
nftables       100    70 µs   140 µs   280 µs       50 µs       1.40x          8k            10k

Skipped:
  ebpf: bpffs not mounted
`;

describe('renderTables', () => {
  it('renders the fixed report exactly', () => {
    expect(renderTables(sampleReport())).toBe(GOLDEN);
  });

  it('prints the report’s warnings and the spread warnings, each once', () => {
    const noisy = controlPlane('iptables', 100, stat(10, 20, 30));
    const report = sampleReport({ controlPlane: [noisy], warnings: ['conntrack table nearly full'] });
    const first = renderTables(report);
    const spreadLine = first.split('\n').find((l) => l.includes('full sync spread 100%'));
    expect(spreadLine).toBeDefined();
    expect(first).toContain('Warnings:\n  conntrack table nearly full\n');
    // The measuring side already copied the spread warning into the report: not printed twice.
    const again = renderTables({ ...report, warnings: [...report.warnings, (spreadLine as string).trim()] });
    expect(again.split('full sync spread 100%').length - 1).toBe(1);
  });

  it('leaves out sections with no results', () => {
    const text = renderTables(sampleReport({ controlPlane: [], dataPlane: [], skipped: [] }));
    expect(text).not.toContain('Control plane');
    expect(text).not.toContain('Data plane');
    expect(text).not.toContain('Skipped');
  });
});

describe('columns', () => {
  it('aligns every row: the same width, columns starting at the same offsets', () => {
    const table = controlPlaneTable(sampleReport().controlPlane);
    const lines = table.split('\n');
    const rule = lines[1] as string;
    // Each column starts right after a two-space gap in the rule line.
    const starts = [0, ...[...rule.matchAll(/ {2}-/g)].map((m) => m.index + 2)];
    for (const line of lines) {
      for (const start of starts.slice(1)) expect(line.slice(start - 2, start - 1)).toBe(' ');
    }
    // Right-aligned numeric columns end at the same place on every line.
    const servicesEnd = starts[1] as number;
    const fullSyncEnd = (starts[4] as number) - 2;
    for (const line of lines.slice(2)) {
      expect(line[servicesEnd + 'services'.length - 1]).toMatch(/\d|k/);
      expect(line[fullSyncEnd - 1]).toBe('%');
    }
  });

  it('pads by display characters, not UTF-16 units, and trims trailing spaces', () => {
    const t = renderTable(
      [
        { header: 'a', align: 'left' },
        { header: 'b', align: 'right' },
      ],
      [
        ['µs', '1'],
        ['x', '100'],
      ],
    );
    expect(t).toBe('a     b\n--  ---\nµs    1\nx   100');
  });

  it('shows UDP columns only when a run measured UDP, and orders rows by the modes asked for', () => {
    const base = sampleReport();
    expect(dataPlaneTable(base.dataPlane)).not.toContain('UDP');
    const withUdp = dataPlaneTable(
      [
        { mode: 'ipvs', services: 100, viaVip: [run(60, 9000, 30)], direct: [run(50, 10_000, 25)] },
        { mode: 'iptables', services: 100, viaVip: [run(60, 9000)], direct: [] },
      ],
      ['ipvs', 'iptables'],
    );
    const lines = withUdp.split('\n');
    expect(lines[0]).toContain('UDP p50 VIP');
    expect(lines[2]).toMatch(/^ipvs .* 30 µs +25 µs$/);
    // No direct runs: no direct figures and no ratio, shown as '-'.
    expect(lines[3]).toMatch(/^iptables .* 60 µs .* - +- +9k +- +- +-$/);
  });

  it('formats what was sent to the kernel as counts and sizes', () => {
    expect(sentCell({ restoreLines: 120_345, nftBytes: 5_200_000, mapWrites: 12 })).toBe(
      'restoreLines 120k, nftBytes 5.2 MB, mapWrites 12',
    );
    expect(sentCell({})).toBe('-');
    expect(sentCell(undefined)).toBe('-');
  });
});
