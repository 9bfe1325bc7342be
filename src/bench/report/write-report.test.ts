import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleReport } from './test-builders.js';
import { writeReport } from './write-report.js';

describe('writeReport', () => {
  const root = mkdtempSync(join(tmpdir(), 'svcp-bench-report-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('creates the directory and writes results.json and the charts', () => {
    const dir = join(root, 'nested', 'run-1');
    const report = sampleReport();
    const paths = writeReport(dir, report);
    expect(paths).toEqual(['results.json', 'latency-vs-services.svg', 'sync-vs-services.svg'].map((f) => join(dir, f)));
    const json = readFileSync(join(dir, 'results.json'), 'utf8');
    expect(JSON.parse(json)).toEqual(report);
    expect(json).toContain('\n  "startedAt"'); // pretty-printed
    for (const p of paths.slice(1)) expect(readFileSync(p, 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);
  });

  it('overwrites an earlier run in the same directory', () => {
    const dir = join(root, 'again');
    writeReport(dir, sampleReport());
    const paths = writeReport(dir, sampleReport({ dataPlane: [], startedAt: 'second' }));
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual(['results.json', 'sync-vs-services.svg']);
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).startedAt).toBe('second');
  });
});
