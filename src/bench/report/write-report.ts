// Writes a bench run's results into a directory: results.json (the full data, for diffing
// runs and for later re-rendering) and the SVG charts.
//
// No PNG: rendering SVG to PNG needs a rasterizer (resvg-js, sharp, canvas) and none is a
// dependency of svcplane; SVG opens in any browser and renders on GitHub, so we skip PNG
// rather than add a native dependency for it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchCharts } from './bench-charts.js';
import type { BenchReport } from './report-types.js';

export const RESULTS_FILE = 'results.json';

/** Writes results.json and the charts into dir (created if missing); returns the paths written. */
export function writeReport(dir: string, report: BenchReport): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [{ file: RESULTS_FILE, text: `${JSON.stringify(report, null, 2)}\n` }];
  for (const chart of benchCharts(report)) files.push({ file: chart.file, text: chart.svg });
  return files.map(({ file, text }) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  });
}
