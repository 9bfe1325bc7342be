import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleReport } from './test-builders.js';
import { BenchResultsError, readResults, writeCharts, writeReport } from './write-report.js';

const CHARTS = ['latency-ratio-vs-services', 'latency-vs-services', 'sync-vs-services', 'memory-vs-services'];

describe('writeReport', () => {
  const root = mkdtempSync(join(tmpdir(), 'svcp-bench-report-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('creates the directory and writes results.json and each chart as SVG and PNG', async () => {
    const dir = join(root, 'nested', 'run-1');
    const report = sampleReport();
    const paths = await writeReport(dir, report);
    expect(paths).toEqual(['results.json', ...CHARTS.flatMap((c) => [`${c}.svg`, `${c}.png`])].map((f) => join(dir, f)));
    const json = readFileSync(join(dir, 'results.json'), 'utf8');
    expect(JSON.parse(json)).toEqual(report);
    expect(json).toContain('\n  "startedAt"'); // pretty-printed
    for (const p of paths.filter((f) => f.endsWith('.svg'))) expect(readFileSync(p, 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);
    for (const p of paths.filter((f) => f.endsWith('.png'))) expect(readFileSync(p).toString('latin1', 1, 4)).toBe('PNG');
  });

  it('overwrites an earlier run in the same directory', async () => {
    const dir = join(root, 'again');
    await writeReport(dir, sampleReport());
    const paths = await writeReport(dir, sampleReport({ dataPlane: [], startedAt: 'second' }));
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual(['results.json', 'sync-vs-services.svg', 'sync-vs-services.png', 'memory-vs-services.svg', 'memory-vs-services.png']);
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).startedAt).toBe('second');
  });

  it('re-draws the charts of a results.json it wrote, and refuses a file that is not one', async () => {
    const dir = join(root, 'redraw');
    await writeReport(dir, sampleReport());
    const redrawn = await writeCharts(join(dir, 'charts'), readResults(join(dir, 'results.json')));
    expect(redrawn.map((p) => p.slice(dir.length + 1))).toEqual(CHARTS.flatMap((c) => [`charts/${c}.svg`, `charts/${c}.png`]));
    expect(readFileSync(join(dir, 'charts', 'sync-vs-services.svg'), 'utf8')).toBe(readFileSync(join(dir, 'sync-vs-services.svg'), 'utf8'));
    writeFileSync(join(dir, 'other.json'), '{"kind":"Service"}');
    expect(() => readResults(join(dir, 'other.json'))).toThrow(BenchResultsError);
    expect(() => readResults(join(dir, 'other.json'))).toThrow(/no machine/);
    expect(() => readResults(join(dir, 'missing.json'))).toThrow(/cannot read/);
  });
});
