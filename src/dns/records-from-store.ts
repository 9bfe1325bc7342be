// The one place cluster DNS reads the agent's state: a Service and its EndpointSlices from the
// ObjectStore, reduced to what names are made of. Headless and ExternalName services are not in
// the DesiredState, so the store (not the desired state) is the input; when the per-service-port
// policy step lands, only this file changes.
import { objectKey } from '../model/types.js';
import type { ObjectStore, ServiceKeySet } from '../state/object-store.js';

export interface DnsPort {
  readonly name: string;
  /** Lower-case, as SRV names carry it: tcp, udp, sctp. */
  readonly protocol: string;
  readonly port: number;
}

export interface DnsEndpoint {
  /** Canonical IP. */
  readonly address: string;
  readonly hostname: string | undefined;
  /** The ports of the endpoint's slice (headless SRV records use these, not the service's). */
  readonly ports: readonly DnsPort[];
}

export interface DnsServiceView {
  readonly namespace: string;
  readonly name: string;
  readonly kind: 'cluster-ip' | 'headless' | 'external-name';
  readonly clusterIPs: readonly string[];
  readonly externalName: string | undefined;
  readonly ports: readonly DnsPort[];
  /** Endpoints that DNS publishes: ready ones, or all with publishNotReadyAddresses. */
  readonly endpoints: readonly DnsEndpoint[];
}

/** The services whose records a store batch may have changed. */
export function changedServices(keys: ServiceKeySet): Set<string> {
  return new Set([...keys.services, ...keys.endpoints]);
}

/** Every service key the store holds (the initial build). */
export function allServices(store: ObjectStore): Iterable<string> {
  return store.serviceKeys();
}

/** What DNS needs of one service, or undefined when the store does not hold it. */
export function dnsServiceView(store: ObjectStore, key: string): DnsServiceView | undefined {
  const svc = store.getService(key);
  if (!svc) return undefined;
  const kind = svc.type === 'ExternalName' ? 'external-name' : svc.headless || svc.clusterIPs.length === 0 ? 'headless' : 'cluster-ip';
  const endpoints: DnsEndpoint[] = [];
  if (kind !== 'external-name') {
    for (const slice of store.slicesForService(objectKey(svc.namespace, svc.name))) {
      if (slice.addressType === 'FQDN') continue;
      const ports = slice.ports.filter((p) => p.port > 0).map((p) => ({ name: p.name, protocol: p.protocol.toLowerCase(), port: p.port }));
      for (const ep of slice.endpoints) {
        // Terminating endpoints carry ready=false, so this also leaves them out.
        if (!ep.ready && !svc.publishNotReadyAddresses) continue;
        for (const address of ep.addresses) endpoints.push({ address, hostname: ep.hostname, ports });
      }
    }
  }
  return {
    namespace: svc.namespace,
    name: svc.name,
    kind,
    clusterIPs: svc.clusterIPs,
    externalName: svc.externalName,
    ports: svc.ports.map((p) => ({ name: p.name, protocol: p.protocol.toLowerCase(), port: p.port })),
    endpoints,
  };
}
