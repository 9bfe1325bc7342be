// The charts `svcplane bench` writes beside results.json: how the data path's latency and the
// control plane's full sync grow with the number of services, one series per proxy mode.
import type { BenchReport, DataPlaneResult, MachineInfo } from './report-types.js';
import { medianOf } from './stats.js';
import { type ChartSeries, lineChart } from './svg.js';

export interface ChartFile {
  readonly file: string;
  readonly svg: string;
}

/** Beyond this max/min ratio a linear axis squeezes the small values into one corner. */
const WIDE_RANGE = 20;

function isWide(values: readonly number[]): boolean {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length < 2) return false;
  return Math.max(...positive) / Math.min(...positive) >= WIDE_RANGE;
}

function machineSubtitle(m: MachineInfo, runs: number): string {
  return `${m.cpuModel}, ${m.cpus} cores, kernel ${m.kernel} (${m.hostname}); median of ${runs} run${runs === 1 ? '' : 's'}`;
}

/** Groups results by mode and where they ran, in the order modes were asked for. */
function groupByMode<T extends { readonly mode: string; readonly where?: string }>(
  results: readonly T[],
  modes: readonly string[],
): Map<string, T[]> {
  const rank = (mode: string): number => (modes.includes(mode) ? modes.indexOf(mode) : modes.length);
  const sorted = [...results].sort((a, b) => rank(a.mode) - rank(b.mode) || a.mode.localeCompare(b.mode));
  const groups = new Map<string, T[]>();
  for (const r of sorted) {
    const name = r.where ? `${r.mode} (${r.where})` : r.mode;
    groups.set(name, [...(groups.get(name) ?? []), r]);
  }
  return groups;
}

function medianP50(runs: DataPlaneResult['viaVip']): number | undefined {
  return runs.length > 0 ? medianOf(runs.map((run) => run.tcp.p50)) : undefined;
}

function latencySeries(report: BenchReport): ChartSeries[] {
  const series: ChartSeries[] = [];
  for (const [name, results] of groupByMode(report.dataPlane, report.params.modes)) {
    const points = results.flatMap((r): [number, number][] => {
      const p50 = medianP50(r.viaVip);
      return p50 === undefined ? [] : [[r.services, p50]];
    });
    series.push({ name, points });
  }
  // Connecting straight to a backend does not depend on the mode: one reference line per
  // place the benchmark ran, the median over every mode's direct runs.
  const direct = new Map<string, Map<number, number[]>>();
  for (const r of report.dataPlane) {
    const name = r.where ? `direct (${r.where})` : 'direct';
    const byServices = direct.get(name) ?? new Map<number, number[]>();
    byServices.set(r.services, [...(byServices.get(r.services) ?? []), ...r.direct.map((run) => run.tcp.p50)]);
    direct.set(name, byServices);
  }
  for (const [name, byServices] of direct) {
    const points = [...byServices].flatMap(([n, p50s]): [number, number][] => (p50s.length > 0 ? [[n, medianOf(p50s)]] : []));
    if (points.length > 0) series.push({ name, points, dashed: true, color: '#666666' });
  }
  return series;
}

function syncSeries(report: BenchReport): ChartSeries[] {
  return [...groupByMode(report.controlPlane, report.params.modes)].map(([name, results]) => ({
    name,
    points: results.map((r): [number, number] => [r.services, r.fullMs.median]),
  }));
}

export function benchCharts(report: BenchReport): ChartFile[] {
  const subtitle = machineSubtitle(report.machine, report.params.runs);
  const charts: ChartFile[] = [];
  if (report.dataPlane.length > 0) {
    const series = latencySeries(report);
    charts.push({
      file: 'latency-vs-services.svg',
      svg: lineChart({
        title: 'TCP connect latency via the service VIP',
        subtitle,
        xLabel: 'services',
        yLabel: 'connect + first byte, p50 (µs)',
        series,
        logX: isWide(series.flatMap((s) => s.points.map((p) => p[0]))),
      }),
    });
  }
  if (report.controlPlane.length > 0) {
    const series = syncSeries(report);
    charts.push({
      file: 'sync-vs-services.svg',
      svg: lineChart({
        title: 'Full sync time',
        subtitle,
        xLabel: 'services',
        yLabel: 'full sync, median (ms)',
        series,
        logX: isWide(series.flatMap((s) => s.points.map((p) => p[0]))),
        logY: isWide(series.flatMap((s) => s.points.map((p) => p[1]))),
      }),
    });
  }
  return charts;
}
