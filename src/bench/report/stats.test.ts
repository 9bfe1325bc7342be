import { describe, expect, it } from 'vitest';
import { controlPlane, run, sampleReport, stat } from './test-builders.js';
import {
  EmptySamplesError,
  PercentileRangeError,
  latencySummary,
  medianOf,
  percentile,
  spreadWarnings,
  summarize,
} from './stats.js';
import type { DataPlaneResult } from './report-types.js';

describe('medianOf', () => {
  it('takes the middle value of an odd count, whatever the order', () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([7])).toBe(7);
  });
  it('takes the mean of the middle two of an even count', () => {
    expect(medianOf([4, 1, 3, 2])).toBe(2.5);
    expect(medianOf([10, 20])).toBe(15);
  });
  it('throws a typed error on no samples', () => {
    expect(() => medianOf([])).toThrow(EmptySamplesError);
    try {
      medianOf([]);
    } catch (e) {
      expect((e as EmptySamplesError).code).toBe('SVCPLANE_BENCH_EMPTY_SAMPLES');
    }
  });
});

describe('percentile (linear interpolation between closest ranks)', () => {
  const oneToTen = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
  it('matches hand-computed values', () => {
    // position (n-1)·p/100: p90 of 1..10 is 9 + 0.1·(10-9)
    expect(percentile(oneToTen, 90)).toBeCloseTo(9.1, 10);
    expect(percentile([10, 20, 30, 40], 25)).toBeCloseTo(17.5, 10);
    expect(percentile(oneToTen, 0)).toBe(1);
    expect(percentile(oneToTen, 100)).toBe(10);
    expect(percentile(oneToTen, 50)).toBe(5.5);
  });
  it('does not reorder the caller’s array', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });
  it('rejects p outside 0..100 and empty input', () => {
    expect(() => percentile([1], 101)).toThrow(PercentileRangeError);
    expect(() => percentile([1], -1)).toThrow(PercentileRangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(PercentileRangeError);
    expect(() => percentile([], 50)).toThrow(EmptySamplesError);
  });
});

describe('summarize', () => {
  it('gives median, min, max and (max-min)/median, keeping the samples in run order', () => {
    const s = summarize([14, 10, 100, 12]);
    expect(s.median).toBe(13);
    expect(s.min).toBe(10);
    expect(s.max).toBe(100);
    expect(s.spread).toBeCloseTo(90 / 13, 10);
    expect(s.samples).toEqual([14, 10, 100, 12]);
  });
  it('has spread 0 when the median is 0', () => {
    expect(summarize([0, 0, 3]).spread).toBe(0);
  });
  it('throws on no samples', () => {
    expect(() => summarize([])).toThrow(EmptySamplesError);
  });
});

describe('latencySummary', () => {
  it('computes p50/p90/p99 and the count', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    const s = latencySummary(samples);
    expect(s.p50).toBeCloseTo(50.5, 10);
    expect(s.p90).toBeCloseTo(90.1, 10);
    expect(s.p99).toBeCloseTo(99.01, 10);
    expect(s.count).toBe(100);
  });
  it('throws on no samples', () => {
    expect(() => latencySummary([])).toThrow(EmptySamplesError);
  });
});

describe('spreadWarnings', () => {
  it('names a control-plane measurement above the threshold, with its median and range', () => {
    const r = controlPlane('nftables', 10_000, stat(6000, 6000), { changeMs: stat(5100, 6400, 7700) });
    expect(spreadWarnings([r])).toEqual([
      'nftables 10000 services: one endpoint change spread 41% (median 6.4 s, 5.1 s..7.7 s): ' +
        'too wide to trust; run with more --runs on a quiet machine',
    ]);
  });
  it('stays quiet at or below the threshold', () => {
    const atThreshold = controlPlane('iptables', 100, stat(100, 100, 125)); // spread exactly 0.25
    const below = controlPlane('iptables', 1000, stat(100, 110, 120));
    expect(spreadWarnings([atThreshold, below])).toEqual([]);
    const above = controlPlane('iptables', 100, stat(100, 100, 126));
    expect(spreadWarnings([above])).toHaveLength(1);
  });
  it('honours a custom threshold', () => {
    const r = controlPlane('ipvs', 100, stat(100, 100, 130), { peakRssMB: stat(100, 150, 200) });
    expect(spreadWarnings([r], 0.25)).toHaveLength(2);
    expect(spreadWarnings([r], 0.5)).toHaveLength(1);
    expect(spreadWarnings([r], 0.5)[0]).toContain('peak RSS spread 67% (median 150 MB, 100 MB..200 MB)');
    expect(spreadWarnings([r], 1)).toEqual([]);
  });
  it('checks data-plane figures across runs, and only with more than one run', () => {
    const noisy: DataPlaneResult = {
      mode: 'ebpf',
      services: 1000,
      where: 'VM (emulated)',
      viaVip: [run(50, 9000), run(50, 9000), run(80, 9000)],
      direct: [run(40, 10_000)],
    };
    expect(spreadWarnings([noisy])).toEqual([
      'ebpf 1000 services (VM (emulated)): TCP connect p50 via VIP spread 60% (median 50 µs, 50 µs..80 µs): ' +
        'too wide to trust; run with more --runs on a quiet machine',
    ]);
  });
  it('reads a whole report', () => {
    expect(spreadWarnings(sampleReport())).toEqual([]);
    const noisy = sampleReport({ controlPlane: [controlPlane('iptables', 100, stat(10, 20, 30))] });
    expect(spreadWarnings(noisy)).toHaveLength(1);
    expect(spreadWarnings(noisy)[0]).toMatch(/^iptables 100 services: full sync spread 100% /);
  });
});
