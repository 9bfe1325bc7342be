// The Ingress controller with --source kubernetes: Ingresses, IngressClasses and
// TLS Secrets from their own watches (KubernetesIngressSource) feeding the
// IngressRuntime beside the Services source, and after every sync the served
// Ingresses' status.loadBalancer.ingress written (IngressStatusWriter).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../agent/logger.js';
import { publishAddresses } from '../ingress/ingress-status.js';
import { KubernetesIngressSource } from '../sources/kubernetes-ingress-source.js';
import { IngressStatusWriter } from '../sources/kubernetes-ingress-status.js';
import type { Backoff } from '../sources/kubernetes-source.js';
import type { IngressRuntime } from './ingress-command.js';

export interface IngressKubernetesOptions {
  readonly kubeConfig: KubeConfig;
  /** --publish-status-address ([]: the Node's addresses). */
  readonly publishStatusAddresses: readonly string[];
  /** This node: the reporting instance of the Warning Events on invalid Ingresses. */
  readonly nodeName: string;
  readonly relistBackoff?: Backoff;
  readonly statusRetryMs?: number;
}

export class IngressKubernetes {
  readonly source: KubernetesIngressSource;
  readonly status: IngressStatusWriter;

  constructor(private readonly runtime: IngressRuntime, options: IngressKubernetesOptions, private readonly logger: Logger) {
    this.source = new KubernetesIngressSource({
      kubeConfig: options.kubeConfig, logger, nodeName: options.nodeName,
      ...(options.relistBackoff === undefined ? {} : { relistBackoff: options.relistBackoff }),
      onIngressObjects: () => this.status.request(),
    });
    this.status = new IngressStatusWriter({
      kubeConfig: options.kubeConfig, logger, objects: () => this.source.ingressObjects(),
      ...(options.statusRetryMs === undefined ? {} : { retryMs: options.statusRetryMs }),
    });
    runtime.expectIngressSource((outcome) => {
      const addresses = publishAddresses(options.publishStatusAddresses, runtime.node);
      if (addresses.length === 0) logger.warn({}, 'no address to publish in Ingress statuses yet (no --publish-status-address, and the Node has none)');
      this.status.publish(outcome.served, addresses);
    });
  }

  /** Starts the watches; does not wait for the first list (an API server without the ingress kinds must not hold up the agent). */
  start(): void {
    this.source.start((events) => this.runtime.handleIngressKinds(events)).catch((err: unknown) => this.logger.warn({ err }, 'the ingress source stopped before its first list'));
  }

  async stop(): Promise<void> {
    await this.source.stop();
    await this.status.stop();
  }
}
