// A bounded-frequency runner, after kube-proxy's: requests are coalesced, runs
// are at least `minIntervalMs` apart, a run happens at least every
// `maxIntervalMs`, and a failed run is retried with exponential backoff.

/**
 * 'change' runs are partial; 'retry' (after a failure) and 'resync' (forced) are full; a
 * 'periodic' run (the clock) is full only when the backend's drift check finds a difference or
 * the full-sync period (an hour) has passed: the agent decides.
 */
export type SyncReason = 'change' | 'periodic' | 'retry' | 'resync';

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SyncRunnerOptions {
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly timers?: Timers;
  /** Called when a run throws; the runner keeps going. */
  readonly onError?: (err: unknown, attempt: number) => void;
}

export class SyncRunner {
  private readonly timers: Timers;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private timer: unknown = undefined;
  private timerDue = Infinity;
  private running: Promise<void> | undefined;
  private lastStart = -Infinity;
  private lastPeriodicStart = -Infinity;
  /** A requested run ('change') or a forced one ('retry'); periodic runs come from the clock. */
  private pending: SyncReason | undefined;
  private failures = 0;
  private stopped = true;

  constructor(
    private readonly fn: (reason: SyncReason) => Promise<void>,
    private readonly opts: SyncRunnerOptions,
  ) {
    this.timers = opts.timers ?? realTimers;
    this.retryBaseMs = opts.retryBaseMs ?? Math.max(opts.minIntervalMs, 1000);
    this.retryMaxMs = opts.retryMaxMs ?? Math.max(opts.maxIntervalMs, this.retryBaseMs);
  }

  /** Starts the loop with an immediate first (periodic, i.e. full) run. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Asks for a run as soon as the minimum interval allows; requests coalesce, and a full one wins. */
  request(reason: 'change' | 'resync' = 'change'): void {
    if (this.stopped) return;
    if (this.pending === undefined || this.pending === 'change') this.pending = reason;
    if (this.running) return; // picked up when the current run ends
    this.schedule(Math.max(0, this.lastStart + this.opts.minIntervalMs - this.timers.now()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    await this.running;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  private schedule(delayMs: number): void {
    const due = this.timers.now() + delayMs;
    if (this.timer !== undefined && this.timerDue <= due) return;
    this.cancelTimer();
    this.timerDue = due;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.fire();
    }, delayMs);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  private fire(): void {
    if (this.stopped || this.running) return;
    const now = this.timers.now();
    // The periodic clock is never reset by partial runs, so drift repair happens under constant churn too.
    const periodicDue = now >= this.lastPeriodicStart + this.opts.maxIntervalMs;
    const reason: SyncReason = periodicDue ? 'periodic' : (this.pending ?? 'periodic');
    this.pending = undefined;
    this.lastStart = now;
    if (reason === 'periodic') this.lastPeriodicStart = now;
    this.running = this.runOnce(reason).finally(() => {
      this.running = undefined;
      this.afterRun();
    });
  }

  private async runOnce(reason: SyncReason): Promise<void> {
    try {
      await this.fn(reason);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.opts.onError?.(err, this.failures);
    }
  }

  private afterRun(): void {
    if (this.stopped) return;
    const now = this.timers.now();
    if (this.failures > 0) {
      this.pending = 'retry';
      const backoff = Math.min(this.retryBaseMs * 2 ** (this.failures - 1), this.retryMaxMs);
      this.schedule(Math.max(backoff, this.opts.minIntervalMs));
      return;
    }
    if (this.pending !== undefined) {
      this.schedule(Math.max(0, this.lastStart + this.opts.minIntervalMs - now));
      return;
    }
    this.schedule(Math.max(0, this.lastPeriodicStart + this.opts.maxIntervalMs - now));
  }
}
