// A small hand-written SVG line chart: enough for benchmark plots (axes, ticks, gridlines,
// legend, optional log scales) without a charting dependency. Every coordinate is finite by
// construction (non-finite points, and non-positive ones on a log axis, are dropped), and every
// piece of text goes through escapeXml.

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
  /** overrides the palette colour, e.g. for a reference series */
  readonly color?: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** linear y axis starts at 0 when all values are positive (default true) */
  readonly yFromZero?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Okabe & Ito's colour-blind-safe palette, yellow last (weak on white). */
export const PALETTE: readonly string[] = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

interface Scale {
  readonly ticks: readonly number[];
  /** 0..1 along the axis */
  readonly fraction: (v: number) => number;
}

/** Heckbert's "nice numbers": a step of 1, 2 or 5 times a power of ten. */
function niceStep(raw: number): number {
  const exp = Math.floor(Math.log10(raw));
  const f = raw / 10 ** exp;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * 10 ** exp;
}

/** Drops float noise such as 0.30000000000000004 from tick values. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

function linearScale(values: readonly number[], fromZero: boolean): Scale {
  let lo = values.length > 0 ? Math.min(...values) : 0;
  let hi = values.length > 0 ? Math.max(...values) : 1;
  if (fromZero && lo > 0) lo = 0;
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) / 2;
    lo = lo === 0 ? 0 : lo - pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / 5);
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(clean(i * step));
  const min = first * step;
  const span = (last - first) * step;
  return { ticks, fraction: (v) => (v - min) / span };
}

function logScale(values: readonly number[]): Scale {
  let loExp = values.length > 0 ? Math.floor(Math.log10(Math.min(...values))) : 0;
  let hiExp = values.length > 0 ? Math.ceil(Math.log10(Math.max(...values))) : 1;
  if (loExp === hiExp) {
    // All values on one power of ten: centre it in a two-decade axis.
    loExp -= 1;
    hiExp += 1;
  }
  // Few decades: label 2× and 5× too, or the axis would carry two lonely ticks.
  const multiples = hiExp - loExp <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = loExp; e <= hiExp; e++) {
    for (const m of multiples) if (e < hiExp || m === 1) ticks.push(clean(m * 10 ** e));
  }
  return { ticks, fraction: (v) => (Math.log10(v) - loExp) / (hiExp - loExp) };
}

/** Tick labels: 0.25, 40, 1.5k, 10k, 1M. */
export function tickLabel(v: number): string {
  const abs = Math.abs(v);
  const [div, suffix] = abs >= 1e6 ? [1e6, 'M'] : abs >= 1e3 ? [1e3, 'k'] : [1, ''];
  return `${clean(Number((v / div).toPrecision(3)))}${suffix}`;
}

const CHAR_PX = 7;

function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/** One decimal is plenty for pixels, and keeps the file small and diffable. */
function px(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function usable(points: readonly (readonly [number, number])[], logX: boolean, logY: boolean): [number, number][] {
  return points
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0) && (!logY || y > 0))
    .map(([x, y]): [number, number] => [x, y])
    .sort((a, b) => a[0] - b[0]);
}

export function lineChart(opts: LineChartOptions): string {
  const width = opts.width ?? 760;
  const height = opts.height ?? 460;
  const logX = opts.logX ?? false;
  const logY = opts.logY ?? false;
  // The legend sits right of the plot, as wide as its longest name (about 7 px a character at
  // 12 px sans-serif) up to a third of the chart; longer names are cut with an ellipsis.
  const legendChars = Math.floor(width / 3 / CHAR_PX) - 7;
  const longest = Math.max(0, ...opts.series.map((s) => [...s.name].length));
  const margin = { top: opts.subtitle ? 72 : 52, right: 56 + CHAR_PX * Math.min(longest, legendChars), bottom: 60, left: 80 };
  const plot = { x0: margin.left, y0: margin.top, x1: width - margin.right, y1: height - margin.bottom };

  const series = opts.series.map((s, i) => ({
    ...s,
    color: s.color ?? (PALETTE[i % PALETTE.length] as string),
    points: usable(s.points, logX, logY),
  }));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xScale = logX ? logScale(xs) : linearScale(xs, false);
  const yScale = logY ? logScale(ys) : linearScale(ys, opts.yFromZero ?? true);
  const sx = (v: number): number => plot.x0 + xScale.fraction(v) * (plot.x1 - plot.x0);
  const sy = (v: number): number => plot.y1 - yScale.fraction(v) * (plot.y1 - plot.y0);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${escapeXml(opts.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${px(width / 2)}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(opts.title)}</text>`,
  ];
  if (opts.subtitle) {
    out.push(`<text x="${px(width / 2)}" y="44" text-anchor="middle" fill="#555555">${escapeXml(opts.subtitle)}</text>`);
  }

  out.push('<g class="grid" stroke="#dddddd" stroke-width="1">');
  for (const t of xScale.ticks) out.push(`<line x1="${px(sx(t))}" y1="${px(plot.y0)}" x2="${px(sx(t))}" y2="${px(plot.y1)}"/>`);
  for (const t of yScale.ticks) out.push(`<line x1="${px(plot.x0)}" y1="${px(sy(t))}" x2="${px(plot.x1)}" y2="${px(sy(t))}"/>`);
  out.push('</g>');

  out.push('<g class="axes" stroke="#333333" stroke-width="1">');
  out.push(`<line x1="${px(plot.x0)}" y1="${px(plot.y1)}" x2="${px(plot.x1)}" y2="${px(plot.y1)}"/>`);
  out.push(`<line x1="${px(plot.x0)}" y1="${px(plot.y0)}" x2="${px(plot.x0)}" y2="${px(plot.y1)}"/>`);
  for (const t of xScale.ticks) out.push(`<line x1="${px(sx(t))}" y1="${px(plot.y1)}" x2="${px(sx(t))}" y2="${px(plot.y1 + 5)}"/>`);
  for (const t of yScale.ticks) out.push(`<line x1="${px(plot.x0 - 5)}" y1="${px(sy(t))}" x2="${px(plot.x0)}" y2="${px(sy(t))}"/>`);
  out.push('</g>');

  out.push('<g class="tick-labels" fill="#333333">');
  for (const t of xScale.ticks) {
    out.push(`<text class="x-tick" x="${px(sx(t))}" y="${px(plot.y1 + 18)}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`);
  }
  for (const t of yScale.ticks) {
    out.push(`<text class="y-tick" x="${px(plot.x0 - 8)}" y="${px(sy(t) + 4)}" text-anchor="end">${escapeXml(tickLabel(t))}</text>`);
  }
  out.push('</g>');

  const midX = (plot.x0 + plot.x1) / 2;
  const midY = (plot.y0 + plot.y1) / 2;
  const xLabel = `${opts.xLabel}${logX ? ' (log scale)' : ''}`;
  const yLabel = `${opts.yLabel}${logY ? ' (log scale)' : ''}`;
  out.push(`<text x="${px(midX)}" y="${px(height - 18)}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  out.push(`<text x="20" y="${px(midY)}" text-anchor="middle" transform="rotate(-90 20 ${px(midY)})">${escapeXml(yLabel)}</text>`);
  if (xs.length === 0) {
    out.push(`<text x="${px(midX)}" y="${px(midY)}" text-anchor="middle" fill="#888888">no data</text>`);
  }

  for (const s of series) {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const color = escapeXml(s.color);
    out.push(`<g class="series" stroke="${color}" fill="${color}">`, `<title>${escapeXml(s.name)}</title>`);
    if (s.points.length > 1) {
      const pts = s.points.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke-width="2"${dash}/>`);
    }
    for (const [x, y] of s.points) out.push(`<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="3.5"/>`);
    out.push('</g>');
  }

  out.push('<g class="legend">');
  series.forEach((s, i) => {
    const y = plot.y0 + 8 + i * 20;
    const x = plot.x1 + 16;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const color = escapeXml(s.color);
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${x + 30}" y="${y + 4}">${escapeXml(ellipsis(s.name, legendChars))}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
