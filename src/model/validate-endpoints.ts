// discovery.k8s.io/v1 EndpointSlice and legacy core/v1 Endpoints -> EndpointSlice.
import { ipFamily } from './ip.js';
import { dns1123LabelError, dns1123SubdomainError } from './names.js';
import { type AddressType, type Endpoint, type EndpointPort, type EndpointSlice, LABEL_SERVICE_NAME } from './types.js';
import type { Validated } from './validate.js';
import {
  checkName,
  enumValue,
  type FieldErrors,
  optBoolean,
  optList,
  optObject,
  optString,
  type RawObject,
  readIP,
  readMetadata,
  readPort,
  readProtocol,
  type Strictness,
  stringList,
} from './validate-fields.js';

const ADDRESS_TYPES: readonly AddressType[] = ['IPv4', 'IPv6', 'FQDN'];
/** Limits of the EndpointSlice API (validation.go). */
const MAX_ADDRESSES_PER_ENDPOINT = 100;
const MAX_ENDPOINTS_PER_SLICE = 1000;

function listItem(errs: FieldErrors, item: unknown, path: string): RawObject | undefined {
  const obj = optObject(errs, item, path);
  if (!obj && (item === null || item === undefined)) errs.add(path, 'expected an object, got null');
  return obj;
}

function readNodeName(errs: FieldErrors, value: unknown, path: string): string | undefined {
  const nodeName = optString(errs, value, path);
  if (nodeName === undefined || nodeName === '') return undefined;
  return checkName(errs, nodeName, path, dns1123SubdomainError) ? nodeName : undefined;
}

/** An endpoint's hostname becomes a DNS label under its service's name. */
function readHostname(errs: FieldErrors, value: unknown, path: string): string | undefined {
  const hostname = optString(errs, value, path);
  if (hostname === undefined || hostname === '') return undefined;
  return checkName(errs, hostname, path, dns1123LabelError) ? hostname : undefined;
}

/** hints.forZones / hints.forNodes: a list of {name}. */
/**
 * The hints of an endpoint that has none (nearly all of them): one frozen array shared by
 * every endpoint instead of two empty arrays each (6 MB of heap at 100,000 endpoints).
 */
export const NO_HINTS: readonly string[] = Object.freeze([]);

function readHintNames(errs: FieldErrors, value: unknown, path: string): readonly string[] {
  if (value === undefined || value === null) return NO_HINTS;
  const names: string[] = [];
  optList(errs, value, path).forEach((item, i) => {
    const hint = listItem(errs, item, `${path}[${i}]`);
    if (!hint) return;
    const name = optString(errs, hint['name'], `${path}[${i}].name`);
    if (name === undefined || name === '') errs.add(`${path}[${i}].name`, 'required value');
    else names.push(name);
  });
  return names.length === 0 ? NO_HINTS : names;
}

function readAddress(errs: FieldErrors, value: string, path: string, addressType: AddressType): string | undefined {
  if (addressType === 'FQDN') return checkName(errs, value, path, dns1123SubdomainError) ? value : undefined;
  return readIP(errs, value, path, { family: addressType, nonSpecial: true });
}

function readEndpoint(errs: FieldErrors, item: unknown, path: string, addressType: AddressType): Endpoint | undefined {
  const raw = listItem(errs, item, path);
  if (!raw) return undefined;
  const rawAddresses = raw['addresses'];
  const listed = stringList(errs, rawAddresses, `${path}.addresses`);
  // A value of the wrong type was reported already.
  if (listed.length === 0 && (rawAddresses === undefined || rawAddresses === null || Array.isArray(rawAddresses))) {
    errs.add(`${path}.addresses`, 'must contain at least 1 address');
  }
  if (listed.length > MAX_ADDRESSES_PER_ENDPOINT) errs.relax(`${path}.addresses`, `must have at most ${MAX_ADDRESSES_PER_ENDPOINT} items`);
  const addresses: string[] = [];
  for (const { index, value } of listed) {
    const address = readAddress(errs, value, `${path}.addresses[${index}]`, addressType);
    if (address !== undefined) addresses.push(address);
  }
  const conditions = optObject(errs, raw['conditions'], `${path}.conditions`);
  // The API defines unset conditions: ready unset means ready, serving unset follows ready.
  const ready = optBoolean(errs, conditions?.['ready'], `${path}.conditions.ready`) ?? true;
  const serving = optBoolean(errs, conditions?.['serving'], `${path}.conditions.serving`) ?? ready;
  const terminating = optBoolean(errs, conditions?.['terminating'], `${path}.conditions.terminating`) ?? false;
  const zone = optString(errs, raw['zone'], `${path}.zone`);
  const hints = optObject(errs, raw['hints'], `${path}.hints`);
  const hostname = readHostname(errs, raw['hostname'], `${path}.hostname`);
  return {
    ...(hostname === undefined ? {} : { hostname }),
    addresses,
    ready,
    serving,
    terminating,
    nodeName: readNodeName(errs, raw['nodeName'], `${path}.nodeName`),
    zone: zone === '' ? undefined : zone,
    hintsForZones: readHintNames(errs, hints?.['forZones'], `${path}.hints.forZones`),
    hintsForNodes: readHintNames(errs, hints?.['forNodes'], `${path}.hints.forNodes`),
  };
}

/** Ports of a slice or an Endpoints subset; `portRequired` for the legacy API, where 0 is invalid. */
function readEndpointPorts(errs: FieldErrors, value: unknown, path: string, portRequired: boolean): EndpointPort[] {
  const items = optList(errs, value, path);
  const ports: EndpointPort[] = [];
  const names = new Set<string>();
  items.forEach((item, i) => {
    const portPath = `${path}[${i}]`;
    const raw = listItem(errs, item, portPath);
    if (!raw) return;
    const name = optString(errs, raw['name'], `${portPath}.name`) ?? '';
    if (name === '') {
      if (portRequired && items.length > 1) errs.add(`${portPath}.name`, 'required value');
    } else {
      checkName(errs, name, `${portPath}.name`, dns1123LabelError);
    }
    if (names.has(name)) errs.add(`${portPath}.name`, `duplicate value ${JSON.stringify(name)}`);
    names.add(name);
    const protocol = readProtocol(errs, raw['protocol'], `${portPath}.protocol`);
    const port = readPort(errs, raw['port'], `${portPath}.port`, { required: portRequired, allowZero: !portRequired });
    ports.push({ name, protocol, port });
  });
  return ports;
}

/** `strictness`: 'lenient' for objects the API server serves (see Strictness). */
export function validateEndpointSlice(raw: unknown, source?: string, defaultNamespace = 'default', strictness: Strictness = 'strict'): Validated<EndpointSlice> {
  const meta = readMetadata(raw, { kind: 'EndpointSlice', source, defaultNamespace, nameCheck: dns1123SubdomainError, strictness });
  const { errs } = meta;
  if (!meta.obj) return { ok: false, errors: errs.errors };
  const serviceName = meta.labels[LABEL_SERVICE_NAME];
  const labelPath = `metadata.labels[${LABEL_SERVICE_NAME}]`;
  if (serviceName === undefined || serviceName === '') errs.add(labelPath, 'required value: the slice must name its service');
  if (meta.obj['addressType'] === undefined || meta.obj['addressType'] === null || meta.obj['addressType'] === '') {
    errs.add('addressType', 'required value');
  }
  const addressType = enumValue(errs, meta.obj['addressType'], 'addressType', ADDRESS_TYPES, 'IPv4');
  const items = optList(errs, meta.obj['endpoints'], 'endpoints');
  // API server limits that a newer version may raise; the planner has no such limit.
  if (items.length > MAX_ENDPOINTS_PER_SLICE) errs.relax('endpoints', `must have at most ${MAX_ENDPOINTS_PER_SLICE} items`);
  const endpoints: Endpoint[] = [];
  items.forEach((item, i) => {
    // An endpoint that cannot be programmed is dropped alone when lenient.
    const endpoint = errs.part(() => readEndpoint(errs, item, `endpoints[${i}]`, addressType));
    if (endpoint) endpoints.push(endpoint);
  });
  const ports = readEndpointPorts(errs, meta.obj['ports'], 'ports', false);
  if (errs.errors.length > 0) return { ok: false, errors: errs.errors };
  return {
    ok: true,
    value: {
      namespace: meta.namespace,
      name: meta.name,
      serviceName: serviceName ?? '',
      addressType,
      endpoints,
      ports,
      origin: 'EndpointSlice',
    },
    skipped: errs.skipped,
  };
}

interface LegacyAddress {
  readonly ip: string;
  readonly nodeName: string | undefined;
  readonly ready: boolean;
  readonly hostname: string | undefined;
}

function readLegacyAddresses(errs: FieldErrors, value: unknown, path: string, ready: boolean): LegacyAddress[] {
  const addresses: LegacyAddress[] = [];
  optList(errs, value, path).forEach((item, i) => {
    const addrPath = `${path}[${i}]`;
    const raw = listItem(errs, item, addrPath);
    if (!raw) return;
    const text = optString(errs, raw['ip'], `${addrPath}.ip`);
    const nodeName = readNodeName(errs, raw['nodeName'], `${addrPath}.nodeName`);
    const hostname = readHostname(errs, raw['hostname'], `${addrPath}.hostname`);
    if (text === undefined || text === '') {
      if (text === '' || raw['ip'] === undefined || raw['ip'] === null) errs.add(`${addrPath}.ip`, 'required value');
      return;
    }
    const ip = readIP(errs, text, `${addrPath}.ip`, { nonSpecial: true });
    if (ip !== undefined) addresses.push({ ip, nodeName, ready, hostname });
  });
  return addresses;
}

function legacyEndpoint(address: LegacyAddress): Endpoint {
  return {
    addresses: [address.ip],
    ready: address.ready,
    serving: address.ready,
    terminating: false,
    nodeName: address.nodeName,
    zone: undefined,
    hintsForZones: NO_HINTS,
    hintsForNodes: NO_HINTS,
    ...(address.hostname === undefined ? {} : { hostname: address.hostname }),
  };
}

/** Legacy core/v1 Endpoints, converted to slices: one per subset and address family, named `${name}-endpoints-${subsetIndex}-${v4|v6}` so keys are stable; serviceName = the Endpoints' name; addresses -> ready, notReadyAddresses -> not ready (serving false). origin 'Endpoints'. */
export function validateEndpoints(raw: unknown, source?: string, defaultNamespace = 'default'): Validated<EndpointSlice[]> {
  const meta = readMetadata(raw, { kind: 'Endpoints', source, defaultNamespace, nameCheck: dns1123SubdomainError });
  const { errs } = meta;
  if (!meta.obj) return { ok: false, errors: errs.errors };
  const slices: EndpointSlice[] = [];
  optList(errs, meta.obj['subsets'], 'subsets').forEach((item, s) => {
    const path = `subsets[${s}]`;
    const subset = listItem(errs, item, path);
    if (!subset) return;
    const addresses = [
      ...readLegacyAddresses(errs, subset['addresses'], `${path}.addresses`, true),
      ...readLegacyAddresses(errs, subset['notReadyAddresses'], `${path}.notReadyAddresses`, false),
    ];
    const ports = readEndpointPorts(errs, subset['ports'], `${path}.ports`, true);
    for (const family of ['IPv4', 'IPv6'] as const) {
      const ofFamily = addresses.filter((a) => ipFamily(a.ip) === family);
      if (ofFamily.length === 0) continue;
      slices.push({
        namespace: meta.namespace,
        name: `${meta.name}-endpoints-${s}-${family === 'IPv4' ? 'v4' : 'v6'}`,
        serviceName: meta.name,
        addressType: family,
        endpoints: ofFamily.map(legacyEndpoint),
        ports,
        origin: 'Endpoints',
      });
    }
  });
  return errs.errors.length > 0 ? { ok: false, errors: errs.errors } : { ok: true, value: slices };
}
