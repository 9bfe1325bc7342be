// What every proxy mode implements. The agent owns the loop; a backend turns the
// desired state into kernel state and reads the kernel back on full syncs.
import type { NodeContext } from '../state/node-context.js';
import type { DesiredState, StateChanges } from '../state/types.js';

export interface SyncOutcome {
  readonly kind: 'full' | 'partial';
  /** Rules (or objects) svcplane owns in the kernel after the sync, per table, for metrics. */
  readonly ruleCounts: Readonly<Record<string, number>>;
  /** How much was sent to the kernel (lines, bytes, messages), for logs and benchmarks. */
  readonly sent: Readonly<Record<string, number>>;
}

export interface ProxyBackend {
  readonly mode: string;
  /**
   * Programs `state`. Without `changes` the sync is full: the backend reads what the kernel
   * holds and repairs every difference. With `changes` only those service ports are touched.
   */
  sync(state: DesiredState, changes?: StateChanges): Promise<SyncOutcome>;
  /**
   * A cheap read-back of the kernel against what the last successful sync committed (per-chain
   * rule counts, set or map entry counts, attachments), without rewriting what it compares (it
   * may finish work of its own: eBPF re-attaches a detached program, IPVS deletes real servers
   * that finished draining). Returns the differences found, empty when the kernel holds what was
   * committed; the agent then skips the periodic full rewrite. Any difference (or nothing committed yet) makes that sync full.
   * A backend without it gets a full sync every period.
   */
  checkDrift?(): Promise<readonly string[]>;
  /** Removes everything this mode created in the kernel, and nothing else. */
  cleanup(): Promise<void>;
  /** The node's facts changed (its IPs or zone, from the Node object); the next sync is full. */
  setContext(ctx: NodeContext): void;
}

/** A backend failure that forces the next sync to be full. */
export interface FailureCounter {
  onRestoreFailure(): void;
}
