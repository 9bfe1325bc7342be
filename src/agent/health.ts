// /healthz for anyone who can reach the node (it listens on 0.0.0.0 for the
// kubelet and load balancers): status and timestamps only. The detail (the
// last sync error with its command line and stderr, the source's problem with
// its paths or API server, fallback reasons) is logged where it happens and
// served on the metrics address, which listens on localhost by default.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Node } from '../model/types.js';
import { SvcplaneError } from '../util/errors.js';

/** The cluster autoscaler's taint on a node it is about to delete (kube-proxy checks it too). */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/**
 * Whether load balancers should still send traffic through this node, as kube-proxy's
 * SyncNode decides: not while its Node has a deletionTimestamp or the autoscaler's taint.
 */
export function nodeEligibility(node: Node): { eligible: boolean; reason?: string } {
  if (node.deletionTimestamp !== undefined) return { eligible: false, reason: 'node is being deleted' };
  if (node.taintKeys?.includes(TO_BE_DELETED_TAINT)) return { eligible: false, reason: `node is tainted ${TO_BE_DELETED_TAINT}` };
  return { eligible: true };
}

export class BindAddressError extends SvcplaneError {
  override readonly code = 'SVCPLANE_BAD_BIND_ADDRESS';
}

/** Tracks sync success the way kube-proxy's healthz server does. */
export class HealthTracker {
  private lastSuccess: number | undefined;
  private lastAttempt: number | undefined;
  private lastError: string | undefined;
  /** The current run of failed stale-flow cleanups (undefined while they succeed). */
  private conntrack: { failures: number; since: number; code: string; toolMissing: boolean } | undefined;
  /** Eligible until this node's Node object says otherwise (kube-proxy starts the same way). */
  private node: { eligible: boolean; reason?: string; deletionTimestamp?: string } = { eligible: true };
  /** Parts of the agent beside the proxy (the Ingress controller), by name. */
  private readonly components = new Map<string, () => { readonly healthy: boolean }>();

  constructor(
    /** Longest acceptable gap between successful syncs (kube-proxy: 2 x sync period). */
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
    private readonly sourceStatus: () => { healthy: boolean; detail: string } = () => ({ healthy: true, detail: 'ok' }),
    /** The mode in use and why a requested one was not (shown, never a reason for 503). */
    private readonly mode?: Readonly<Record<string, unknown>>,
  ) {}

  /**
   * A part of the agent reported beside the sync (`run --ingress`: the Ingress controller): its
   * report in the detailed /healthz, its `healthy` alone in /healthz. Shown, never a reason for
   * 503: /healthz answers for the L4 proxy, which load balancers route NodePorts by.
   */
  addComponent(name: string, report: () => { readonly healthy: boolean }): void {
    this.components.set(name, report);
  }

  private componentReports(brief: boolean): Record<string, unknown> {
    return Object.fromEntries([...this.components].map(([name, report]) => {
      const r = report();
      return [name, brief ? { healthy: r.healthy } : r];
    }));
  }

  recordSuccess(): void {
    this.lastSuccess = this.lastAttempt = this.now();
    this.lastError = undefined;
  }

  recordFailure(err: unknown): void {
    this.lastAttempt = this.now();
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  /**
   * The outcome of a sync's stale conntrack cleanup (a failure's code, or undefined for success).
   * It is reported, never a reason for 503: the rules are right, only old UDP flows linger.
   * Returns 'failing' when this starts a run of failures, 'recovered' when it ends one.
   */
  recordConntrack(failure?: { readonly code: string; readonly toolMissing: boolean }): 'failing' | 'recovered' | undefined {
    const previous = this.conntrack;
    if (failure === undefined) {
      this.conntrack = undefined;
      return previous === undefined ? undefined : 'recovered';
    }
    this.conntrack = { failures: (previous?.failures ?? 0) + 1, since: previous?.since ?? this.now(), ...failure };
    return previous === undefined ? 'failing' : undefined;
  }

  /**
   * This node's Node object as last seen. A deleted Node keeps the last verdict: kube-proxy
   * judges the object in the delete event, which is that last state.
   */
  recordNode(node: Node): void {
    this.node = { ...nodeEligibility(node), ...(node.deletionTimestamp === undefined ? {} : { deletionTimestamp: node.deletionTimestamp }) };
  }

  /**
   * What unauthenticated clients see: status, a fixed-vocabulary reason when unhealthy, timestamps.
   * /healthz also fails while the node is leaving, so load balancers drain it; /livez does not
   * (the agent itself is fine), as kube-proxy's two handlers do.
   */
  publicReport(path: '/healthz' | '/livez' = '/healthz'): { healthy: boolean; body: Record<string, unknown> } {
    const { body } = this.report();
    const synced = this.syncHealthy();
    const source = this.sourceStatus();
    const withNode = path === '/healthz';
    const healthy = synced && (!withNode || this.node.eligible);
    const mode = this.mode === undefined ? {} : { mode: { requested: this.mode['requested'], using: this.mode['using'] } };
    return {
      healthy,
      body: {
        status: healthy ? 'ok' : 'unhealthy',
        ...(healthy ? {} : { reason: synced ? this.node.reason : this.unhealthyReason(source.healthy) }),
        lastUpdated: body['lastUpdated'],
        currentTime: body['currentTime'],
        lastAttempt: body['lastAttempt'],
        ...(withNode ? { nodeEligible: this.node.eligible } : {}),
        source: { healthy: source.healthy },
        ...this.componentReports(true),
        ...mode,
      },
    };
  }

  /** The detailed /healthz of the metrics address: the sync, and the node as /healthz judges it. */
  detailReport(): { healthy: boolean; body: Record<string, unknown> } {
    const { healthy, body } = this.report();
    return { healthy: healthy && this.node.eligible, body: { ...body, node: this.node } };
  }

  private unhealthyReason(sourceHealthy: boolean): string {
    if (this.lastSuccess !== undefined) return 'no successful sync within the allowed time';
    return sourceHealthy ? 'no successful sync yet' : 'waiting for the source: nothing programmed yet';
  }

  private syncHealthy(): boolean {
    return this.lastSuccess !== undefined && this.now() - this.lastSuccess <= this.timeoutMs;
  }

  /**
   * Everything about the proxy itself; `healthy` ignores the node, as kube-proxy's IsHealthy
   * does (the service health server's serviceProxyHealthy reads it).
   */
  report(): { healthy: boolean; body: Record<string, unknown> } {
    const now = this.now();
    const healthy = this.syncHealthy();
    const source = this.sourceStatus();
    return {
      healthy,
      body: {
        lastUpdated: this.lastSuccess === undefined ? null : new Date(this.lastSuccess).toISOString(),
        currentTime: new Date(now).toISOString(),
        lastAttempt: this.lastAttempt === undefined ? null : new Date(this.lastAttempt).toISOString(),
        lastError: this.lastError ?? null,
        // The dataplane keeps serving while the source is away: reported, not fatal.
        source,
        conntrack: this.conntrack === undefined
          ? { healthy: true }
          : { healthy: false, consecutiveFailures: this.conntrack.failures, since: new Date(this.conntrack.since).toISOString(), code: this.conntrack.code, toolMissing: this.conntrack.toolMissing },
        ...(this.mode ? { mode: this.mode } : {}),
        ...this.componentReports(false),
      },
    };
  }
}

export function parseBindAddress(text: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new BindAddressError(`${what}: expected ADDR:PORT, got "${text}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

async function listen(server: Server, bind: { host: string; port: number }): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export async function startHealthServer(bind: { host: string; port: number }, health: HealthTracker): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/livez') {
      res.writeHead(404).end('not found\n');
      return;
    }
    const { healthy, body } = health.publicReport(path);
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
  });
  return listen(server, bind);
}

/** /metrics, and with `health` the detailed /healthz (this address is localhost by default). */
export async function startMetricsServer(bind: { host: string; port: number }, registry: Registry, health?: HealthTracker): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && health !== undefined) {
      const { healthy, body } = health.detailReport();
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  return listen(server, bind);
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
