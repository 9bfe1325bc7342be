// The node-local desired state: what one node must program, per IP family,
// per service port. Every backend plans from this and only this.
import type { IPFamily, Protocol } from '../model/types.js';

export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** The endpoint runs on this node (nodeName matches the NodeContext). */
  readonly isLocal: boolean;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
}

export interface ServicePortState {
  /** `namespace/name:portName` (portName may be ''), unique per family. */
  readonly key: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly portName: string;
  readonly family: IPFamily;
  readonly protocol: Protocol;
  readonly port: number;
  /** The cluster IP of this family; undefined if the service has none in this family. */
  readonly clusterIP: string | undefined;
  /** Only addresses of this family. */
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  /** 0 when none. */
  readonly nodePort: number;
  readonly healthCheckNodePort: number;
  /** ClientIP affinity timeout; 0 means no affinity. */
  readonly affinityTimeoutSeconds: number;
  /** The service's `svcplane.io/` annotations, where a mode takes per-service options (e.g. the IPVS scheduler); absent when none. */
  readonly modeAnnotations?: Readonly<Record<string, string>>;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  /** Endpoints for Cluster policy after readiness, terminating fallback and topology, sorted by ip:port. */
  readonly clusterEndpoints: readonly EndpointInfo[];
  /** Local endpoints for Local policy (ready local ones, else serving+terminating local ones), sorted. */
  readonly localEndpoints: readonly EndpointInfo[];
  /** Some usable endpoint exists anywhere (kube-proxy's hasEndpoints). */
  readonly hasEndpoints: boolean;
}

export type FamilyState = ReadonlyMap<string, ServicePortState>;

export interface DesiredState {
  readonly IPv4: FamilyState;
  readonly IPv6: FamilyState;
}

/** Which service ports changed between two desired states (added, modified or removed), per family. */
export interface StateChanges {
  readonly IPv4: ReadonlySet<string>;
  readonly IPv6: ReadonlySet<string>;
  /** Counts for metrics (kube-proxy's service/endpoint change totals). */
  readonly serviceChanges: number;
  readonly endpointChanges: number;
}

export function isExternallyAccessible(sp: ServicePortState): boolean {
  return sp.nodePort > 0 || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
}
