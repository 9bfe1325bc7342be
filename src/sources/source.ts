// The one interface every source of services and endpoints implements
// (manifest files now, the Kubernetes API later): batches of change events.
import type { ValidationError } from '../model/errors.js';
import type { Ingress, IngressClass, TLSSecret } from '../model/ingress-types.js';
import type { EndpointSlice, Namespace, Node, Service } from '../model/types.js';

export type SourceEvent =
  | { readonly type: 'service-upsert'; readonly service: Service }
  | { readonly type: 'service-delete'; readonly namespace: string; readonly name: string }
  | { readonly type: 'slice-upsert'; readonly slice: EndpointSlice }
  | { readonly type: 'slice-delete'; readonly namespace: string; readonly name: string }
  | { readonly type: 'node-upsert'; readonly node: Node }
  | { readonly type: 'node-delete'; readonly name: string }
  /** Namespace objects (cluster DNS only; the Kubernetes source watches them when asked). */
  | { readonly type: 'namespace-upsert'; readonly namespace: Namespace }
  | { readonly type: 'namespace-delete'; readonly name: string }
  /** For the Ingress controller (the L4 modes ignore these). */
  | { readonly type: 'ingress-upsert'; readonly ingress: Ingress }
  | { readonly type: 'ingress-delete'; readonly namespace: string; readonly name: string }
  | { readonly type: 'ingress-class-upsert'; readonly ingressClass: IngressClass }
  | { readonly type: 'ingress-class-delete'; readonly name: string }
  | { readonly type: 'secret-upsert'; readonly secret: TLSSecret }
  | { readonly type: 'secret-delete'; readonly namespace: string; readonly name: string }
  /** Objects skipped as invalid in this batch (reported once per change). */
  | { readonly type: 'invalid'; readonly errors: readonly ValidationError[] }
  /** The source has delivered its first complete view; programming may start. */
  | { readonly type: 'synced' };

/** Receives one batch; a batch is applied as a whole (never half a file, never half a relist). */
export type SourceSink = (events: readonly SourceEvent[]) => void;

export interface Source {
  /** Starts reading and watching; resolves once the first batch (ending in 'synced') was delivered. */
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
  /** A short human description of the source's health, for /healthz. */
  status(): { readonly healthy: boolean; readonly detail: string };
}
