// Validates a raw Pod manifest into the Pod model: the API server's checks on the
// fields discovery reads, with every problem reported at once and named by field.
import { dns1123SubdomainError } from './names.js';
import { DNS_POLICIES, POD_FIELD_REFS, type DNSPolicy, type Pod, type PodContainer, type PodDNSConfig, type PodDNSOption, type PodEnvVar, type PodFieldRef, type PodResult } from './pod.js';
import { describeValue, FieldErrors, isRawObject, optBoolean, optList, optObject, optString, readIP, readMetadata, stringList, type RawObject } from './validate-fields.js';

// Values end up in resolv.conf lines and execve's environment: whitespace would
// split a resolv.conf field, NUL cannot cross execve.
const RESOLV_TOKEN = /^[^\s#;]+$/;

export function validatePod(raw: unknown, source?: string): PodResult {
  const meta = readMetadata(raw, { kind: 'Pod', source, defaultNamespace: 'default', nameCheck: dns1123SubdomainError });
  const { errs } = meta;
  const warnings: string[] = [];
  if (meta.obj && meta.obj['kind'] !== undefined && meta.obj['kind'] !== 'Pod') errs.add('kind', `expected "Pod", got ${describeValue(meta.obj['kind'])}`);
  const spec = meta.obj ? optObject(errs, meta.obj['spec'], 'spec') : undefined;
  if (meta.obj && !spec && errs.errors.length === 0) errs.add('spec', 'required value');
  const s: RawObject = spec ?? {};
  const enableServiceLinks = optBoolean(errs, s['enableServiceLinks'], 'spec.enableServiceLinks') ?? true;
  const hostNetwork = optBoolean(errs, s['hostNetwork'], 'spec.hostNetwork') ?? false;
  const dnsPolicy = readDNSPolicy(errs, s['dnsPolicy'], warnings, meta.namespace, meta.name);
  const dnsConfig = readDNSConfig(errs, s['dnsConfig']);
  if (dnsPolicy === 'None' && (dnsConfig === undefined || dnsConfig.nameservers.length === 0)) {
    errs.add(dnsConfig === undefined ? 'spec.dnsConfig' : 'spec.dnsConfig.nameservers', 'must provide at least one DNS nameserver when DNS policy is None');
  }
  const containers = readContainers(errs, s['containers']);
  if (errs.errors.length > 0) return { ok: false, errors: errs.errors };
  const pod: Pod = { namespace: meta.namespace, name: meta.name, enableServiceLinks, hostNetwork, dnsPolicy, dnsConfig, containers };
  return { ok: true, pod, warnings };
}

function readDNSPolicy(errs: FieldErrors, value: unknown, warnings: string[], namespace: string, name: string): DNSPolicy {
  const s = optString(errs, value, 'spec.dnsPolicy');
  if (s === undefined || s === '') return 'ClusterFirst';
  if ((DNS_POLICIES as readonly string[]).includes(s)) return s as DNSPolicy;
  // The API refuses it; a kubelet handed one anyway falls back to ClusterFirst and logs.
  warnings.push(`Pod ${namespace}/${name}: spec.dnsPolicy: unsupported value ${JSON.stringify(s)} (supported: ${DNS_POLICIES.join(', ')}); using ClusterFirst`);
  return 'ClusterFirst';
}

function readDNSConfig(errs: FieldErrors, value: unknown): PodDNSConfig | undefined {
  const obj = optObject(errs, value, 'spec.dnsConfig');
  if (!obj) return undefined;
  const nameservers: string[] = [];
  for (const { index, value: v } of stringList(errs, obj['nameservers'], 'spec.dnsConfig.nameservers')) {
    const ip = readIP(errs, v, `spec.dnsConfig.nameservers[${index}]`);
    if (ip !== undefined) nameservers.push(ip);
  }
  const searches: string[] = [];
  for (const { index, value: v } of stringList(errs, obj['searches'], 'spec.dnsConfig.searches')) {
    // The API accepts one trailing dot (an absolute name) and checks the rest as a subdomain.
    const bare = v.endsWith('.') ? v.slice(0, -1) : v;
    const reason = dns1123SubdomainError(bare);
    if (reason !== undefined) errs.add(`spec.dnsConfig.searches[${index}]`, `invalid value ${JSON.stringify(v)}: ${reason}`);
    else searches.push(v);
  }
  const options: PodDNSOption[] = [];
  optList(errs, obj['options'], 'spec.dnsConfig.options').forEach((item, i) => {
    const path = `spec.dnsConfig.options[${i}]`;
    const o = optObject(errs, item, path);
    if (!o) return;
    const name = optString(errs, o['name'], `${path}.name`);
    const optValue = optString(errs, o['value'], `${path}.value`);
    if (name === undefined || name === '') {
      if (o['name'] === undefined || o['name'] === null || name === '') errs.add(`${path}.name`, 'required value');
      return;
    }
    if (!RESOLV_TOKEN.test(name) || name.includes(':')) errs.add(`${path}.name`, `invalid value ${JSON.stringify(name)}: must not contain whitespace, ':', '#' or ';'`);
    else if (optValue !== undefined && optValue !== '' && !RESOLV_TOKEN.test(optValue)) errs.add(`${path}.value`, `invalid value ${JSON.stringify(optValue)}: must not contain whitespace, '#' or ';'`);
    else options.push({ name, value: optValue === '' ? undefined : optValue });
  });
  return { nameservers, searches, options };
}

function readContainers(errs: FieldErrors, value: unknown): PodContainer[] {
  const list = optList(errs, value, 'spec.containers');
  if (list.length === 0 && !errs.errors.some((e) => e.field === 'spec.containers')) errs.add('spec.containers', 'required value: a Pod has at least one container');
  const seen = new Set<string>();
  return list.flatMap((item, i): PodContainer[] => {
    const path = `spec.containers[${i}]`;
    const c = optObject(errs, item, path);
    if (!c) return [];
    const name = optString(errs, c['name'], `${path}.name`);
    if (name === undefined || name === '') {
      if (name === '' || c['name'] === undefined || c['name'] === null) errs.add(`${path}.name`, 'required value');
      return [];
    }
    if (seen.has(name)) errs.add(`${path}.name`, `duplicate value ${JSON.stringify(name)}`);
    seen.add(name);
    return [{ name, env: readEnv(errs, c['env'], `${path}.env`) }];
  });
}

function readEnv(errs: FieldErrors, value: unknown, base: string): PodEnvVar[] {
  return optList(errs, value, base).flatMap((item, i): PodEnvVar[] => {
    const path = `${base}[${i}]`;
    const e = optObject(errs, item, path);
    if (!e) return [];
    const name = optString(errs, e['name'], `${path}.name`);
    if (name === undefined || name === '') {
      if (name === '' || e['name'] === undefined || e['name'] === null) errs.add(`${path}.name`, 'required value');
      return [];
    }
    // The API's rule (any printable ASCII but '='), which also keeps execve's environment well formed.
    if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(name)) {
      errs.add(`${path}.name`, `invalid value ${JSON.stringify(name)}: must consist of printable ASCII characters except '='`);
      return [];
    }
    const v = optString(errs, e['value'], `${path}.value`) ?? '';
    if (v.includes('\0')) errs.add(`${path}.value`, 'must not contain a NUL character');
    const from = optObject(errs, e['valueFrom'], `${path}.valueFrom`);
    if (!from) return [{ name, value: v }];
    if (v !== '') {
      errs.add(`${path}.valueFrom`, 'may not be specified when `value` is not empty');
      return [];
    }
    return readValueFrom(errs, from, name, `${path}.valueFrom`);
  });
}

function readValueFrom(errs: FieldErrors, from: RawObject, name: string, path: string): PodEnvVar[] {
  const ref = optObject(errs, from['fieldRef'], `${path}.fieldRef`);
  const other = Object.keys(from).filter((k) => k !== 'fieldRef');
  if (other.length > 0 || !ref) {
    const which = other[0] ?? 'fieldRef';
    errs.add(`${path}.${which}`, 'not supported off-cluster (no API server to read it from); only fieldRef metadata.name and metadata.namespace are');
    return [];
  }
  const fieldPath = optString(errs, ref['fieldPath'], `${path}.fieldRef.fieldPath`);
  if (fieldPath === undefined || !(POD_FIELD_REFS as readonly string[]).includes(fieldPath)) {
    errs.add(`${path}.fieldRef.fieldPath`, `${fieldPath === undefined ? 'required value' : `unsupported value ${JSON.stringify(fieldPath)}`}: supported off-cluster: ${POD_FIELD_REFS.join(', ')}`);
    return [];
  }
  return [{ name, fieldRef: fieldPath as PodFieldRef }];
}

export function isPodManifest(raw: unknown): boolean {
  return isRawObject(raw) && raw['kind'] === 'Pod';
}
