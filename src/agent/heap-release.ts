// Giving back the memory a full sync used. A full sync of a large state allocates a few
// hundred MB that are garbage once it is done; V8 collects them but keeps the pages in
// its pool, and its memory reducer never hands them back: it judges the allocation rate
// by the last collections, which all saw the sync, and then no collection happens while
// the agent idles. One last-resort collection (the kind V8 runs before giving up on an
// allocation) releases the pool: measured at 10,000 services x 10 in eBPF mode, RSS
// 218 -> 160 MB, for a pause of 0.1-0.6 s on the main thread once per full sync (the DNS
// workers have their own heaps and keep answering). It needs node's --expose-gc, which
// bin/svcplane passes; without it nothing happens.
import type { Timers } from './sync-runner.js';

type GcOptions = { readonly type: 'major'; readonly execution: 'sync'; readonly flavor: 'last-resort' };
type ExposedGc = (options?: GcOptions) => void;

/** How long after the last full sync the release runs: a burst of syncs (start-up) pays once. */
export const HEAP_RELEASE_DELAY_MS = 2_000;

function exposedGc(): ExposedGc | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as ExposedGc) : undefined;
}

/** Collects everything collectable and returns V8's pooled pages to the system; false without --expose-gc. */
export function releaseHeap(): boolean {
  const gc = exposedGc();
  if (gc === undefined) return false;
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}

/** Runs releaseHeap once, HEAP_RELEASE_DELAY_MS after the last full sync asked for it. */
export class HeapReleaser {
  private pending: unknown;
  // Plain fields, not parameter properties: its test loads this file with node's type stripping.
  private readonly timers: Timers;
  private readonly release: () => boolean;

  constructor(timers: Timers, release: () => boolean = releaseHeap) {
    this.timers = timers;
    this.release = release;
  }

  afterFullSync(): void {
    if (this.pending !== undefined) this.timers.clearTimeout(this.pending);
    this.pending = this.timers.setTimeout(() => {
      this.pending = undefined;
      this.release();
    }, HEAP_RELEASE_DELAY_MS);
    // The release must never keep a stopping process alive.
    (this.pending as { unref?: () => void } | undefined)?.unref?.();
  }

  stop(): void {
    if (this.pending !== undefined) this.timers.clearTimeout(this.pending);
    this.pending = undefined;
  }
}
