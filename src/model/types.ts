// Plain, readonly, validated forms of the Kubernetes objects svcplane consumes.
// Every source (manifest files, the Kubernetes API) produces exactly these.

export type IPFamily = 'IPv4' | 'IPv6';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type TrafficPolicy = 'Cluster' | 'Local';
export type SessionAffinity = 'None' | 'ClientIP';

/** Identity of a Kubernetes object in messages: `Service default/web`. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface ServicePort {
  /** '' only when the service has a single port. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
  /** A number, or the name of a container port resolved per endpoint slice port. */
  readonly targetPort: number | string;
  /** 0 when not allocated / not a NodePort-capable service. */
  readonly nodePort: number;
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly type: ServiceType;
  /** Cluster IPs in ipFamilies order; empty for headless (clusterIP: None) and ExternalName. */
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly ipFamilies: readonly IPFamily[];
  readonly ports: readonly ServicePort[];
  /** undefined: no selector (endpoints are managed by hand). */
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly sessionAffinity: SessionAffinity;
  /** ClientIP affinity timeout, 1..86400, default 10800. */
  readonly affinityTimeoutSeconds: number;
  readonly externalIPs: readonly string[];
  /** spec.loadBalancerIP as requested (informational: traffic uses status ingress IPs). */
  readonly loadBalancerIP: string | undefined;
  /** status.loadBalancer.ingress[].ip */
  readonly loadBalancerIngressIPs: readonly string[];
  /** CIDRs, normalised (a bare IP becomes /32 or /128). */
  readonly loadBalancerSourceRanges: readonly string[];
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
  /** 0 when unset. */
  readonly healthCheckNodePort: number;
  readonly publishNotReadyAddresses: boolean;
  readonly externalName: string | undefined;
  /** spec.trafficDistribution, e.g. 'PreferClose'. */
  readonly trafficDistribution: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Endpoint {
  readonly addresses: readonly string[];
  /** conditions.ready; unset means true (as the API defines). */
  readonly ready: boolean;
  /** conditions.serving; unset means the value of ready. */
  readonly serving: boolean;
  /** conditions.terminating; unset means false. */
  readonly terminating: boolean;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  readonly hintsForZones: readonly string[];
  readonly hintsForNodes: readonly string[];
  /** The endpoint's DNS label (EndpointSlice `hostname`, a pod's hostname/subdomain); only cluster DNS reads it. */
  readonly hostname?: string;
}

export interface EndpointPort {
  /** '' for the unnamed port. */
  readonly name: string;
  readonly protocol: Protocol;
  /** 0 means "all ports" in the API; such slices carry no usable port. */
  readonly port: number;
}

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface EndpointSlice {
  readonly namespace: string;
  readonly name: string;
  /** From the `kubernetes.io/service-name` label (or the Endpoints object's name). */
  readonly serviceName: string;
  readonly addressType: AddressType;
  readonly endpoints: readonly Endpoint[];
  readonly ports: readonly EndpointPort[];
  /** Where it came from: 'EndpointSlice' or 'Endpoints' (converted legacy object). */
  readonly origin: 'EndpointSlice' | 'Endpoints';
}

export interface NodeAddress {
  readonly type: string;
  readonly address: string;
}

export interface Node {
  readonly name: string;
  readonly addresses: readonly NodeAddress[];
  /** topology.kubernetes.io/zone label. */
  readonly zone: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** metadata.deletionTimestamp (RFC 3339) while the node is being deleted; absent otherwise. */
  readonly deletionTimestamp?: string;
  /** The keys of spec.taints, when there are any (the autoscaler's deletion taint matters to /healthz). */
  readonly taintKeys?: readonly string[];
}

/** A Namespace object (cluster-scoped): cluster DNS reads that it exists. */
export interface Namespace {
  readonly name: string;
}

/** Namespaced key used everywhere: `namespace/name`. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export const LABEL_SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;
