// One API collection listed and watched, as both Kubernetes sources (Services and
// their kin, the Ingress kinds) need it: lists in pages of 500 (an expired
// continue token restarts the list), a watch resumed after disconnects, a
// failed list or watch restarted after a doubling delay, a 410 Gone relisted
// (the owner diffs the relist). It tracks what status() reports: listed,
// connected, since when it is down and why. What the objects mean is the
// owner's: it gets every complete list, upsert and delete.
import { ListWatch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { SvcplaneError } from '../util/errors.js';
import { listAllPages, ObservedWatch } from './kubernetes-client.js';

/** The pino subset the Kubernetes sources use. */
export interface KubernetesSourceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000 };

export class KubernetesSourceError extends SvcplaneError {
  override readonly code = 'SVCPLANE_KUBERNETES_SOURCE';
}

export const SILENT_LOGGER: KubernetesSourceLogger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined };

/** The message with its cause (undici says "fetch failed", the cause says ECONNREFUSED). */
export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error && !err.message.includes(err.cause.message) ? `${err.message}: ${err.cause.message}` : err.message;
}

export interface ResourceWatchOptions {
  readonly kubeConfig: KubeConfig;
  /** For logs and status: 'services', 'tls secrets', 'node NAME'. */
  readonly label: string;
  /** The collection, e.g. /api/v1/services. */
  readonly path: string;
  readonly fieldSelector?: string;
  readonly backoff: Backoff;
  readonly logger: KubernetesSourceLogger;
}

/** What the owner does with what arrives; called only while the watch runs. */
export interface ResourceHandlers {
  /** A complete list; `relist` after the first (a 410, a restart). `listed` is already true. */
  list(items: readonly unknown[], relist: boolean): void;
  upsert(object: unknown): void;
  remove(object: unknown): void;
}

export class ResourceWatch {
  private readonly informer: ListWatch<KubernetesObject>;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  listed = false;
  connected = false;
  /** When the last disconnect began (undefined while connected). */
  disconnectedSince: Date | undefined = new Date();
  lastError: string | undefined;
  /** Failed attempts since the last established watch (the backoff's exponent). */
  failures = 0;

  constructor(private readonly options: ResourceWatchOptions, handlers: ResourceHandlers) {
    const { kubeConfig, label, path, fieldSelector, logger } = options;
    const watch = new ObservedWatch(kubeConfig, {
      active: () => !this.stopped,
      established: () => this.onConnected(),
      ended: (err) => this.onDisconnected(err),
    });
    const query: Record<string, string> = fieldSelector === undefined ? {} : { fieldSelector };
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = await listAllPages(kubeConfig, path, query, {
        onRestart: (pages) => logger.info({ resource: label, pagesDiscarded: pages }, 'list continue token expired; listing again from the first page'),
      });
      // ListWatch goes on to watch after a list even if it was stopped meanwhile: fail instead.
      if (this.stopped) throw new KubernetesSourceError('kubernetes source stopped');
      const relist = this.listed;
      this.listed = true;
      handlers.list(result.items, relist);
      return result;
    };
    // ListWatch rather than makeInformer: makeInformer takes no field selector and builds its own Watch.
    this.informer = new ListWatch<KubernetesObject>(path, watch, list, false, undefined, fieldSelector);
    this.informer.on('add', (obj) => {
      if (!this.stopped) handlers.upsert(obj);
    });
    this.informer.on('update', (obj) => {
      if (!this.stopped) handlers.upsert(obj);
    });
    this.informer.on('delete', (obj) => {
      if (!this.stopped) handlers.remove(obj);
    });
    this.informer.on('error', (err) => this.onError(err));
    this.informer.on('connect', () => logger.debug({ resource: label }, this.listed ? 'watch (re)connecting' : 'listing'));
  }

  get label(): string {
    return this.options.label;
  }

  start(): void {
    this.restartTimer = undefined;
    if (this.stopped) return;
    // ListWatch reports its failures through 'error' (handled below); start() itself settles after the first step.
    this.informer.start().catch((err: unknown) => this.onError(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.informer.stop();
  }

  /** What is wrong, for status(); undefined while the watch is established. */
  problem(): string | undefined {
    if (this.connected) return undefined;
    const since = this.disconnectedSince === undefined ? '' : ` since ${this.disconnectedSince.toISOString()}`;
    const why = this.lastError === undefined ? '' : ` (${this.lastError})`;
    return this.listed ? `${this.label} watch disconnected${since}${why}` : `${this.label} not listed yet${since}${why}`;
  }

  private onConnected(): void {
    if (!this.connected && this.failures > 0) {
      this.options.logger.info({ resource: this.label, downSince: this.disconnectedSince?.toISOString() }, 'watch re-established');
    }
    this.connected = true;
    this.disconnectedSince = undefined;
    this.lastError = undefined;
    this.failures = 0;
  }

  private onDisconnected(err: unknown): void {
    if (this.connected) this.disconnectedSince = new Date();
    this.connected = false;
    if (err !== undefined && err !== null) this.lastError = errorMessage(err);
  }

  /** ListWatch stops on a failed list or watch: restart it after a growing delay. */
  private onError(err: unknown): void {
    if (this.stopped || this.restartTimer !== undefined) return;
    this.onDisconnected(err);
    this.disconnectedSince ??= new Date();
    const { initialMs, maxMs } = this.options.backoff;
    const delay = Math.min(initialMs * 2 ** this.failures, maxMs);
    this.failures++;
    this.options.logger.warn({ resource: this.label, err: errorMessage(err), retryInMs: delay, attempt: this.failures }, 'Kubernetes API request failed; retrying');
    this.restartTimer = setTimeout(() => this.start(), delay);
  }
}
