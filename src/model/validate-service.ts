// core/v1 Service -> Service, with the API server's validation and defaults.
import { dns1035LabelError, dns1123SubdomainError } from './names.js';
import {
  DEFAULT_AFFINITY_TIMEOUT_SECONDS,
  LABEL_HEADLESS,
  MAX_AFFINITY_TIMEOUT_SECONDS,
  type Service,
  type ServiceType,
  type SessionAffinity,
  type TrafficPolicy,
} from './types.js';
import type { Validated } from './validate.js';
import {
  checkName,
  enumValue,
  type FieldErrors,
  optBoolean,
  optInteger,
  optObject,
  optString,
  PORT_RANGE_REASON,
  type RawObject,
  readIP,
  readMetadata,
  type Strictness,
  stringMap,
} from './validate-fields.js';
import {
  readClusterIPs,
  readExternalIPs,
  readLoadBalancerIngressIPs,
  readLoadBalancerSourceRanges,
} from './validate-service-ips.js';
import { readServicePorts } from './validate-service-ports.js';

const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const SESSION_AFFINITIES: readonly SessionAffinity[] = ['None', 'ClientIP'];
const TRAFFIC_POLICIES: readonly TrafficPolicy[] = ['Cluster', 'Local'];
/** "Global" is the pre-1.14 spelling of "Cluster". */
const TRAFFIC_POLICY_ALIASES: Readonly<Record<string, TrafficPolicy>> = { Global: 'Cluster' };

function readAffinityTimeout(errs: FieldErrors, spec: RawObject, affinity: SessionAffinity): number {
  const path = 'spec.sessionAffinityConfig';
  const config = optObject(errs, spec['sessionAffinityConfig'], path);
  if (!config) return DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  // Unused when affinity is None: nothing to program wrong.
  if (affinity === 'None') errs.relax(path, 'must not be set when session affinity is None');
  const clientIP = optObject(errs, config['clientIP'], `${path}.clientIP`);
  const timeoutPath = `${path}.clientIP.timeoutSeconds`;
  const timeout = optInteger(errs, clientIP?.['timeoutSeconds'], timeoutPath);
  if (timeout === undefined) return DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  if (timeout < 1 || timeout > MAX_AFFINITY_TIMEOUT_SECONDS) {
    errs.add(timeoutPath, `invalid value ${timeout}: must be between 1 and ${MAX_AFFINITY_TIMEOUT_SECONDS}, inclusive`);
    return DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  }
  return timeout;
}

function readHealthCheckNodePort(errs: FieldErrors, spec: RawObject, type: ServiceType, externalPolicy: TrafficPolicy): number {
  const path = 'spec.healthCheckNodePort';
  const port = optInteger(errs, spec['healthCheckNodePort'], path);
  if (port === undefined || port === 0) return 0;
  if (port < 1 || port > 65535) {
    errs.add(path, `invalid value ${port}: ${PORT_RANGE_REASON}`);
    return 0;
  }
  // The policy step reads it only for LoadBalancer + Local; kube-proxy ignores it elsewhere.
  if (type !== 'LoadBalancer' || externalPolicy !== 'Local') {
    errs.relax(path, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
  }
  return port;
}

function readExternalName(errs: FieldErrors, spec: RawObject, type: ServiceType): string | undefined {
  const path = 'spec.externalName';
  const name = optString(errs, spec['externalName'], path);
  // Kubernetes clears externalName on other types; it means nothing there.
  if (type !== 'ExternalName') return undefined;
  if (name === undefined || name === '') {
    if (spec['externalName'] === undefined || spec['externalName'] === null || name === '') errs.add(path, 'required value');
    return undefined;
  }
  // A trailing dot (fully qualified) is allowed.
  return checkName(errs, name.endsWith('.') ? name.slice(0, -1) : name, path, dns1123SubdomainError) ? name : undefined;
}

function readLoadBalancerIP(errs: FieldErrors, spec: RawObject): string | undefined {
  const text = optString(errs, spec['loadBalancerIP'], 'spec.loadBalancerIP');
  return text === undefined || text === '' ? undefined : readIP(errs, text, 'spec.loadBalancerIP');
}

/** `strictness`: 'lenient' for objects the API server serves (see Strictness). */
export function validateService(raw: unknown, source?: string, defaultNamespace = 'default', strictness: Strictness = 'strict'): Validated<Service> {
  const meta = readMetadata(raw, { kind: 'Service', source, defaultNamespace, nameCheck: dns1035LabelError, strictness });
  const { errs } = meta;
  if (!meta.obj) return { ok: false, errors: errs.errors };
  const spec = optObject(errs, meta.obj['spec'], 'spec') ?? {};

  const type = enumValue(errs, spec['type'], 'spec.type', SERVICE_TYPES, 'ClusterIP');
  const ips = readClusterIPs(errs, spec, type);
  // kube-proxy skips services labelled headless just like clusterIP: None.
  const headless = ips.none || LABEL_HEADLESS in meta.labels;
  const ports = readServicePorts(errs, spec['ports'], type, headless);
  const selector = stringMap(errs, spec['selector'], 'spec.selector');
  const sessionAffinity = enumValue(errs, spec['sessionAffinity'], 'spec.sessionAffinity', SESSION_AFFINITIES, 'None');
  const affinityTimeoutSeconds = readAffinityTimeout(errs, spec, sessionAffinity);
  const externalTrafficPolicy = enumValue(
    errs,
    spec['externalTrafficPolicy'],
    'spec.externalTrafficPolicy',
    TRAFFIC_POLICIES,
    'Cluster',
    TRAFFIC_POLICY_ALIASES,
  );
  const internalTrafficPolicy = enumValue(
    errs,
    spec['internalTrafficPolicy'],
    'spec.internalTrafficPolicy',
    TRAFFIC_POLICIES,
    'Cluster',
    TRAFFIC_POLICY_ALIASES,
  );
  const trafficDistribution = optString(errs, spec['trafficDistribution'], 'spec.trafficDistribution');

  const service: Service = {
    namespace: meta.namespace,
    name: meta.name,
    type,
    clusterIPs: ips.clusterIPs,
    headless,
    ipFamilies: ips.ipFamilies,
    ports,
    // An empty selector selects nothing: endpoints are managed by hand, as with none.
    selector: Object.keys(selector).length > 0 ? selector : undefined,
    sessionAffinity,
    affinityTimeoutSeconds,
    externalIPs: readExternalIPs(errs, spec['externalIPs']),
    loadBalancerIP: readLoadBalancerIP(errs, spec),
    loadBalancerIngressIPs: readLoadBalancerIngressIPs(errs, meta.obj['status']),
    loadBalancerSourceRanges: readLoadBalancerSourceRanges(errs, spec, meta.annotations, type),
    externalTrafficPolicy,
    internalTrafficPolicy,
    healthCheckNodePort: readHealthCheckNodePort(errs, spec, type, externalTrafficPolicy),
    publishNotReadyAddresses: optBoolean(errs, spec['publishNotReadyAddresses'], 'spec.publishNotReadyAddresses') ?? false,
    externalName: readExternalName(errs, spec, type),
    trafficDistribution: trafficDistribution === '' ? undefined : trafficDistribution,
    labels: meta.labels,
    annotations: meta.annotations,
  };
  return errs.errors.length > 0 ? { ok: false, errors: errs.errors } : { ok: true, value: service, skipped: errs.skipped };
}
