// The Ingress controller's kinds from the Kubernetes API: networking.k8s.io/v1
// Ingresses and IngressClasses, and v1 Secrets of type kubernetes.io/tls (a
// field selector, so other Secrets never reach the node). Listed in pages of
// 500 and watched as KubernetesSource does for Services: one first batch once
// all three are listed (ending in 'synced'), then small batches of changes;
// failures retry with backoff, a 410 relists and the relist is diffed (one
// ResourceWatch per collection, shared with KubernetesSource).
import type { KubeConfig } from '@kubernetes/client-node';
import { SECRET_TYPE_TLS } from '../model/secret-validate.js';
import { KubernetesIngressState, type IngressApiObject, type IngressResourceKind, type IngressStateChange } from './kubernetes-ingress-state.js';
import { DEFAULT_BACKOFF, KubernetesSourceError, ResourceWatch, SILENT_LOGGER, type Backoff, type KubernetesSourceLogger } from './kubernetes-resource-watch.js';
import type { Source, SourceEvent, SourceSink } from './source.js';

export interface KubernetesIngressSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger?: KubernetesSourceLogger;
  readonly relistBackoff?: Backoff;
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
  private sink: SourceSink | undefined;
  private synced = false;
  private stopped = false;
  private pending: SourceEvent[] = [];
  private flushScheduled = false;
  private settleStart: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly options: KubernetesIngressSourceOptions) {
    this.logger = options.logger ?? SILENT_LOGGER;
    this.backoff = options.relistBackoff ?? DEFAULT_BACKOFF;
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
    this.settleStart?.reject(new KubernetesSourceError('kubernetes ingress source stopped before the initial sync'));
    this.settleStart = undefined;
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
        upsert: (obj) => this.apply(this.state.upsert(kind, obj)),
        remove: (obj) => this.apply(this.state.remove(kind, obj)),
      },
    );
    const resource: Resource = { kind, watch };
    return resource;
  }

  private onList(resource: Resource, items: readonly unknown[], relist: boolean): void {
    if (this.stopped) return;
    const change = this.state.replace(resource.kind, items);
    if (relist) this.logger.info({ resource: resource.watch.label, objects: items.length, changes: change.events.length }, 'relisted after the watch expired');
    this.apply(change);
    if (!this.synced && this.resources.every((r) => r.watch.listed)) this.deliverFirstBatch();
  }

  private apply(change: IngressStateChange): void {
    if (this.stopped) return;
    for (const error of change.errors) this.logger.warn({ problem: error.message }, 'invalid object skipped');
    if (!this.synced) return;
    this.pending.push(...change.events);
    if (change.errors.length > 0) this.pending.push({ type: 'invalid', errors: change.errors });
    // Status-only changes deliver no event but still tell the status writer.
    this.scheduleFlush();
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
