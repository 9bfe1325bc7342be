// Builds the node-local desired state incrementally: only services named as changed are
// recomputed, and the per-family maps are persistent (SnapshotMap), so every returned state is
// an immutable snapshot that costs O(changes) to derive, not O(services).
import type { EndpointSlice, IPFamily, Service, ServicePort } from '../model/types.js';
import { SVCPLANE_ANNOTATION_PREFIX } from '../model/annotations.js';
import { deepEqual } from './deep-equal.js';
import { computePortEndpoints } from './endpoints.js';
import type { NodeContext } from './node-context.js';
import { familyOf } from './node-context.js';
import type { ObjectStore, ServiceKeySet } from './object-store.js';
import { changedServiceKeys } from './object-store.js';
import { SnapshotMap } from './snapshot-map.js';
import type { SnapshotMapEditor } from './snapshot-map.js';
import type { ServicePortState, StateChanges } from './types.js';

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** Metrics counts passed through to StateChanges (kube-proxy's service/endpoint change totals). */
export interface ChangeCounts {
  readonly serviceChanges: number;
  readonly endpointChanges: number;
}

/** DesiredState whose family maps are persistent snapshots (never mutated once returned). */
export interface SnapshotState {
  readonly IPv4: SnapshotMap<ServicePortState>;
  readonly IPv6: SnapshotMap<ServicePortState>;
}

export interface StateUpdate {
  readonly state: SnapshotState;
  readonly changes: StateChanges;
}

// Recomputed ports are compared with the kept ones structurally: a JSON fingerprint per port
// (the former way) held ~1.5 KB of text per service port, 15 MB at 10,000 services.
type ServiceEntries = Record<IPFamily, Map<string, ServicePortState>>;

/** The service's own svcplane.io/ annotations (none: no field, so most states stay small). */
function modeAnnotations(service: Service): { modeAnnotations?: Record<string, string> } {
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(service.annotations)) {
    if (k.startsWith(SVCPLANE_ANNOTATION_PREFIX)) (out ??= {})[k] = v;
  }
  return out === undefined ? {} : { modeAnnotations: out };
}

export function servicePortKey(namespace: string, name: string, portName: string): string {
  return `${namespace}/${name}:${portName}`;
}

export class DesiredStateBuilder {
  private ctx: NodeContext;
  private state: SnapshotState = { IPv4: SnapshotMap.empty(), IPv6: SnapshotMap.empty() };
  /** Service key -> its port entries per family, to diff a recomputed service against. */
  private readonly byService = new Map<string, ServiceEntries>();
  private forceAll = false;

  constructor(ctx: NodeContext) {
    this.ctx = ctx;
  }

  /** Replaces the node context (e.g. the node's zone changed); the next update recomputes everything. */
  setContext(ctx: NodeContext): void {
    this.ctx = ctx;
    this.forceAll = true;
  }

  get current(): SnapshotState {
    return this.state;
  }

  /** Convenience for the agent: recompute what one ObjectStore batch touched, with its counts. */
  updateFrom(store: ObjectStore, keys: ServiceKeySet): StateUpdate {
    return this.update(store, changedServiceKeys(keys), {
      serviceChanges: keys.services.size,
      endpointChanges: keys.endpoints.size,
    });
  }

  /**
   * Recomputes the services in `changed` (`ns/name` keys; 'all' for every service) and returns
   * the new snapshot and the service-port keys that were added, removed or modified.
   * `counts` only feeds StateChanges.serviceChanges/endpointChanges (0 when omitted).
   */
  update(store: ObjectStore, changed: ReadonlySet<string> | 'all', counts?: ChangeCounts): StateUpdate {
    let keys: Iterable<string>;
    if (changed === 'all' || this.forceAll) {
      keys = new Set([...this.byService.keys(), ...store.serviceKeys()]);
      this.forceAll = false;
    } else {
      keys = changed;
    }

    const changes: Record<IPFamily, Set<string>> = { IPv4: new Set(), IPv6: new Set() };
    const editors: Record<IPFamily, SnapshotMapEditor<ServicePortState>> = {
      IPv4: this.state.IPv4.edit(),
      IPv6: this.state.IPv6.edit(),
    };

    for (const serviceKey of keys) {
      const prev = this.byService.get(serviceKey);
      const service = store.getService(serviceKey);
      const fresh = service ? this.buildService(service, store) : undefined;
      for (const family of FAMILIES) {
        const before = prev?.[family];
        const after = fresh?.[family];
        if (before) {
          for (const portKey of before.keys()) {
            if (!after?.has(portKey)) {
              editors[family].delete(portKey);
              changes[family].add(portKey);
            }
          }
        }
        if (after) {
          for (const [portKey, entry] of after) {
            const kept = before?.get(portKey);
            if (kept !== undefined && deepEqual(kept, entry)) {
              // Keep the object the snapshot already holds, so unchanged entries keep their identity.
              after.set(portKey, kept);
              continue;
            }
            editors[family].set(portKey, entry);
            changes[family].add(portKey);
          }
        }
      }
      if (fresh && (fresh.IPv4.size > 0 || fresh.IPv6.size > 0)) this.byService.set(serviceKey, fresh);
      else this.byService.delete(serviceKey);
    }

    const sealed = (family: IPFamily): SnapshotMap<ServicePortState> =>
      editors[family].changed ? editors[family].done() : this.state[family];
    this.state = { IPv4: sealed('IPv4'), IPv6: sealed('IPv6') };
    return {
      state: this.state,
      changes: {
        IPv4: changes.IPv4,
        IPv6: changes.IPv6,
        serviceChanges: counts?.serviceChanges ?? 0,
        endpointChanges: counts?.endpointChanges ?? 0,
      },
    };
  }

  private buildService(service: Service, store: ObjectStore): ServiceEntries {
    const entries: ServiceEntries = { IPv4: new Map(), IPv6: new Map() };
    if (service.type === 'ExternalName' || service.headless) return entries;
    const slices = store.slicesForService(`${service.namespace}/${service.name}`);
    for (const family of FAMILIES) {
      // kube-proxy programs nothing for a family without a cluster IP.
      const clusterIP = service.clusterIPs.find((ip) => familyOf(ip) === family);
      if (clusterIP === undefined) continue;
      for (const port of service.ports) {
        const state = this.buildPort(service, port, family, clusterIP, slices);
        entries[family].set(state.key, state);
      }
    }
    return entries;
  }

  private buildPort(
    service: Service,
    port: ServicePort,
    family: IPFamily,
    clusterIP: string,
    slices: readonly EndpointSlice[],
  ): ServicePortState {
    const ofFamily = (addrs: readonly string[]): string[] => addrs.filter((a) => familyOf(a) === family);
    const nodePortCapable = service.type === 'NodePort' || service.type === 'LoadBalancer';
    const externalIPs = ofFamily(service.externalIPs);
    const loadBalancerIPs = service.type === 'LoadBalancer' ? ofFamily(service.loadBalancerIngressIPs) : [];
    const nodePort = nodePortCapable ? port.nodePort : 0;
    const externallyAccessible = nodePort > 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0;
    const externalLocal = service.externalTrafficPolicy === 'Local';
    // kube-proxy's NeedsHealthCheck: only LoadBalancer services with ETP Local get a health check port.
    const healthCheckNodePort = service.type === 'LoadBalancer' && externalLocal ? service.healthCheckNodePort : 0;
    const eps = computePortEndpoints(service, port, family, slices, this.ctx);
    return {
      key: servicePortKey(service.namespace, service.name, port.name),
      namespace: service.namespace,
      serviceName: service.name,
      portName: port.name,
      family,
      protocol: port.protocol,
      port: port.port,
      clusterIP,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges: ofFamily(service.loadBalancerSourceRanges),
      nodePort,
      healthCheckNodePort,
      affinityTimeoutSeconds: service.sessionAffinity === 'ClientIP' ? service.affinityTimeoutSeconds : 0,
      ...modeAnnotations(service),
      externalPolicyLocal: externalLocal && externallyAccessible,
      internalPolicyLocal: service.internalTrafficPolicy === 'Local',
      clusterEndpoints: eps.clusterEndpoints,
      localEndpoints: eps.localEndpoints,
      hasEndpoints: eps.hasEndpoints,
    };
  }
}
