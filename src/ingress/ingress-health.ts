// The Ingress controller's part of the agent's detailed /healthz: when nginx was
// last programmed, what it serves, the failing syncs, and how long a change has
// waited. A change still not in nginx after `stuckAfterMs` (a hung `nginx -t` or
// reload, syncs failing, the Ingress kinds never listed) makes it unhealthy, so
// a stuck controller shows even though nginx keeps serving its last config.

export interface IngressHealthReport {
  readonly healthy: boolean;
  readonly [field: string]: unknown;
}

/** The Ingress kinds' source, when they come from the API server. */
export interface IngressSourceStatus {
  readonly healthy: boolean;
  readonly detail: string;
}

/** What the runtime knows beside the syncs. */
export interface IngressHealthContext {
  /** The Ingress kinds' own source (Kubernetes), if any. */
  readonly source?: IngressSourceStatus;
  readonly nginxPid: number | undefined;
  /** The Services source (and, from manifests, the Ingresses) delivered its first list. */
  readonly servicesListed: boolean;
}

/** How long a change may wait for nginx before the controller counts as stuck. */
export const INGRESS_STUCK_AFTER_MS = 60_000;

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export class IngressHealth {
  /** Last sync that left nginx running the wanted config (reloaded or already current). */
  private lastSuccess: number | undefined;
  private lastReload: number | undefined;
  /** How long that reloading sync took (route table, config, `nginx -t`, reload). */
  private lastReloadMs: number | undefined;
  private lastError: string | undefined;
  private failures = 0;
  private served = 0;
  private excluded: readonly string[] = [];
  private problems = 0;
  /** The oldest change nginx does not have yet (undefined when it is current). */
  private waitingSince: number | undefined;
  /** The change a running sync covers: done only if nothing newer came meanwhile. */
  private syncCovers: number | undefined;
  private syncStarted: number | undefined;
  /** False until the Ingress kinds' own source delivered its first list (Kubernetes). */
  private kindsListed = true;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly stuckAfterMs = INGRESS_STUCK_AFTER_MS,
  ) {
    // nginx starts on the catch-all 404 and waits for its first routes.
    this.waitingSince = now();
  }

  /** Something changed that nginx should get. */
  changed(): void {
    this.waitingSince ??= this.now();
  }

  expectIngressKinds(): void {
    this.kindsListed = false;
  }

  ingressKindsListed(): void {
    this.kindsListed = true;
  }

  started(): void {
    this.syncStarted = this.now();
    this.syncCovers = this.waitingSince;
  }

  succeeded(outcome: { readonly reloaded: boolean; readonly served: ReadonlySet<string>; readonly excluded: readonly string[]; readonly problems: readonly unknown[] }, nginxMs?: number): void {
    const now = this.now();
    this.lastSuccess = now;
    if (outcome.reloaded) {
      this.lastReload = now;
      if (nginxMs !== undefined) this.lastReloadMs = nginxMs;
    }
    this.served = outcome.served.size;
    this.excluded = outcome.excluded;
    this.problems = outcome.problems.length;
    this.lastError = undefined;
    this.failures = 0;
    if (this.waitingSince === this.syncCovers) this.waitingSince = undefined;
    this.syncStarted = undefined;
  }

  failed(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.failures++;
    this.syncStarted = undefined;
  }

  report(context: IngressHealthContext): IngressHealthReport {
    const { source, nginxPid } = context;
    const now = this.now();
    const reason = this.unhealthyReason(now, context);
    return {
      healthy: reason === undefined,
      ...(reason === undefined ? {} : { reason }),
      nginxPid: nginxPid ?? null,
      lastSync: iso(this.lastSuccess),
      lastReload: iso(this.lastReload),
      ...(this.lastReloadMs === undefined ? {} : { lastReloadMs: Math.round(this.lastReloadMs) }),
      changePendingSince: iso(this.waitingSince),
      syncRunningSince: iso(this.syncStarted),
      servedIngresses: this.served,
      excludedIngresses: this.excluded,
      problems: this.problems,
      lastError: this.lastError ?? null,
      consecutiveFailures: this.failures,
      ...(source === undefined ? {} : { source: { healthy: source.healthy, detail: source.detail, listed: this.kindsListed } }),
    };
  }

  private unhealthyReason(now: number, { source, nginxPid, servicesListed }: IngressHealthContext): string | undefined {
    if (nginxPid === undefined) return 'nginx is not running';
    if (this.waitingSince === undefined || now - this.waitingSince <= this.stuckAfterMs) return undefined;
    const waited = `a change has waited ${Math.round((now - this.waitingSince) / 1000)} s for nginx`;
    if (!servicesListed) return `${waited}: the source has not delivered its first list`;
    if (!this.kindsListed) return `${waited}: the Ingress kinds are not listed yet${source === undefined ? '' : ` (${source.detail})`}`;
    if (this.syncStarted !== undefined && now - this.syncStarted > this.stuckAfterMs) return `${waited}: a sync has been running since ${iso(this.syncStarted) ?? ''}`;
    if (this.failures > 0) return `${waited}: ${this.failures} syncs failed, the last: ${this.lastError ?? ''}`;
    return waited;
  }
}
