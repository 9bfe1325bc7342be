// What `svcplane bench` charts, as vega-lite specs (rendered by render-chart.ts): what a reader
// compares. The VIP/direct latency ratio per mode (host and emulated VM results in panels of
// their own: the VM's absolute figures are a hundred times the host's), the latencies themselves
// on a log axis, the full and partial sync times and the peak memory per mode.
import type { TopLevelSpec } from 'vega-lite';
import type { BenchReport, MachineInfo } from './report-types.js';
import { medianOf } from './stats.js';

export interface ChartSpec {
  /** File name without extension: NAME.svg and NAME.png. */
  readonly name: string;
  readonly spec: TopLevelSpec;
}

/** A max/min ratio of this or more gets a log axis: on a linear one the small values flatten. */
export const WIDE_RANGE = 10;
const HOST = 'host';
const PANEL = { width: 380, height: 240 } as const;
const MODE_COLORS: Readonly<Record<string, string>> = {
  iptables: '#4c78a8', nftables: '#f58518', ipvs: '#54a24b', ebpf: '#e45756', userspace: '#b279a2',
};
const OTHER_COLORS = ['#72b7b2', '#eeca3b', '#9d755d'];
/** Direct connections are the reference lines: greys, dashed on the host, dotted in the VM. */
const DIRECT = { host: { color: '#555555', dash: [6, 4] }, vm: { color: '#222222', dash: [2, 3] } } as const;
const VM_DASH = [10, 3, 2, 3];

export function isWide(values: readonly number[]): boolean {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  return positive.length >= 2 && Math.max(...positive) / Math.min(...positive) >= WIDE_RANGE;
}

/** `iptables`, or `ipvs in VM (emulated)` for results from elsewhere than the host. */
export function seriesName(mode: string, where: string | undefined): string {
  return where === undefined ? mode : `${mode} in ${where}`;
}

interface Series {
  readonly name: string;
  readonly mode: string;
  readonly where: string | undefined;
  readonly direct: boolean;
}

/** One color and dash per series, the same in every chart of a report. */
function styleScales(series: readonly Series[]): { color: object; strokeDash: object } {
  const unique = [...new Map(series.map((s) => [s.name, s])).values()];
  let other = 0;
  const color = unique.map((s) => {
    if (s.direct) return s.where === undefined ? DIRECT.host.color : DIRECT.vm.color;
    return MODE_COLORS[s.mode] ?? OTHER_COLORS[other++ % OTHER_COLORS.length];
  });
  const dash = unique.map((s) => (s.direct ? (s.where === undefined ? DIRECT.host.dash : DIRECT.vm.dash) : s.where === undefined ? [1, 0] : VM_DASH));
  const domain = unique.map((s) => s.name);
  // The legend draws each series' line: its color and dash.
  const legend = { title: null, symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolSize: 500, labelLimit: 260 };
  return {
    color: { field: 'series', type: 'nominal', scale: { domain, range: color }, legend },
    strokeDash: { field: 'series', type: 'nominal', scale: { domain, range: dash }, legend },
  };
}

function modeRank(modes: readonly string[]): (mode: string) => number {
  return (mode) => (modes.includes(mode) ? modes.indexOf(mode) : modes.length);
}

function sortSeries(series: Series[], modes: readonly string[]): Series[] {
  const rank = modeRank(modes);
  const placeRank = (s: Series): number => (s.where === undefined ? 0 : 1);
  return series.sort((a, b) => Number(a.direct) - Number(b.direct) || placeRank(a) - placeRank(b) || rank(a.mode) - rank(b.mode) || a.name.localeCompare(b.name));
}

function machineSubtitle(m: MachineInfo, runs: number): string {
  return `${m.cpuModel}, ${m.cpus} cores, kernel ${m.kernel} (${m.hostname}); median of ${runs} run${runs === 1 ? '' : 's'}`;
}

function scale(values: readonly number[], extra: object = {}): object {
  return isWide(values) ? { type: 'log', ...extra } : { type: 'linear', zero: false, ...extra };
}

const SERVICES_AXIS = { title: 'services', format: '~s' };

/** A line per series with its points, x = services. */
function lineLayer(rows: readonly Row[], yField: string, yTitle: string, styles: ReturnType<typeof styleScales>): object {
  return {
    data: { values: rows },
    mark: { type: 'line', point: { filled: true, size: 60 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'services', type: 'quantitative', scale: scale(rows.map((r) => Number(r['services']))), axis: SERVICES_AXIS },
      y: { field: yField, type: 'quantitative', scale: scale(rows.map((r) => Number(r[yField]))), axis: { title: yTitle } },
      ...styles,
      order: { field: 'services', type: 'quantitative' },
    },
  };
}

type Row = Readonly<Record<string, string | number>>;

const CONFIG = { font: 'DejaVu Sans', background: 'white', title: { fontSize: 15, subtitleFontSize: 11, anchor: 'start' }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 12 } };

function topLevel(title: string, subtitle: string, body: object): TopLevelSpec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: { text: title, subtitle }, config: CONFIG, padding: 12, ...body } as TopLevelSpec;
}

function latencyCharts(report: BenchReport, subtitle: string): ChartSpec[] {
  const withRuns = report.dataPlane.filter((r) => r.viaVip.length > 0 && r.direct.length > 0);
  if (withRuns.length === 0) return [];
  const p50 = (runs: (typeof withRuns)[number]['viaVip']): number => medianOf(runs.map((x) => x.tcp.p50));
  const series: Series[] = [];
  const ratioRows: Row[] = [];
  const latencyRows: Row[] = [];
  const directByPlace = new Map<string, Map<number, number[]>>();
  for (const r of withRuns) {
    const name = seriesName(r.mode, r.where);
    series.push({ name, mode: r.mode, where: r.where, direct: false });
    ratioRows.push({ series: name, place: r.where ?? HOST, services: r.services, ratio: p50(r.viaVip) / p50(r.direct) });
    latencyRows.push({ series: name, services: r.services, ms: p50(r.viaVip) / 1000 });
    const byServices = directByPlace.get(r.where ?? HOST) ?? new Map<number, number[]>();
    byServices.set(r.services, [...(byServices.get(r.services) ?? []), ...r.direct.map((x) => x.tcp.p50)]);
    directByPlace.set(r.where ?? HOST, byServices);
  }
  // Straight to a backend does not depend on the mode: one reference line per place, the median
  // over every mode's direct runs.
  for (const [place, byServices] of directByPlace) {
    const where = place === HOST ? undefined : place;
    const name = seriesName('direct', where);
    series.push({ name, mode: 'direct', where, direct: true });
    for (const [services, p50s] of byServices) latencyRows.push({ series: name, services, ms: medianOf(p50s) / 1000 });
  }
  const sorted = sortSeries(series, report.params.modes);
  const styles = styleScales(sorted);
  const ratioStyles = styleScales(sorted.filter((s) => !s.direct));
  const places = [...new Set(ratioRows.map((r) => String(r['place'])))].sort((a, b) => Number(b === HOST) - Number(a === HOST));
  const ratioPanels = places.map((place) => {
    const rows = ratioRows.filter((r) => r['place'] === place);
    const line = lineLayer(rows, 'ratio', 'VIP p50 / direct p50', ratioStyles);
    // The ratio 1 line: the VIP costs nothing over going straight to the backend.
    const one = { data: { values: [{}] }, mark: { type: 'rule', color: '#333333', strokeDash: [3, 3] }, encoding: { y: { datum: 1 } } };
    return { ...PANEL, title: place === HOST ? 'host' : `${place}: compare with itself only`, layer: [line, one] };
  });
  return [
    {
      name: 'latency-ratio-vs-services',
      spec: topLevel('TCP connect + first byte: via the service VIP over direct to the backend', subtitle, { hconcat: ratioPanels, resolve: { scale: { y: 'independent' } } }),
    },
    {
      name: 'latency-vs-services',
      spec: topLevel('TCP connect + first byte, p50, via the service VIP and direct', subtitle, { ...PANEL, ...lineLayer(latencyRows, 'ms', 'p50 (ms)', styles) }),
    },
  ];
}

const SYNC_METRICS = [
  ['full sync', (r: BenchReport['controlPlane'][number]) => r.fullMs.median],
  ['one endpoint change', (r: BenchReport['controlPlane'][number]) => r.changeMs?.median],
  ['one new service', (r: BenchReport['controlPlane'][number]) => r.addMs?.median],
] as const;

function controlPlaneCharts(report: BenchReport, subtitle: string): ChartSpec[] {
  const results = report.controlPlane;
  if (results.length === 0) return [];
  const series = sortSeries(results.map((r) => ({ name: seriesName(r.mode, r.where), mode: r.mode, where: r.where, direct: false })), report.params.modes);
  const styles = styleScales(series);
  const panels = SYNC_METRICS.flatMap(([metric, pick]) => {
    const rows = results.flatMap((r): Row[] => {
      const ms = pick(r);
      return ms === undefined ? [] : [{ series: seriesName(r.mode, r.where), services: r.services, ms }];
    });
    return rows.length === 0 ? [] : [{ title: metric, width: 300, height: PANEL.height, ...lineLayer(rows, 'ms', 'median (ms)', styles) }];
  });
  const charts: ChartSpec[] = [{ name: 'sync-vs-services', spec: topLevel('Control plane: programming N services from empty, then one change', subtitle, { hconcat: panels, resolve: { scale: { y: 'independent' } } }) }];
  const memory = results.flatMap((r): Row[] => (r.peakRssMB === undefined ? [] : [{ series: seriesName(r.mode, r.where), services: r.services, mb: r.peakRssMB.median }]));
  if (memory.length > 0) {
    charts.push({ name: 'memory-vs-services', spec: topLevel('Agent peak memory (RSS) during the full sync', subtitle, { ...PANEL, ...lineLayer(memory, 'mb', 'peak RSS, median (MB)', styles) }) });
  }
  return charts;
}

/** Every chart the report has data for, in reading order. */
export function chartSpecs(report: BenchReport): ChartSpec[] {
  const subtitle = machineSubtitle(report.machine, report.params.runs);
  return [...latencyCharts(report, subtitle), ...controlPlaneCharts(report, subtitle)];
}
