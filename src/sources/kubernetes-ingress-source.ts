// The Ingress controller's kinds from the Kubernetes API: networking.k8s.io/v1
// Ingresses and IngressClasses, and v1 Secrets of type kubernetes.io/tls (a
// field selector, so other Secrets never reach the node). Listed in pages of
// 500 and watched as KubernetesSource does for Services: one first batch once
// all three are listed (ending in 'synced'), then small batches of changes;
// failures retry with backoff, a 410 relists and the relist is diffed (one
// ResourceWatch per collection, shared with KubernetesSource).
import type { KubeConfig } from '@kubernetes/client-node';
import { SECRET_TYPE_TLS } from '../model/secret-validate.js';
import { errorsByObject, InvalidObjectEvents, regardingOf } from './kubernetes-events.js';
import { KubernetesIngressState, type IngressApiObject, type IngressResourceKind, type IngressStateChange } from './kubernetes-ingress-state.js';
import { DEFAULT_BACKOFF, KubernetesSourceError, ResourceWatch, SILENT_LOGGER, type Backoff, type KubernetesSourceLogger } from './kubernetes-resource-watch.js';
import type { Source, SourceEvent, SourceSink } from './source.js';

export interface KubernetesIngressSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger?: KubernetesSourceLogger;
  readonly relistBackoff?: Backoff;
  /** This node: the reporting instance of the Warning Events. */
  readonly nodeName: string;
  /** Post a Warning Event on each invalid Ingress, one per object and reason (default true). */
  readonly recordEvents?: boolean;
  /** Called after every batch the source delivered (the status writer re-reads ingressObjects()). */
  readonly onIngressObjects?: () => void;
}

interface Resource {
  readonly kind: IngressResourceKind;
  readonly watch: ResourceWatch;
}

export class KubernetesIngressSource implements Source {
  private readonly logger: KubernetesSourceLogger;
  private readonly backoff: Backoff;
  private readonly state = new KubernetesIngressState();
  private readonly resources: Resource[];
  private readonly events: InvalidObjectEvents | undefined;
  private sink: SourceSink | undefined;
  private synced = false;
  private stopped = false;
  private pending: SourceEvent[] = [];
  private flushScheduled = false;
  private settleStart: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly options: KubernetesIngressSourceOptions) {
    this.logger = options.logger ?? SILENT_LOGGER;
    this.backoff = options.relistBackoff ?? DEFAULT_BACKOFF;
    this.events = options.recordEvents === false ? undefined : new InvalidObjectEvents(options.kubeConfig, options.nodeName, this.logger);
    this.resources = [
      this.makeResource('IngressClass', 'ingressclasses', '/apis/networking.k8s.io/v1/ingressclasses'),
      this.makeResource('Secret', 'tls secrets', '/api/v1/secrets', `type=${SECRET_TYPE_TLS}`),
      this.makeResource('Ingress', 'ingresses', '/apis/networking.k8s.io/v1/ingresses'),
    ];
  }

  /** Every Ingress as the API holds it (whichever class), for the status writer. */
  ingressObjects(): IngressApiObject[] {
    return [...this.state.ingressObjects()];
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.sink !== undefined) throw new KubernetesSourceError('kubernetes ingress source already started');
    if (this.stopped) throw new KubernetesSourceError('kubernetes ingress source was stopped');
    this.sink = sink;
    const first = new Promise<void>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    for (const resource of this.resources) resource.watch.start();
    await first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.resources.map((r) => r.watch.stop()));
    await this.events?.settled();
    this.settleStart?.reject(new KubernetesSourceError('kubernetes ingress source stopped before the initial sync'));
    this.settleStart = undefined;
  }

  /** Resolves once every Warning Event being posted got its answer (tests). */
  async settledEvents(): Promise<void> {
    await this.events?.settled();
  }

  status(): { readonly healthy: boolean; readonly detail: string } {
    const problems = this.resources.flatMap((r) => r.watch.problem() ?? []);
    if (problems.length > 0) return { healthy: false, detail: problems.join('; ') };
    return { healthy: true, detail: `watching ${this.state.count('Ingress')} ingresses, ${this.state.count('IngressClass')} ingress classes, ${this.state.count('Secret')} TLS secrets` };
  }

  private makeResource(kind: IngressResourceKind, label: string, path: string, fieldSelector?: string): Resource {
    const watch = new ResourceWatch(
      { kubeConfig: this.options.kubeConfig, label, path, backoff: this.backoff, logger: this.logger, ...(fieldSelector === undefined ? {} : { fieldSelector }) },
      {
        list: (items, relist) => this.onList(resource, items, relist),
        upsert: (obj) => this.apply(kind, this.state.upsert(kind, obj), [obj]),
        remove: (obj) => {
          const gone = regardingOf(kind, obj);
          this.events?.forget(kind, gone.namespace, gone.name);
          this.apply(kind, this.state.remove(kind, obj), []);
        },
      },
    );
    const resource: Resource = { kind, watch };
    return resource;
  }

  private onList(resource: Resource, items: readonly unknown[], relist: boolean): void {
    if (this.stopped) return;
    const change = this.state.replace(resource.kind, items);
    if (relist) this.logger.info({ resource: resource.watch.label, objects: items.length, changes: change.events.length }, 'relisted after the watch expired');
    this.events?.retain(resource.kind, new Set(items.map((raw) => regardingOf(resource.kind, raw)).map((r) => `${r.namespace}/${r.name}`)));
    this.apply(resource.kind, change, items);
    if (!this.synced && this.resources.every((r) => r.watch.listed)) this.deliverFirstBatch();
  }

  /** `raws`: the API objects the change came from, for the Events' object references. */
  private apply(kind: IngressResourceKind, change: IngressStateChange, raws: readonly unknown[]): void {
    if (this.stopped) return;
    this.recordEvents(kind, change, raws);
    for (const error of change.errors) this.logger.warn({ problem: error.message }, 'invalid object skipped');
    if (!this.synced) return;
    this.pending.push(...change.events);
    if (change.errors.length > 0) this.pending.push({ type: 'invalid', errors: change.errors });
    // Status-only changes deliver no event but still tell the status writer.
    this.scheduleFlush();
  }

  /** A Warning Event on each Ingress `change` rejects; one found valid may get a new one when it breaks again. */
  private recordEvents(kind: IngressResourceKind, change: IngressStateChange, raws: readonly unknown[]): void {
    const events = this.events;
    if (events === undefined || kind !== 'Ingress') return;
    for (const key of change.cleared) {
      const slash = key.indexOf('/');
      events.forget(kind, key.slice(0, slash), key.slice(slash + 1));
    }
    if (change.errors.length === 0) return;
    const invalid = errorsByObject(change.errors);
    for (const raw of raws) {
      const regarding = regardingOf(kind, raw);
      const errors = invalid.get(`${regarding.namespace}/${regarding.name}`);
      if (errors !== undefined) events.warnInvalid(regarding, errors);
    }
  }

  private deliverFirstBatch(): void {
    this.synced = true;
    this.logger.info({ ingresses: this.state.count('Ingress'), ingressClasses: this.state.count('IngressClass'), tlsSecrets: this.state.count('Secret') }, 'initial list of the ingress kinds complete');
    this.deliver([...this.state.snapshot(), { type: 'synced' }]);
    this.settleStart?.resolve();
    this.settleStart = undefined;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.stopped) return;
      const batch = this.pending;
      this.pending = [];
      if (batch.length > 0) this.deliver(batch);
      else this.options.onIngressObjects?.();
    });
  }

  private deliver(batch: readonly SourceEvent[]): void {
    try {
      this.sink?.(batch);
    } catch (err) {
      this.logger.error({ err }, 'kubernetes ingress source sink failed');
    }
    this.options.onIngressObjects?.();
  }
}
