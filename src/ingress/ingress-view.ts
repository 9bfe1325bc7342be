// Everything the controller reads, fed by source batches: the shared
// ObjectStore (Services, EndpointSlices) and the IngressStore. Pure: the route
// table comes out of it, nothing is written.
import type { IngressBackend } from '../model/ingress-types.js';
import type { SourceEvent } from '../sources/source.js';
import { ObjectStore } from '../state/object-store.js';
import { IngressStore, type ClassSelection } from './ingress-store.js';
import { buildRouteTable, type RouteTable } from './route-table.js';
import type { ServiceLookup } from './upstreams.js';

export interface ViewOptions extends ClassSelection {
  readonly defaultBackend?: { readonly namespace: string; readonly backend: IngressBackend };
  readonly serviceUpstream: boolean;
  readonly nodeName: string;
  readonly serviceProxyName?: string;
}

export class IngressView {
  readonly objects: ObjectStore;
  readonly ingresses = new IngressStore();

  constructor(private readonly options: ViewOptions) {
    this.objects = new ObjectStore(options.serviceProxyName === undefined ? {} : { serviceProxyName: options.serviceProxyName });
  }

  /** True when the batch changed anything routes depend on (endpoints matter only without cluster-IP upstreams, but are cheap to recompute). */
  apply(events: readonly SourceEvent[]): boolean {
    const keys = this.objects.apply(events);
    const ingressChanged = this.ingresses.apply(events);
    return ingressChanged || keys.services.size > 0 || keys.endpoints.size > 0;
  }

  get synced(): boolean {
    return this.objects.hasSynced;
  }

  /** `namespace/name` of the Ingresses served, but for `excluded`. */
  servedKeys(excluded: ReadonlySet<string>): Set<string> {
    return new Set(this.ingresses.served(this.options).map((i) => `${i.namespace}/${i.name}`).filter((k) => !excluded.has(k)));
  }

  /** `excluded`: Ingresses (`namespace/name`) left out after nginx refused a config they produced. */
  routeTable(excluded: ReadonlySet<string> = new Set()): RouteTable {
    const lookup: ServiceLookup = {
      service: (key) => this.objects.getService(key),
      slices: (key) => this.objects.slicesForService(key),
    };
    const served = this.ingresses.served(this.options).filter((i) => !excluded.has(`${i.namespace}/${i.name}`));
    return buildRouteTable(served, lookup, {
      ...(this.options.defaultBackend === undefined ? {} : { defaultBackend: this.options.defaultBackend }),
      serviceUpstream: this.options.serviceUpstream,
      nodeName: this.options.nodeName,
      secret: (key) => this.ingresses.secret(key),
    });
  }
}
