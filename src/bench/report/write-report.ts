// Writes a bench run's results into a directory: results.json (the full data, for diffing
// runs and for re-drawing the charts later) and the charts, each as SVG and PNG.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SvcplaneError } from '../../util/errors.js';
import { benchCharts } from './bench-charts.js';
import type { BenchReport } from './report-types.js';

export const RESULTS_FILE = 'results.json';

export class BenchResultsError extends SvcplaneError {
  override readonly code = 'SVCPLANE_BENCH_RESULTS';
}

function writeAll(dir: string, files: readonly { file: string; data: string | Buffer }[]): string[] {
  mkdirSync(dir, { recursive: true });
  return files.map(({ file, data }) => {
    const path = join(dir, file);
    writeFileSync(path, data);
    return path;
  });
}

/** Writes the charts (NAME.svg and NAME.png each) into dir (created if missing); returns the paths. */
export async function writeCharts(dir: string, report: BenchReport): Promise<string[]> {
  const charts = await benchCharts(report);
  return writeAll(dir, charts.flatMap((c) => [{ file: `${c.name}.svg`, data: c.svg }, { file: `${c.name}.png`, data: c.png }]));
}

/** Writes results.json and the charts into dir (created if missing); returns the paths written. */
export async function writeReport(dir: string, report: BenchReport): Promise<string[]> {
  const [results] = writeAll(dir, [{ file: RESULTS_FILE, data: `${JSON.stringify(report, null, 2)}\n` }]);
  return [results as string, ...(await writeCharts(dir, report))];
}

/** An earlier run's results.json, for re-drawing its charts. */
export function readResults(path: string): BenchReport {
  let report: Partial<BenchReport>;
  try {
    report = JSON.parse(readFileSync(path, 'utf8')) as Partial<BenchReport>;
  } catch (err) {
    throw new BenchResultsError(`${path}: cannot read bench results: ${(err as Error).message}`);
  }
  for (const field of ['machine', 'params', 'controlPlane', 'dataPlane'] as const) {
    if (typeof report[field] !== 'object' || report[field] === null) throw new BenchResultsError(`${path}: not a svcplane bench results.json (no ${field})`);
  }
  return report as BenchReport;
}
