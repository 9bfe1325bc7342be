import { describe, expect, it } from 'vitest';
import { SyncRunner, type SyncReason, type Timers } from './sync-runner.js';

/** A manual clock: timers fire only when the test advances time. */
class FakeTimers implements Timers {
  t = 0;
  private seq = 0;
  private readonly queue = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.queue.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.queue.delete(h as number);
  }
  /** Advances time step by step, letting promise callbacks settle between timers. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.queue) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.queue.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function harness(opts: { min: number; max: number; fail?: (n: number) => boolean }) {
  const timers = new FakeTimers();
  const runs: Array<{ at: number; reason: SyncReason }> = [];
  const runner = new SyncRunner(
    async (reason) => {
      runs.push({ at: timers.now(), reason });
      if (opts.fail?.(runs.length)) throw new Error('restore failed');
    },
    { minIntervalMs: opts.min, maxIntervalMs: opts.max, retryBaseMs: 1000, retryMaxMs: 8000, timers },
  );
  return { timers, runs, runner };
}

describe('SyncRunner', () => {
  it('runs at once on start, then periodically', async () => {
    const { timers, runs, runner } = harness({ min: 1000, max: 30_000 });
    runner.start();
    await timers.advance(65_000);
    expect(runs.map((r) => [r.at, r.reason])).toEqual([
      [0, 'periodic'],
      [30_000, 'periodic'],
      [60_000, 'periodic'],
    ]);
    await runner.stop();
  });

  it('coalesces a burst of requests into one run no sooner than minInterval', async () => {
    const { timers, runs, runner } = harness({ min: 1000, max: 30_000 });
    runner.start();
    await timers.advance(100);
    for (let i = 0; i < 50; i++) runner.request();
    await timers.advance(2000);
    expect(runs.map((r) => [r.at, r.reason])).toEqual([
      [0, 'periodic'],
      [1000, 'change'],
    ]);
    await runner.stop();
  });

  it('runs a request immediately when the last run is older than minInterval', async () => {
    const { timers, runs, runner } = harness({ min: 1000, max: 30_000 });
    runner.start();
    await timers.advance(5000);
    runner.request();
    await timers.advance(0);
    expect(runs.at(-1)).toEqual({ at: 5000, reason: 'change' });
    await runner.stop();
  });

  it('keeps the periodic clock under constant churn', async () => {
    const { timers, runs, runner } = harness({ min: 1000, max: 10_000 });
    runner.start();
    for (let t = 0; t < 25_000; t += 500) {
      runner.request();
      await timers.advance(500);
    }
    const periodic = runs.filter((r) => r.reason === 'periodic').map((r) => r.at);
    expect(periodic).toEqual([0, 10_000, 20_000]);
    await runner.stop();
  });

  it('retries failures with exponential backoff, then goes back to normal', async () => {
    const { timers, runs, runner } = harness({ min: 100, max: 60_000, fail: (n) => n >= 2 && n <= 4 });
    runner.start();
    await timers.advance(10);
    runner.request();
    await timers.advance(20_000);
    expect(runs.map((r) => [r.at, r.reason])).toEqual([
      [0, 'periodic'],
      [100, 'change'], // fails
      [1100, 'retry'], // fails, +1s
      [3100, 'retry'], // fails, +2s
      [7100, 'retry'], // +4s, succeeds
    ]);
    expect(runner.consecutiveFailures).toBe(0);
    await runner.stop();
  });

  it('stop() ends the loop', async () => {
    const { timers, runs, runner } = harness({ min: 100, max: 1000 });
    runner.start();
    await timers.advance(10);
    await runner.stop();
    runner.request();
    await timers.advance(5000);
    expect(runs).toHaveLength(1);
  });
});
