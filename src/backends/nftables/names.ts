// Object names and comments, after kube-proxy's nftables mode: per service port
// `service-HASH-ns/name/proto/port`, per endpoint `endpoint-HASH-ns/name/proto/port__ip/port`.
// The hash is of the raw name, so names stay unique; the readable part keeps only
// characters nft accepts in an unquoted identifier, so user names never break the syntax.
import type { Protocol } from '../../model/types.js';
import { chainHash, servicePortName } from '../common/kube-names.js';

// Fixed chains, sets and maps (kube-proxy's names).
export const SERVICES_CHAIN = 'services';
export const MASQUERADING_CHAIN = 'masquerading';
export const MARK_MASQ_CHAIN = 'mark-for-masquerade';
export const FIREWALL_CHECK_CHAIN = 'firewall-check';
export const ENDPOINTS_CHECK_CHAIN = 'endpoints-check';
export const REJECT_CHAIN = 'reject-chain';
export const SERVICE_IPS_MAP = 'service-ips';
export const SERVICE_NODEPORTS_MAP = 'service-nodeports';
export const NO_ENDPOINT_SERVICES_MAP = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS_MAP = 'no-endpoint-nodeports';
export const FIREWALL_IPS_MAP = 'firewall-ips';
export const NODEPORT_ADDRESSES_SET = 'nodeport-addresses';
/** Every endpoint as `ip . ip`: a connection DNATed to its own source is masqueraded (hairpin). */
export const HAIRPIN_SET = 'hairpin-endpoints';
/** Every cluster IP: new connections still addressed to one after DNAT used no service port (rejected). */
export const CLUSTER_IPS_SET = 'cluster-ips';
export const CLUSTER_IPS_CHECK_CHAIN = 'cluster-ips-check';

export const SERVICE_PREFIX = 'service-';
export const LOCAL_PREFIX = 'local-';
export const EXTERNAL_PREFIX = 'external-';
export const FIREWALL_PREFIX = 'firewall-';
export const ENDPOINT_PREFIX = 'endpoint-';
export const AFFINITY_PREFIX = 'affinity-';
export const ENDPOINTS_MAP_PREFIX = 'eps-';
export const LOCAL_ENDPOINTS_MAP_PREFIX = 'local-eps-';

/** NFT_NAME_MAXLEN is 256 with the terminating NUL; the longest prefix above is 10 characters. */
const MAX_BASE_LENGTH = 240;
/** NFT_USERDATA_MAXLEN: comments longer than this are refused. */
export const MAX_COMMENT_LENGTH = 128;

/** Characters of an nft identifier after its first letter (besides `/`, our separator). */
function safePart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function hashAndTruncate(raw: string, readable: string): string {
  const name = `${chainHash(raw).slice(0, 8)}-${readable}`;
  return name.length > MAX_BASE_LENGTH ? `${name.slice(0, MAX_BASE_LENGTH - 3)}...` : name;
}

export interface ServicePortNames {
  readonly service: string;
  readonly local: string;
  readonly external: string;
  readonly firewall: string;
  /** The endpoint maps of the service and local chains. */
  readonly endpoints: string;
  readonly localEndpoints: string;
}

function rawBase(namespace: string, serviceName: string, protocol: Protocol, portName: string): string {
  return `${namespace}/${serviceName}/${protocol.toLowerCase()}/${portName}`;
}

function readableBase(namespace: string, serviceName: string, protocol: Protocol, portName: string): string {
  return `${safePart(namespace)}/${safePart(serviceName)}/${protocol.toLowerCase()}/${safePart(portName)}`;
}

export function servicePortNames(namespace: string, serviceName: string, protocol: Protocol, portName: string): ServicePortNames {
  const base = hashAndTruncate(rawBase(namespace, serviceName, protocol, portName), readableBase(namespace, serviceName, protocol, portName));
  return {
    service: SERVICE_PREFIX + base, local: LOCAL_PREFIX + base, external: EXTERNAL_PREFIX + base, firewall: FIREWALL_PREFIX + base,
    endpoints: ENDPOINTS_MAP_PREFIX + base, localEndpoints: LOCAL_ENDPOINTS_MAP_PREFIX + base,
  };
}

export interface EndpointNames {
  readonly chain: string;
  readonly affinitySet: string;
}

export function endpointNames(namespace: string, serviceName: string, protocol: Protocol, portName: string, ip: string, port: number): EndpointNames {
  // IPv6 colons are not allowed in identifiers (kube-proxy uses dots too).
  const ep = `${ip.replace(/:/g, '.')}/${port}`;
  const base = hashAndTruncate(
    `${rawBase(namespace, serviceName, protocol, portName)}__${ep}`,
    `${readableBase(namespace, serviceName, protocol, portName)}__${safePart(ip.replace(/:/g, '.'))}/${port}`,
  );
  return { chain: ENDPOINT_PREFIX + base, affinitySet: AFFINITY_PREFIX + base };
}

/** Whether a chain is one of the per-service-port or per-endpoint chains (they all hold a `/`). */
export function isServiceChain(name: string): boolean {
  return name.includes('/');
}

/** Comment text safe inside double quotes: printable ASCII without `"` and `\`, capped. */
export function safeComment(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return clean.length > MAX_COMMENT_LENGTH ? clean.slice(0, MAX_COMMENT_LENGTH) : clean;
}

/** kube-proxy's ServicePortName.String(), under the name this backend's files use. */
export const servicePortString = servicePortName;
