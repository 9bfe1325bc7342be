// Writes status.loadBalancer.ingress of the Ingresses the controller serves
// (PUT .../ingresses/NAME/status, the verb ingress-nginx's status sync uses),
// and takes this node's addresses off the ones it stopped serving. Writes are
// coalesced: each round reads the API's current objects (from the ingress
// source's watch), so a conflict (409) or failure is retried in a later round.
import type { KubeConfig } from '@kubernetes/client-node';
import { desiredLoadBalancer } from '../ingress/ingress-status.js';
import { replaceObject } from './kubernetes-client.js';
import type { IngressApiObject } from './kubernetes-ingress-state.js';
import type { KubernetesSourceLogger } from './kubernetes-source.js';

export interface IngressStatusWriterOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: KubernetesSourceLogger;
  /** The Ingresses as the API holds them now. */
  readonly objects: () => readonly IngressApiObject[];
  /** Delay before a round after failed writes. */
  readonly retryMs?: number;
  readonly concurrency?: number;
}

export class IngressStatusWriter {
  private served: ReadonlySet<string> | undefined;
  private addresses: readonly string[] = [];
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Ingresses whose write failed last round (logged once per failure run). */
  private failing = new Set<string>();
  /** resourceVersion each Ingress had when its status was written: the watch has not brought the result yet. */
  private readonly written = new Map<string, string>();

  constructor(private readonly options: IngressStatusWriterOptions) {}

  /** The controller's latest outcome: `served` are `namespace/name` keys; `addresses` this node's. */
  publish(served: ReadonlySet<string>, addresses: readonly string[]): void {
    this.served = served;
    this.addresses = addresses;
    this.request();
  }

  /** Something changed in the API's Ingresses (a watch event): check again. */
  request(): void {
    if (this.stopped || this.served === undefined) return;
    this.dirty = true;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.running;
  }

  /** Resolves once nothing is being written. */
  async settled(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      const served = this.served ?? new Set<string>();
      const ours = this.addresses;
      const writes = this.options.objects().flatMap((o) => {
        const key = `${o.namespace}/${o.name}`;
        if (this.written.get(key) === o.resourceVersion) return [];
        this.written.delete(key);
        const want = desiredLoadBalancer(o.loadBalancer, ours, served.has(key));
        return want === undefined ? [] : [{ object: o, want }];
      });
      const failed = new Set<string>();
      const queue = [...writes];
      const worker = async (): Promise<void> => {
        for (let next = queue.shift(); next !== undefined && !this.stopped; next = queue.shift()) {
          const key = `${next.object.namespace}/${next.object.name}`;
          try {
            await this.write(next.object, next.want);
            this.written.set(key, next.object.resourceVersion);
          } catch (err) {
            failed.add(key);
            if (!this.failing.has(key)) this.options.logger.warn({ ingress: key, err: err instanceof Error ? err.message : String(err) }, 'could not write the Ingress status; retrying');
          }
        }
      };
      await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker));
      this.failing = failed;
      if (writes.length > 0) this.options.logger.debug({ written: writes.length - failed.size, failed: failed.size, addresses: ours }, 'ingress status written');
      if (failed.size > 0 && !this.stopped) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.request(), this.options.retryMs ?? 5000);
      }
    }
  }

  private async write(object: IngressApiObject, loadBalancer: readonly Readonly<Record<string, unknown>>[]): Promise<void> {
    const path = `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(object.namespace)}/ingresses/${encodeURIComponent(object.name)}/status`;
    const body = { ...object.raw, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', status: { loadBalancer: { ingress: loadBalancer } } };
    await replaceObject(this.options.kubeConfig, path, body, 10_000);
  }
}
