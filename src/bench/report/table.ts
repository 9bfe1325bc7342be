// `svcplane bench` results as plain-text tables for stdout: one row per mode × number of
// services, each figure the median across runs with its spread (max-min)/median.
import type { BenchReport, ControlPlaneResult, DataPlaneResult, DataPlaneRun, Stat } from './report-types.js';
import { medianOf, spreadWarnings } from './stats.js';
import { type Column, renderTable } from './text-table.js';
import { formatBytes, formatCount, formatMicros, formatMs, formatPercent, sig3 } from './units.js';

const NONE = '-';

function statCell(stat: Stat | undefined, format: (v: number) => string): string {
  return stat ? `${format(stat.median)} ±${formatPercent(stat.spread)}` : NONE;
}

/** "restoreLines 120k, nftBytes 5.2 MB": a key ending in Bytes is a size, the rest are counts. */
export function sentCell(sent: Readonly<Record<string, number>> | undefined): string {
  if (!sent || Object.keys(sent).length === 0) return NONE;
  return Object.entries(sent)
    .map(([key, n]) => `${key} ${/bytes$/i.test(key) ? formatBytes(n) : formatCount(n)}`)
    .join(', ');
}

function byModeThenServices<T extends { readonly mode: string; readonly services: number }>(
  results: readonly T[],
  modes: readonly string[],
): T[] {
  // The order the user asked for modes in; modes not in params sort last, alphabetically.
  const rank = (mode: string): number => {
    const i = modes.indexOf(mode);
    return i < 0 ? modes.length : i;
  };
  return [...results].sort(
    (a, b) => rank(a.mode) - rank(b.mode) || a.mode.localeCompare(b.mode) || a.services - b.services,
  );
}

function modeCell(r: { readonly mode: string; readonly where?: string }): string {
  return r.where ? `${r.mode} (${r.where})` : r.mode;
}

export function controlPlaneTable(results: readonly ControlPlaneResult[], modes: readonly string[] = []): string {
  const columns: Column[] = [
    { header: 'mode', align: 'left' },
    { header: 'services', align: 'right' },
    { header: 'endpoints', align: 'right' },
    { header: 'full sync', align: 'right' },
    { header: 'endpoint change', align: 'right' },
    { header: 'new service', align: 'right' },
    { header: 'peak RSS', align: 'right' },
    { header: 'steady RSS', align: 'right' },
    { header: 'sent (full sync)', align: 'left' },
    { header: 'sent (endpoint change)', align: 'left' },
  ];
  const rows = byModeThenServices(results, modes).map((r) => [
    modeCell(r),
    formatCount(r.services),
    formatCount(r.endpoints),
    statCell(r.fullMs, formatMs),
    statCell(r.changeMs, formatMs),
    statCell(r.addMs, formatMs),
    statCell(r.peakRssMB, (v) => `${sig3(v)} MB`),
    statCell(r.steadyRssMB, (v) => `${sig3(v)} MB`),
    sentCell(r.sent.full),
    sentCell(r.sent.change),
  ]);
  return renderTable(columns, rows);
}

/** The median across runs of one figure, or undefined when no run measured it. */
function acrossRuns(runs: readonly DataPlaneRun[], pick: (run: DataPlaneRun) => number | undefined): number | undefined {
  const values = runs.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return values.length > 0 ? medianOf(values) : undefined;
}

function cell(value: number | undefined, format: (v: number) => string): string {
  return value === undefined ? NONE : format(value);
}

export function dataPlaneTable(results: readonly DataPlaneResult[], modes: readonly string[] = []): string {
  const hasUdp = results.some((r) => [...r.viaVip, ...r.direct].some((run) => run.udp !== undefined));
  const columns: Column[] = [
    { header: 'mode', align: 'left' },
    { header: 'services', align: 'right' },
    { header: 'VIP p50', align: 'right' },
    { header: 'VIP p90', align: 'right' },
    { header: 'VIP p99', align: 'right' },
    { header: 'direct p50', align: 'right' },
    { header: 'VIP/direct', align: 'right' },
    { header: 'conn/s VIP', align: 'right' },
    { header: 'conn/s direct', align: 'right' },
    ...(hasUdp
      ? [
          { header: 'UDP p50 VIP', align: 'right' as const },
          { header: 'UDP p50 direct', align: 'right' as const },
        ]
      : []),
  ];
  const rows = byModeThenServices(results, modes).map((r) => {
    const vipP50 = acrossRuns(r.viaVip, (run) => run.tcp.p50);
    const directP50 = acrossRuns(r.direct, (run) => run.tcp.p50);
    const ratio = vipP50 !== undefined && directP50 !== undefined && directP50 > 0 ? vipP50 / directP50 : undefined;
    return [
      modeCell(r),
      formatCount(r.services),
      cell(vipP50, formatMicros),
      cell(acrossRuns(r.viaVip, (run) => run.tcp.p90), formatMicros),
      cell(acrossRuns(r.viaVip, (run) => run.tcp.p99), formatMicros),
      cell(directP50, formatMicros),
      cell(ratio, (v) => `${v.toFixed(2)}x`),
      cell(acrossRuns(r.viaVip, (run) => run.connPerSec), formatCount),
      cell(acrossRuns(r.direct, (run) => run.connPerSec), formatCount),
      ...(hasUdp
        ? [
            cell(acrossRuns(r.viaVip, (run) => run.udp?.p50), formatMicros),
            cell(acrossRuns(r.direct, (run) => run.udp?.p50), formatMicros),
          ]
        : []),
    ];
  });
  return renderTable(columns, rows);
}

/** The whole report for stdout: machine, control plane, data plane, skipped modes, warnings. */
export function renderTables(report: BenchReport): string {
  const { machine: m, params: p } = report;
  const out: string[] = [
    `svcplane ${m.svcplane} bench, ${report.startedAt}`,
    `${m.hostname}: ${m.cpuModel}, ${m.cpus} cores, ${sig3(m.memoryGB)} GB, ${m.os}, kernel ${m.kernel}, node ${m.node}`,
    `median of ${p.runs} run${p.runs === 1 ? '' : 's'}, ±spread = (max-min)/median; ${p.endpoints} endpoints per service`,
  ];
  if (report.controlPlane.length > 0) {
    out.push('', 'Control plane (time to program the kernel)', controlPlaneTable(report.controlPlane, p.modes));
  }
  if (report.dataPlane.length > 0) {
    out.push(
      '',
      `Data plane (TCP connect + first byte, ${formatMs(p.durationMs)} per run)`,
      dataPlaneTable(report.dataPlane, p.modes),
    );
  }
  if (report.skipped.length > 0) {
    out.push('', 'Skipped:', ...report.skipped.map((s) => `  ${s.mode}: ${s.reason}`));
  }
  // The measuring side may already have added the spread warnings: print each once.
  const warnings = [...new Set([...report.warnings, ...spreadWarnings(report)])];
  if (warnings.length > 0) {
    out.push('', 'Warnings:', ...warnings.map((w) => `  ${w}`));
  }
  return out.join('\n') + '\n';
}
