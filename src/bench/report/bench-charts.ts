// The charts `svcplane bench` writes beside results.json, each as SVG and PNG.
import type { BenchReport } from './report-types.js';
import { chartSpecs } from './chart-specs.js';
import { renderSvg, svgToPng } from './render-chart.js';

export interface ChartFile {
  /** Without extension: NAME.svg and NAME.png. */
  readonly name: string;
  readonly svg: string;
  readonly png: Buffer;
}

export async function benchCharts(report: BenchReport): Promise<ChartFile[]> {
  const charts: ChartFile[] = [];
  for (const { name, spec } of chartSpecs(report)) {
    const svg = await renderSvg(spec);
    charts.push({ name, svg, png: svgToPng(svg) });
  }
  return charts;
}
