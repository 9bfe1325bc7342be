// A Source reading Services, EndpointSlices and this node's Node (and Namespaces, for cluster
// DNS, when asked) from the Kubernetes API, each collection through a ResourceWatch
// (kubernetes-resource-watch.ts, shared with the Ingress kinds' source). It delivers what the
// manifest source does: one first batch with the complete view ending in
// 'synced' (only once all three resources were listed), then small batches of
// changes. Lists come in pages of 500 (a continue token that expires restarts
// the list). Disconnects reconnect with backoff and resume the watch; a 410 Gone
// relists and the relist is diffed. Nothing is deleted because the API server
// is unreachable: the dataplane keeps its last state.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ValidationError } from '../model/errors.js';
import { errorsByObject, InvalidObjectEvents, regardingOf } from './kubernetes-events.js';
import { DEFAULT_BACKOFF, KubernetesSourceError, ResourceWatch, SILENT_LOGGER, type Backoff, type KubernetesSourceLogger } from './kubernetes-resource-watch.js';
import { KubernetesState, type ResourceKind, type StateChange } from './kubernetes-state.js';
import type { Source, SourceEvent, SourceSink } from './source.js';

export { DEFAULT_BACKOFF, KubernetesSourceError, type Backoff, type KubernetesSourceLogger } from './kubernetes-resource-watch.js';

export interface KubernetesSourceOptions {
  /** Built by the caller (see buildKubeConfig in kubernetes-config.ts). */
  readonly kubeConfig: KubeConfig;
  /** This node: its Node object is watched (by name) for addresses and zone. */
  readonly nodeName: string;
  /** Services labelled service.kubernetes.io/service-proxy-name=<this> are ours too. */
  readonly serviceProxyName?: string;
  readonly logger?: KubernetesSourceLogger;
  /** Delay before restarting a failed list or watch, doubling up to maxMs. */
  readonly relistBackoff?: Backoff;
  /** Post a Warning Event on each invalid Service and EndpointSlice (default true). */
  readonly recordEvents?: boolean;
  /**
   * Also list and watch Namespaces (cluster DNS: an empty namespace exists). Off for the proxy
   * alone, which then needs no permission on namespaces.
   */
  readonly watchNamespaces?: boolean;
}

interface Resource {
  readonly kind: ResourceKind;
  readonly watch: ResourceWatch;
}

export class KubernetesSource implements Source {
  private readonly logger: KubernetesSourceLogger;
  private readonly backoff: Backoff;
  private readonly state: KubernetesState;
  private readonly resources: Resource[];
  private readonly events: InvalidObjectEvents | undefined;
  private sink: SourceSink | undefined;
  private synced = false;
  private stopped = false;
  /** Changes waiting for the next flush (one batch per tick). */
  private pending: SourceEvent[] = [];
  /** Invalid objects seen before the first batch, reported in it. */
  private pendingErrors: ValidationError[] = [];
  private flushScheduled = false;
  private settleStart: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly options: KubernetesSourceOptions) {
    if (options.nodeName === '') throw new KubernetesSourceError('node name is required');
    this.logger = options.logger ?? SILENT_LOGGER;
    this.backoff = options.relistBackoff ?? DEFAULT_BACKOFF;
    this.events = options.recordEvents === false ? undefined : new InvalidObjectEvents(options.kubeConfig, options.nodeName, this.logger);
    this.state = new KubernetesState({ nodeName: options.nodeName, ...(options.serviceProxyName === undefined ? {} : { serviceProxyName: options.serviceProxyName }) });
    this.resources = [
      this.makeResource('Service', 'services', '/api/v1/services'),
      this.makeResource('EndpointSlice', 'endpointslices', '/apis/discovery.k8s.io/v1/endpointslices'),
      this.makeResource('Node', `node ${options.nodeName}`, '/api/v1/nodes', `metadata.name=${options.nodeName}`),
      ...(options.watchNamespaces === true ? [this.makeResource('Namespace', 'namespaces', '/api/v1/namespaces')] : []),
    ];
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.sink !== undefined) throw new KubernetesSourceError('kubernetes source already started');
    if (this.stopped) throw new KubernetesSourceError('kubernetes source was stopped');
    this.sink = sink;
    const first = new Promise<void>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    this.logger.info({ server: this.options.kubeConfig.getCurrentCluster()?.server, node: this.options.nodeName }, 'listing and watching the Kubernetes API');
    for (const resource of this.resources) resource.watch.start();
    await first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.resources.map((r) => r.watch.stop()));
    await this.events?.settled();
    this.settleStart?.reject(new KubernetesSourceError('kubernetes source stopped before the initial sync'));
    this.settleStart = undefined;
  }

  status(): { readonly healthy: boolean; readonly detail: string } {
    const problems = this.resources.flatMap((r) => r.watch.problem() ?? []);
    if (problems.length > 0) return { healthy: false, detail: problems.join('; ') };
    const counts = `${this.state.count('Service')} services, ${this.state.count('EndpointSlice')} endpoint slices, node ${this.state.count('Node') > 0 ? 'known' : 'not found'}`;
    return { healthy: true, detail: `watching the Kubernetes API: ${counts}` };
  }

  private makeResource(kind: ResourceKind, label: string, path: string, fieldSelector?: string): Resource {
    const watch = new ResourceWatch(
      { kubeConfig: this.options.kubeConfig, label, path, backoff: this.backoff, logger: this.logger, ...(fieldSelector === undefined ? {} : { fieldSelector }) },
      {
        list: (items, relist) => this.onList(resource, items, relist),
        upsert: (obj) => this.apply(resource, this.state.upsert(kind, obj), [obj]),
        remove: (obj) => {
          const gone = regardingOf(kind, obj);
          this.events?.forget(kind, gone.namespace, gone.name);
          this.apply(resource, this.state.remove(kind, obj), []);
        },
      },
    );
    const resource: Resource = { kind, watch };
    return resource;
  }

  /** A complete list arrived (first list, or a relist after 410): applied as one diffed batch. */
  private onList(resource: Resource, items: readonly unknown[], relist: boolean): void {
    if (this.stopped) return;
    const change = this.state.replace(resource.kind, items);
    if (relist) {
      const changes = change.events.length;
      this.logger.info({ resource: resource.watch.label, objects: items.length, changes }, 'relisted after the watch expired');
    }
    if (this.events !== undefined) {
      const present = items.map((raw) => regardingOf(resource.kind, raw));
      this.events.retain(resource.kind, new Set(present.map((r) => `${r.namespace}/${r.name}`)));
    }
    this.apply(resource, change, items);
    if (!this.synced && this.resources.every((r) => r.watch.listed)) this.deliverFirstBatch();
  }

  /** `raws`: the API objects the change came from, for the Events' object references. */
  private apply(resource: Resource, change: StateChange, raws: readonly unknown[]): void {
    if (this.stopped) return;
    this.recordEvents(resource.kind, change, raws);
    for (const key of change.kept) this.logger.warn({ object: key }, 'object became invalid; keeping its last good version');
    for (const e of change.skipped) {
      this.logger.warn({ object: `${e.ref.kind}/${e.ref.namespace}/${e.ref.name}`, field: e.field, reason: e.reason, code: e.code }, 'programming an object without an invalid part');
    }
    if (change.errors.length > 0) this.logger.debug({ resource: resource.watch.label, errors: change.errors.map((e) => e.message) }, 'invalid objects');
    if (!this.synced) {
      // Before the first batch only the state moves; the batch is built from it.
      this.pendingErrors.push(...change.errors);
      return;
    }
    this.pending.push(...change.events);
    if (change.errors.length > 0) this.pending.push({ type: 'invalid', errors: change.errors });
    this.scheduleFlush();
  }

  /** Warning Events for the objects `change` rejects; the ones it found valid may get a new one when they break again. */
  private recordEvents(kind: ResourceKind, change: StateChange, raws: readonly unknown[]): void {
    const events = this.events;
    if (events === undefined || kind === 'Node' || kind === 'Namespace') return;
    const invalid = errorsByObject(change.errors);
    const skipped = errorsByObject(change.skipped);
    for (const key of change.cleared) {
      const slash = key.indexOf('/');
      // Still programmed without some part: that part's Warning stands (one per object while it lasts).
      events.forget(kind, key.slice(0, slash), key.slice(slash + 1), skipped.has(key) ? 'object' : undefined);
    }
    if (invalid.size === 0 && skipped.size === 0) return;
    for (const raw of raws) {
      const regarding = regardingOf(kind, raw);
      const key = `${regarding.namespace}/${regarding.name}`;
      const errors = invalid.get(key);
      if (errors !== undefined) events.warnInvalid(regarding, errors);
      const parts = skipped.get(key);
      if (parts !== undefined) events.warnInvalid(regarding, parts, 'part');
    }
  }

  private deliverFirstBatch(): void {
    this.synced = true;
    const batch: SourceEvent[] = this.state.snapshot();
    if (this.pendingErrors.length > 0) batch.push({ type: 'invalid', errors: this.pendingErrors });
    this.pendingErrors = [];
    batch.push({ type: 'synced' });
    this.logger.info({ services: this.state.count('Service'), slices: this.state.count('EndpointSlice'), node: this.state.count('Node') > 0 }, 'initial list complete');
    this.deliver(batch);
    this.settleStart?.resolve();
    this.settleStart = undefined;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.stopped || this.pending.length === 0) return;
      const batch = this.pending;
      this.pending = [];
      this.deliver(batch);
    });
  }

  private deliver(batch: readonly SourceEvent[]): void {
    try {
      this.sink?.(batch);
    } catch (err) {
      this.logger.error({ err }, 'kubernetes source sink failed');
    }
  }
}
