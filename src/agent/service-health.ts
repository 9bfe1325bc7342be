// kube-proxy's service health server: one HTTP listener per health-check node port on the
// node addresses, answering a cloud load balancer's probe with this node's count of ready
// local endpoints (200 when there are some and the proxy is healthy, 503 otherwise).
// Listeners follow the desired state after each sync; one that cannot bind is reported for
// its service only and retried at the next update.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SvcplaneError } from '../util/errors.js';
import type { HealthCheckConflict, ServiceHealthCheck } from './service-health-plan.js';

export class HealthCheckListenerError extends SvcplaneError {
  override readonly code = 'SVCPLANE_HEALTH_CHECK_LISTENER';
}

export type HealthCheckHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** An open listener; closing it frees the port. */
export interface Listener {
  close(): Promise<void>;
}

/** Opens a listener on host:port (injected by unit tests). */
export type Listen = (host: string, port: number, handler: HealthCheckHandler) => Promise<Listener>;

export interface ServiceHealthOptions {
  readonly logger: Logger;
  /** kube-proxy's serviceProxyHealthy: syncs succeed (the node's /healthz state). */
  readonly proxyHealthy: () => boolean;
  readonly listen?: Listen;
}

export interface HealthCheckStatus {
  readonly port: number;
  readonly service: string;
  readonly listening: readonly string[];
  /** Address -> why it cannot be listened on. */
  readonly failed: Readonly<Record<string, string>>;
}

interface PortEntry {
  check: ServiceHealthCheck;
  readonly listeners: Map<string, Listener>;
  readonly failed: Map<string, string>;
}

export class ServiceHealthServer {
  private readonly ports = new Map<number, PortEntry>();
  private addresses: readonly string[] = [];
  /** Updates run one at a time, in order: each sees the listeners the previous left. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** Conflicts already logged, so each is said once while it lasts, not at every sync. */
  private conflicts = new Set<string>();

  constructor(private readonly opts: ServiceHealthOptions) {}

  /** Makes the listeners match `checks` on `addresses`; resolves when done (never rejects). */
  update(checks: ReadonlyMap<number, ServiceHealthCheck>, addresses: readonly string[], conflicts: readonly HealthCheckConflict[] = []): Promise<void> {
    this.reportConflicts(conflicts);
    this.queue = this.queue.then(() => this.apply(checks, addresses));
    return this.queue;
  }

  /** Closes every listener; later updates do nothing. */
  close(): Promise<void> {
    this.queue = this.queue.then(async () => {
      this.closed = true;
      for (const port of [...this.ports.keys()]) await this.closePort(port);
    });
    return this.queue;
  }

  status(): HealthCheckStatus[] {
    return [...this.ports].sort(([a], [b]) => a - b).map(([port, e]) => ({
      port,
      service: `${e.check.namespace}/${e.check.name}`,
      listening: [...e.listeners.keys()].sort(),
      failed: Object.fromEntries(e.failed),
    }));
  }

  private reportConflicts(conflicts: readonly HealthCheckConflict[]): void {
    const now = new Set(conflicts.map((c) => `${c.port}/${c.refused}`));
    for (const c of conflicts) {
      if (this.conflicts.has(`${c.port}/${c.refused}`)) continue;
      const err = new HealthCheckListenerError(`service ${c.refused}: health check node port ${c.port} is already service ${c.kept}'s; not served for ${c.refused}`);
      this.opts.logger.error({ err, code: err.code, service: c.refused, port: c.port }, 'health check node port not served');
    }
    this.conflicts = now;
  }

  private async apply(checks: ReadonlyMap<number, ServiceHealthCheck>, addresses: readonly string[]): Promise<void> {
    if (this.closed) return;
    const wanted = [...new Set(addresses)].sort();
    const addressesChanged = wanted.join(',') !== this.addresses.join(',');
    this.addresses = wanted;
    for (const port of [...this.ports.keys()]) {
      const check = checks.get(port);
      // A port that changed hands is reopened, so no probe sees one service's answer under another's name.
      if (check === undefined || addressesChanged || !sameService(check, this.ports.get(port)!.check)) await this.closePort(port);
    }
    for (const [port, check] of checks) {
      let entry = this.ports.get(port);
      if (entry === undefined) {
        entry = { check, listeners: new Map(), failed: new Map() };
        this.ports.set(port, entry);
      }
      entry.check = check; // the handler reads the entry: counts change without reopening
      for (const host of wanted) if (!entry.listeners.has(host)) await this.open(port, host, entry);
      if (wanted.length === 0) this.fail(port, '', entry, 'no node address inside nodePortAddresses to listen on');
      else entry.failed.delete('');
    }
  }

  private async open(port: number, host: string, entry: PortEntry): Promise<void> {
    const listen = this.opts.listen ?? listenHttp;
    try {
      entry.listeners.set(host, await listen(host, port, (req, res) => this.answer(entry, req, res)));
      if (entry.failed.delete(host)) this.opts.logger.info({ service: serviceName(entry.check), port, address: host }, 'health check node port listening again');
    } catch (err) {
      this.fail(port, host, entry, err instanceof Error ? err.message : String(err));
    }
  }

  private fail(port: number, host: string, entry: PortEntry, reason: string): void {
    const first = !entry.failed.has(host);
    entry.failed.set(host, reason);
    if (!first) return; // said once per run of failures; retried at every update
    const where = host === '' ? `port ${port}` : hostPort(host, port);
    const err = new HealthCheckListenerError(`service ${serviceName(entry.check)}: cannot listen on its health check node port ${where}: ${reason}`);
    this.opts.logger.error({ err, code: err.code, service: serviceName(entry.check), port, address: host }, 'health check node port not served');
  }

  private async closePort(port: number): Promise<void> {
    const entry = this.ports.get(port);
    if (entry === undefined) return;
    this.ports.delete(port);
    await Promise.all([...entry.listeners.values()].map((l) => l.close()));
  }

  private answer(entry: PortEntry, _req: IncomingMessage, res: ServerResponse): void {
    // Any path, any method, as kube-proxy's handler: load balancers probe "/" or a path of their own.
    const { namespace, name, localEndpoints } = entry.check;
    const serviceProxyHealthy = this.opts.proxyHealthy();
    const body = JSON.stringify({ service: { namespace, name }, localEndpoints, serviceProxyHealthy });
    res.writeHead(localEndpoints > 0 && serviceProxyHealthy ? 200 : 503, {
      'content-type': 'application/json',
      'x-content-type-options': 'nosniff',
      // Lets a load balancer weigh nodes by how many endpoints each runs.
      'x-load-balancing-endpoint-weight': String(localEndpoints),
    }).end(body);
  }
}

function sameService(a: ServiceHealthCheck, b: ServiceHealthCheck): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}

function serviceName(c: ServiceHealthCheck): string {
  return `${c.namespace}/${c.name}`;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The real listener: an HTTP server on host:port. */
export const listenHttp: Listen = (host, port, handler) =>
  new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections(); // a keep-alive probe must not hold the port open
          }),
      });
    });
  });
