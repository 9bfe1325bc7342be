// The address fields of a Service: cluster IPs and IP families, external
// and load-balancer addresses, load-balancer source ranges.
import { ipFamily, normaliseCIDR } from './ip.js';
import type { IPFamily, ServiceType } from './types.js';
import {
  type FieldErrors,
  optList,
  optObject,
  optString,
  type RawObject,
  readIP,
  stringList,
  unsupportedReason,
} from './validate-fields.js';

export const ANNOTATION_LOAD_BALANCER_SOURCE_RANGES = 'service.beta.kubernetes.io/load-balancer-source-ranges';
const IP_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];
const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];
export const CLUSTER_IP_NONE = 'None';

export interface ClusterIPs {
  readonly clusterIPs: readonly string[];
  /** clusterIP: None. */
  readonly none: boolean;
  readonly ipFamilies: readonly IPFamily[];
}

function readIPFamilies(errs: FieldErrors, value: unknown): IPFamily[] {
  const families: IPFamily[] = [];
  for (const { index, value: family } of stringList(errs, value, 'spec.ipFamilies')) {
    const path = `spec.ipFamilies[${index}]`;
    if (!(IP_FAMILIES as readonly string[]).includes(family)) errs.add(path, unsupportedReason(family, IP_FAMILIES));
    else if (families.includes(family as IPFamily)) errs.add(path, `duplicate value ${JSON.stringify(family)}`);
    else families.push(family as IPFamily);
  }
  return families;
}

/**
 * clusterIP and clusterIPs (clusterIPs wins, the two must agree), and the
 * IP families they imply. A missing cluster IP is fine: it is allocated later.
 */
export function readClusterIPs(errs: FieldErrors, spec: RawObject, type: ServiceType): ClusterIPs {
  const clusterIP = optString(errs, spec['clusterIP'], 'spec.clusterIP') ?? '';
  const listed = stringList(errs, spec['clusterIPs'], 'spec.clusterIPs');
  const policy = optString(errs, spec['ipFamilyPolicy'], 'spec.ipFamilyPolicy');
  const families = readIPFamilies(errs, spec['ipFamilies']);

  if (type === 'ExternalName') {
    // ExternalName services are DNS aliases: they have no addresses of their own.
    const forbidden = 'may not be set for ExternalName services';
    if (clusterIP !== '') errs.add('spec.clusterIP', forbidden);
    if (listed.length > 0) errs.add('spec.clusterIPs', forbidden);
    if (families.length > 0) errs.add('spec.ipFamilies', forbidden);
    if (policy !== undefined && policy !== '') errs.add('spec.ipFamilyPolicy', forbidden);
    return { clusterIPs: [], none: false, ipFamilies: [] };
  }

  if (policy !== undefined && policy !== '') {
    if (!IP_FAMILY_POLICIES.includes(policy)) errs.add('spec.ipFamilyPolicy', unsupportedReason(policy, IP_FAMILY_POLICIES));
    else if (policy === 'SingleStack' && (families.length > 1 || listed.length > 1)) {
      // Every listed cluster IP is programmed either way: a policy/IP mismatch is the API server's concern.
      errs.relax('spec.ipFamilyPolicy', 'must be PreferDualStack or RequireDualStack when multiple IP families or cluster IPs are specified');
    }
  }
  const first = listed[0];
  if (clusterIP !== '' && first !== undefined && first.value !== clusterIP) {
    errs.add('spec.clusterIPs[0]', `invalid value ${JSON.stringify(first.value)}: must match spec.clusterIP ${JSON.stringify(clusterIP)}`);
  }
  const entries =
    listed.length > 0
      ? listed.map(({ index, value }) => ({ path: `spec.clusterIPs[${index}]`, value }))
      : clusterIP !== ''
        ? [{ path: 'spec.clusterIP', value: clusterIP }]
        : [];

  if (entries[0]?.value === CLUSTER_IP_NONE) {
    if (entries.length > 1) errs.add('spec.clusterIPs', `must not have more than one value when the first is "${CLUSTER_IP_NONE}"`);
    return { clusterIPs: [], none: true, ipFamilies: families.length > 0 ? families : ['IPv4'] };
  }

  if (entries.length > 2) errs.add('spec.clusterIPs', `must have at most 2 entries (one per IP family), got ${entries.length}`);
  const clusterIPs: string[] = [];
  const ipFamiliesOfIPs: IPFamily[] = [];
  for (const entry of entries.slice(0, 2)) {
    const ip = readIP(errs, entry.value, entry.path);
    const family = ip === undefined ? undefined : ipFamily(ip);
    if (ip === undefined || family === undefined) continue;
    if (ipFamiliesOfIPs.includes(family)) {
      errs.add(entry.path, `invalid value ${JSON.stringify(entry.value)}: may specify no more than one IP for each IP family`);
      continue;
    }
    const declared = families[clusterIPs.length];
    if (declared !== undefined && declared !== family) {
      errs.add(`spec.ipFamilies[${clusterIPs.length}]`, `invalid value ${JSON.stringify(declared)}: must match the family of ${entry.path} (${family})`);
    }
    clusterIPs.push(ip);
    ipFamiliesOfIPs.push(family);
  }
  // Families not declared follow the cluster IPs.
  const ipFamilies = [...families];
  for (const family of ipFamiliesOfIPs) if (!ipFamilies.includes(family)) ipFamilies.push(family);
  return { clusterIPs, none: false, ipFamilies: ipFamilies.length > 0 ? ipFamilies : ['IPv4'] };
}

export function readExternalIPs(errs: FieldErrors, value: unknown): string[] {
  const ips: string[] = [];
  for (const { index, value: text } of stringList(errs, value, 'spec.externalIPs')) {
    // An address that cannot be programmed is dropped alone when lenient.
    const ip = errs.part(() => readIP(errs, text, `spec.externalIPs[${index}]`, { nonSpecial: true }));
    if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
  }
  return ips;
}

/** status.loadBalancer.ingress[].ip; hostname-only entries carry no IP for us. */
export function readLoadBalancerIngressIPs(errs: FieldErrors, status: unknown): string[] {
  const statusObj = optObject(errs, status, 'status');
  const lb = optObject(errs, statusObj?.['loadBalancer'], 'status.loadBalancer');
  const ips: string[] = [];
  optList(errs, lb?.['ingress'], 'status.loadBalancer.ingress').forEach((item, i) => {
    const path = `status.loadBalancer.ingress[${i}]`;
    const entry = optObject(errs, item, path);
    const text = optString(errs, entry?.['ip'], `${path}.ip`);
    if (text === undefined || text === '') return;
    const ip = errs.part(() => readIP(errs, text, `${path}.ip`));
    if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
  });
  return ips;
}

/**
 * spec.loadBalancerSourceRanges, or the older annotation when the field is
 * empty. Entries are CIDRs or bare IPs, normalised to network form.
 */
export function readLoadBalancerSourceRanges(
  errs: FieldErrors,
  spec: RawObject,
  annotations: Readonly<Record<string, string>>,
  type: ServiceType,
): string[] {
  const fromField = stringList(errs, spec['loadBalancerSourceRanges'], 'spec.loadBalancerSourceRanges').map(({ index, value }) => ({
    path: `spec.loadBalancerSourceRanges[${index}]`,
    value,
  }));
  const annotation = annotations[ANNOTATION_LOAD_BALANCER_SOURCE_RANGES];
  const annotationPath = `metadata.annotations[${ANNOTATION_LOAD_BALANCER_SOURCE_RANGES}]`;
  const entries =
    fromField.length > 0
      ? fromField
      : (annotation ?? '')
          .split(',')
          .filter((value) => value.trim() !== '')
          .map((value) => ({ path: annotationPath, value }));
  if (fromField.length === 0 && annotation === undefined) return [];
  // Read (and enforced where an LB IP exists) whatever the type: unused otherwise, never unsafe.
  if (type !== 'LoadBalancer') {
    errs.relax(fromField.length > 0 ? 'spec.loadBalancerSourceRanges' : annotationPath, "may only be used when `type` is 'LoadBalancer'");
  }
  const ranges: string[] = [];
  for (const { path, value } of entries) {
    const cidr = normaliseCIDR(value.trim());
    if (cidr === undefined) {
      errs.add(path, `invalid value ${JSON.stringify(value)}: must be a CIDR or an IP address (e.g. 10.240.0.0/24)`);
    } else if (!ranges.includes(cidr)) {
      ranges.push(cidr);
    }
  }
  return ranges;
}
