// The wake-up probe: its summary's percentiles, and a real probe thread that returns samples
// (no assertion on how late they are: that is the machine's load, not the code's).
import { describe, expect, it } from 'vitest';
import { probeWakeups, summarizeWakeups } from './wakeup-probe.js';

describe('summarizeWakeups', () => {
  it('takes p50, p99 and max of the samples without reordering them', () => {
    const samples = Array.from({ length: 200 }, (_, i) => (i * 37) % 200);
    const copy = [...samples];
    expect(summarizeWakeups(samples)).toEqual({ samples: 200, p50Ms: 100, p99Ms: 198, maxMs: 199 });
    expect(samples).toEqual(copy);
  });

  it('has no figures without samples', () => {
    expect(summarizeWakeups([])).toEqual({ samples: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN });
  });
});

describe('probeWakeups', () => {
  it('samples from a thread of its own for the time asked', async () => {
    const d = await probeWakeups(50);
    // About one sample per 1 ms sleep (a loop that did not sleep would take thousands).
    expect(d.samples).toBeGreaterThan(0);
    expect(d.samples).toBeLessThanOrEqual(100);
    expect(d.p50Ms).toBeGreaterThanOrEqual(0);
    expect(d.maxMs).toBeGreaterThanOrEqual(d.p99Ms);
    expect(d.p99Ms).toBeGreaterThanOrEqual(d.p50Ms);
  });
});
