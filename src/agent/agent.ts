// The node agent's loop: source batches -> object store -> desired state -> backend,
// through the bounded-frequency runner. Nothing here tears the dataplane down: stopping
// leaves every rule in place, and a failed sync is retried as a full one.
import type { Logger } from 'pino';
import type { ProxyBackend, SyncOutcome } from '../backends/backend.js';
import { RestoreError } from '../kernel/iptables.js';
import { SvcplaneError } from '../util/errors.js';
import { ConntrackCleanupError } from './conntrack-cleaner.js';
import type { SourceEvent, Source } from '../sources/source.js';
import { DesiredStateBuilder } from '../state/desired-state.js';
import type { NodeContext } from '../state/node-context.js';
import { ObjectStore, changedServiceKeys, type ServiceKeySet } from '../state/object-store.js';
import { isEmpty, staleFlows, type StaleFlows } from '../state/stale-conntrack.js';
import type { DesiredState } from '../state/types.js';
import type { Node } from '../model/types.js';
import { nodeEligibility, type HealthTracker } from './health.js';
import type { Metrics } from './metrics.js';
import { HeapReleaser } from './heap-release.js';
import { SyncRunner, realTimers, type SyncReason, type Timers } from './sync-runner.js';

export interface ConntrackCleaner {
  clear(flows: StaleFlows): Promise<void>;
}

export interface AgentOptions {
  readonly ctx: NodeContext;
  /** Node IPs were given on the command line: the Node object's addresses must not replace them. */
  readonly nodeIPsFixed?: boolean;
  readonly source: Source;
  readonly backend: ProxyBackend;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthTracker;
  readonly conntrack?: ConntrackCleaner;
  readonly minSyncPeriodMs: number;
  readonly syncPeriodMs: number;
  /**
   * A periodic sync is a full rewrite only when the backend's drift check finds a difference, or
   * when this long has passed since the last full sync (kube-proxy's one hour).
   */
  readonly fullSyncPeriodMs?: number;
  readonly serviceProxyName?: string;
  readonly timers?: Timers;
  /** Sees every source batch too (the Ingress controller of `run --ingress`). */
  readonly onEvents?: (events: readonly SourceEvent[]) => void;
  /** Observes every successful sync (tests and benchmarks wait on it; the service health server follows its state). */
  readonly onSync?: (info: { reason: SyncReason; outcome: SyncOutcome | undefined; durationMs: number; state: DesiredState; ctx: NodeContext }) => void;
  /** Observes every applied batch with the store (cluster DNS reads the same state from it). */
  readonly onStoreChange?: (store: ObjectStore, changed: ServiceKeySet) => void;
}

const EMPTY_STATE: DesiredState = { IPv4: new Map(), IPv6: new Map() };
export const DEFAULT_FULL_SYNC_PERIOD_MS = 60 * 60 * 1000;

export class Agent {
  private readonly store: ObjectStore;
  private readonly builder: DesiredStateBuilder;
  private readonly runner: SyncRunner;
  private pending: ServiceKeySet = { services: new Set(), endpoints: new Set(), nodes: new Set() };
  /** The state the kernel holds since the last successful sync (undefined before the first). */
  private programmed: DesiredState | undefined;
  private started = false;
  private ctx: NodeContext;
  /** When the last full sync started (the timers' clock). */
  private lastFullSync = -Infinity;
  private readonly heap: HeapReleaser;

  constructor(private readonly opts: AgentOptions) {
    this.ctx = opts.ctx;
    this.store = new ObjectStore(opts.serviceProxyName === undefined ? {} : { serviceProxyName: opts.serviceProxyName });
    this.builder = new DesiredStateBuilder(opts.ctx);
    this.heap = new HeapReleaser(opts.timers ?? realTimers);
    this.runner = new SyncRunner((reason) => this.sync(reason), {
      minIntervalMs: opts.minSyncPeriodMs,
      maxIntervalMs: opts.syncPeriodMs,
      ...(opts.timers ? { timers: opts.timers } : {}),
      onError: (err, attempt) => opts.logger.error({ err, attempt, mode: opts.backend.mode }, 'sync failed; retrying with a full sync'),
    });
  }

  /** Starts the source; programming begins once it has delivered a complete view. */
  async start(): Promise<void> {
    await this.opts.source.start((events) => this.onBatch(events));
  }

  /** Stops the loop and the source. Rules stay in the kernel, as kube-proxy leaves them. */
  async stop(): Promise<void> {
    await this.opts.source.stop();
    await this.runner.stop();
    this.heap.stop();
  }

  /** The desired state most recently programmed (for diagnostics and tests). */
  get programmedState(): DesiredState | undefined {
    return this.programmed;
  }

  private onBatch(events: readonly SourceEvent[]): void {
    this.opts.onEvents?.(events);
    for (const ev of events) {
      if (ev.type !== 'invalid') continue;
      for (const err of ev.errors) {
        this.opts.metrics.invalidObjects.inc({ kind: err.ref.kind });
        this.opts.logger.warn({ object: `${err.ref.kind} ${err.ref.namespace ? err.ref.namespace + '/' : ''}${err.ref.name}`, field: err.field, reason: err.reason, source: err.source }, 'skipping invalid object');
      }
    }
    const keys = this.store.apply(events);
    this.opts.onStoreChange?.(this.store, keys);
    const contextChanged = keys.nodes.has(this.ctx.nodeName) && this.adoptNode();
    for (const k of keys.services) this.pending.services.add(k);
    for (const k of keys.endpoints) this.pending.endpoints.add(k);
    for (const k of keys.nodes) this.pending.nodes.add(k);
    if (!this.store.hasSynced) return; // never program a partial view
    if (!this.started) {
      this.started = true;
      this.runner.start();
    } else if (contextChanged) {
      this.runner.request('resync'); // a full sync: every rule may embed the node's facts
    } else if (keys.services.size + keys.endpoints.size > 0) {
      this.runner.request();
    }
  }

  /** Takes this node's zone (topology) and addresses (unless fixed by flags) from its Node object. */
  private adoptNode(): boolean {
    const node = this.store.getNode(this.ctx.nodeName);
    if (!node) return false;
    this.noteEligibility(node);
    const ips = node.addresses.filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address);
    const next: NodeContext = {
      ...this.ctx,
      zone: node.zone,
      nodeIPs: this.opts.nodeIPsFixed || ips.length === 0 ? this.ctx.nodeIPs : ips,
    };
    if (next.zone === this.ctx.zone && next.nodeIPs.join(',') === this.ctx.nodeIPs.join(',')) return false;
    this.opts.logger.info({ node: next.nodeName, zone: next.zone, nodeIPs: next.nodeIPs }, 'node facts changed');
    this.ctx = next;
    this.builder.setContext(next);
    this.opts.backend.setContext(next);
    return true;
  }

  /** /healthz fails while the node is leaving (kube-proxy's SyncNode); said once per change. */
  private noteEligibility(node: Node): void {
    const before = this.opts.health.detailReport().body['node'] as { eligible: boolean };
    this.opts.health.recordNode(node);
    const verdict = nodeEligibility(node);
    if (verdict.eligible === before.eligible) return;
    if (verdict.eligible) this.opts.logger.info({ node: node.name }, 'node is eligible again: /healthz follows the syncs');
    else this.opts.logger.warn({ node: node.name, reason: verdict.reason, deletionTimestamp: node.deletionTimestamp }, '/healthz answers 503: the node is leaving');
  }

  /**
   * Whether this sync rewrites everything: always after a failure, a forced resync or before the
   * first success; a periodic one only on drift or once per full-sync period.
   */
  private async needFullSync(reason: SyncReason): Promise<boolean> {
    if (reason === 'change') return this.programmed === undefined;
    const { backend, logger, metrics } = this.opts;
    const now = (this.opts.timers ?? realTimers).now();
    const fullDue = now - this.lastFullSync >= (this.opts.fullSyncPeriodMs ?? DEFAULT_FULL_SYNC_PERIOD_MS);
    if (reason !== 'periodic' || this.programmed === undefined || fullDue || backend.checkDrift === undefined) return true;
    try {
      const drift = await backend.checkDrift();
      if (drift.length === 0) {
        metrics.driftChecks.inc({ result: 'clean' });
        return false;
      }
      metrics.driftChecks.inc({ result: 'drift' });
      logger.warn({ mode: backend.mode, drift: drift.slice(0, 20), differences: drift.length }, 'kernel state drifted from the last sync; rewriting it');
    } catch (err) {
      metrics.driftChecks.inc({ result: 'error' });
      logger.warn({ mode: backend.mode, err }, 'drift check failed; rewriting everything');
    }
    return true;
  }

  private async sync(reason: SyncReason): Promise<void> {
    const t0 = performance.now();
    const full = await this.needFullSync(reason);
    if (full) this.lastFullSync = (this.opts.timers ?? realTimers).now();
    const keys = this.pending;
    this.pending = { services: new Set(), endpoints: new Set(), nodes: new Set() };
    const counts = { serviceChanges: keys.services.size, endpointChanges: keys.endpoints.size };
    const update = this.builder.update(this.store, full ? 'all' : changedServiceKeys(keys), counts);
    const { metrics, backend, logger } = this.opts;
    metrics.serviceChanges.inc(counts.serviceChanges);
    metrics.endpointChanges.inc(counts.endpointChanges);

    let outcome: SyncOutcome | undefined;
    const nothingChanged = !full && update.changes.IPv4.size === 0 && update.changes.IPv6.size === 0;
    if (!nothingChanged) {
      try {
        outcome = await backend.sync(update.state, full ? undefined : update.changes);
      } catch (err) {
        if (err instanceof RestoreError) metrics.restoreFailures.inc();
        this.opts.health.recordFailure(err);
        throw err;
      }
    }
    const previous = this.programmed ?? EMPTY_STATE;
    this.programmed = update.state;
    await this.clearStaleFlows(staleFlows(previous, update.state, full ? undefined : update.changes));

    const seconds = (performance.now() - t0) / 1000;
    metrics.syncDuration.observe(seconds);
    (full ? metrics.syncFullDuration : metrics.syncPartialDuration).observe(seconds);
    metrics.lastSyncTimestamp.set(Date.now() / 1000);
    for (const [kind, n] of Object.entries(outcome?.ruleCounts ?? {})) {
      metrics.kernelObjects.set({ mode: backend.mode, kind }, n);
      // kube-proxy's gauge counts iptables rules per table: only the iptables mode has those.
      if (backend.mode === 'iptables') metrics.iptablesTotal.set({ table: kind }, n);
    }
    this.opts.health.recordSuccess();
    if (full) this.heap.afterFullSync();
    logger.info({ mode: backend.mode, kind: full ? 'full' : 'partial', reason, ms: Math.round(seconds * 1000), services: update.state.IPv4.size + update.state.IPv6.size, ...outcome?.sent }, 'synced proxy rules');
    this.opts.onSync?.({ reason, outcome, durationMs: seconds * 1000, state: update.state, ctx: this.ctx });
  }

  private async clearStaleFlows(flows: StaleFlows): Promise<void> {
    if (!this.opts.conntrack || isEmpty(flows)) return;
    const { health, logger, metrics } = this.opts;
    try {
      await this.opts.conntrack.clear(flows);
      if (health.recordConntrack() === 'recovered') logger.info('stale conntrack entries are cleared again');
    } catch (err) {
      // Stale entries only delay recovery of a UDP flow; they never justify failing a sync.
      // Said loudly once per run of failures; /healthz and the metric show it while it lasts.
      for (const f of err instanceof ConntrackCleanupError ? err.failures : [err]) {
        metrics.conntrackFailures.inc({ code: f instanceof SvcplaneError ? f.code : 'unknown' });
      }
      const missing = err instanceof ConntrackCleanupError && err.toolMissing;
      const message = missing ? 'conntrack is not installed: stale UDP flows are not cleared (install the conntrack package)' : 'clearing stale conntrack entries failed';
      const code = err instanceof SvcplaneError ? err.code : 'unknown';
      if (health.recordConntrack({ code, toolMissing: missing }) === 'failing') logger.error({ err }, message);
      else logger.debug({ err }, message);
    }
  }
}
