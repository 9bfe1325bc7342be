// Statistics over benchmark runs: medians and spread for the control plane (few runs, so the
// median and the full min..max range say more than a mean and a standard deviation), and
// latency percentiles for the data plane.
import { SvcplaneError } from '../../util/errors.js';
import type { BenchReport, ControlPlaneResult, DataPlaneResult, LatencySummary, Stat } from './report-types.js';
import { formatCount, formatMicros, formatMs, formatPercent, sig3 } from './units.js';

export class EmptySamplesError extends SvcplaneError {
  override readonly code = 'SVCPLANE_BENCH_EMPTY_SAMPLES';
}

export class PercentileRangeError extends SvcplaneError {
  override readonly code = 'SVCPLANE_BENCH_BAD_PERCENTILE';
}

function sortedCopy(values: readonly number[], what: string): number[] {
  if (values.length === 0) throw new EmptySamplesError(`${what}: no samples`);
  return [...values].sort((a, b) => a - b);
}

/** The median; of an even count, the mean of the middle two. */
export function medianOf(values: readonly number[]): number {
  return percentile(values, 50);
}

/**
 * The p-th percentile (0..100) by linear interpolation between the two closest ranks
 * (R's type 7, numpy's default, Excel's PERCENTILE.INC): position (n-1)·p/100 in the sorted
 * samples. Percentile 50 is thus the usual median. The input need not be sorted.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new PercentileRangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = sortedCopy(values, `percentile ${p}`);
  const pos = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function summarize(samples: readonly number[]): Stat {
  const sorted = sortedCopy(samples, 'summarize');
  const median = percentile(sorted, 50);
  const min = sorted[0] as number;
  const max = sorted[sorted.length - 1] as number;
  return { median, min, max, spread: median === 0 ? 0 : (max - min) / median, samples: [...samples] };
}

/** Latency samples in microseconds (one per connection or request) summarized for results.json. */
export function latencySummary(samplesMicros: readonly number[]): LatencySummary {
  const sorted = sortedCopy(samplesMicros, 'latencySummary');
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    count: sorted.length,
  };
}

interface Measured {
  readonly label: string;
  readonly stat: Stat;
  readonly format: (v: number) => string;
}

const CONTROL_PLANE_MEASURES: readonly {
  readonly key: 'fullMs' | 'changeMs' | 'addMs' | 'peakRssMB' | 'steadyRssMB';
  readonly label: string;
  readonly format: (v: number) => string;
}[] = [
  { key: 'fullMs', label: 'full sync', format: formatMs },
  { key: 'changeMs', label: 'one endpoint change', format: formatMs },
  { key: 'addMs', label: 'one new service', format: formatMs },
  { key: 'peakRssMB', label: 'peak RSS', format: (v) => `${sig3(v)} MB` },
  { key: 'steadyRssMB', label: 'steady RSS', format: (v) => `${sig3(v)} MB` },
];

function controlPlaneMeasures(r: ControlPlaneResult): Measured[] {
  const out: Measured[] = [];
  for (const m of CONTROL_PLANE_MEASURES) {
    const stat = r[m.key];
    if (stat) out.push({ label: m.label, stat, format: m.format });
  }
  return out;
}

/** Across runs, data-plane results carry one summary per run: their spread is computed here. */
function dataPlaneMeasures(r: DataPlaneResult): Measured[] {
  const out: Measured[] = [];
  const add = (label: string, values: number[], format: (v: number) => string): void => {
    if (values.length > 1) out.push({ label, stat: summarize(values), format });
  };
  add('TCP connect p50 via VIP', r.viaVip.map((run) => run.tcp.p50), formatMicros);
  add('TCP connect p50 direct', r.direct.map((run) => run.tcp.p50), formatMicros);
  add('conn/s via VIP', r.viaVip.map((run) => run.connPerSec), formatCount);
  add('conn/s direct', r.direct.map((run) => run.connPerSec), formatCount);
  return out;
}

function isReport(x: BenchReport | readonly (ControlPlaneResult | DataPlaneResult)[]): x is BenchReport {
  return !Array.isArray(x);
}

function isControlPlane(r: ControlPlaneResult | DataPlaneResult): r is ControlPlaneResult {
  return 'fullMs' in r;
}

/** "ebpf 1000 services", with where it ran when that was not the host itself. */
export function resultName(r: { readonly mode: string; readonly services: number; readonly where?: string }): string {
  return `${r.mode} ${r.services} services${r.where ? ` (${r.where})` : ''}`;
}

/**
 * One warning per measurement whose spread across runs, (max-min)/median, is above threshold:
 * such a median is not a figure to compare modes with.
 */
export function spreadWarnings(
  results: BenchReport | readonly (ControlPlaneResult | DataPlaneResult)[],
  threshold = 0.25,
): string[] {
  const all: readonly (ControlPlaneResult | DataPlaneResult)[] = isReport(results)
    ? [...results.controlPlane, ...results.dataPlane]
    : results;
  const warnings: string[] = [];
  for (const r of all) {
    const measures = isControlPlane(r) ? controlPlaneMeasures(r) : dataPlaneMeasures(r);
    for (const { label, stat, format } of measures) {
      if (stat.spread <= threshold) continue;
      warnings.push(
        `${resultName(r)}: ${label} spread ${formatPercent(stat.spread)} ` +
          `(median ${format(stat.median)}, ${format(stat.min)}..${format(stat.max)}): ` +
          'too wide to trust; run with more --runs on a quiet machine',
      );
    }
  }
  return warnings;
}
