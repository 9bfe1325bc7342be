// core/v1 Node -> Node: the name, addresses and zone the dataplane needs, and whether
// the node is leaving (deletionTimestamp, taints), which /healthz reports as kube-proxy does.
import { dns1123SubdomainError } from './names.js';
import { LABEL_TOPOLOGY_ZONE, type Node, type NodeAddress } from './types.js';
import type { Validated } from './validate.js';
import { type FieldErrors, optList, optObject, optString, readIP, readMetadata } from './validate-fields.js';

/** Address types whose address must be an IP (the others are DNS names). */
const IP_ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP']);

function readNodeAddresses(errs: FieldErrors, status: unknown): NodeAddress[] {
  const statusObj = optObject(errs, status, 'status');
  const addresses: NodeAddress[] = [];
  optList(errs, statusObj?.['addresses'], 'status.addresses').forEach((item, i) => {
    const path = `status.addresses[${i}]`;
    const raw = optObject(errs, item, path);
    if (!raw) {
      if (item === null || item === undefined) errs.add(path, 'expected an object, got null');
      return;
    }
    const type = optString(errs, raw['type'], `${path}.type`);
    const address = optString(errs, raw['address'], `${path}.address`);
    if (type === '' || (type === undefined && (raw['type'] === undefined || raw['type'] === null))) errs.add(`${path}.type`, 'required value');
    if (address === '' || (address === undefined && (raw['address'] === undefined || raw['address'] === null))) {
      errs.add(`${path}.address`, 'required value');
    }
    if (!type || !address) return;
    const value = IP_ADDRESS_TYPES.has(type) ? readIP(errs, address, `${path}.address`) : address;
    if (value !== undefined) addresses.push({ type, address: value });
  });
  return addresses;
}

/** metadata.deletionTimestamp: an RFC 3339 time, normalised to ISO 8601 (undefined when unset). */
function readDeletionTimestamp(errs: FieldErrors, meta: unknown): string | undefined {
  const raw = optObject(errs, meta, 'metadata')?.['deletionTimestamp'];
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? undefined : raw.toISOString(); // a YAML timestamp
  const value = optString(errs, raw, 'metadata.deletionTimestamp');
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    errs.add('metadata.deletionTimestamp', `invalid value ${JSON.stringify(value)}: must be an RFC 3339 time`);
    return undefined;
  }
  return new Date(ms).toISOString();
}

function readTaintKeys(errs: FieldErrors, spec: unknown): string[] {
  const keys: string[] = [];
  optList(errs, optObject(errs, spec, 'spec')?.['taints'], 'spec.taints').forEach((item, i) => {
    const taint = optObject(errs, item, `spec.taints[${i}]`);
    const key = optString(errs, taint?.['key'], `spec.taints[${i}].key`);
    if (taint && !key) errs.add(`spec.taints[${i}].key`, 'required value');
    else if (key) keys.push(key);
  });
  return keys;
}

export function validateNode(raw: unknown, source?: string): Validated<Node> {
  const meta = readMetadata(raw, { kind: 'Node', source, defaultNamespace: undefined, nameCheck: dns1123SubdomainError });
  const { errs } = meta;
  if (!meta.obj) return { ok: false, errors: errs.errors };
  const addresses = readNodeAddresses(errs, meta.obj['status']);
  const deletionTimestamp = readDeletionTimestamp(errs, meta.obj['metadata']);
  const taintKeys = readTaintKeys(errs, meta.obj['spec']);
  const zone = meta.labels[LABEL_TOPOLOGY_ZONE];
  if (errs.errors.length > 0) return { ok: false, errors: errs.errors };
  return {
    ok: true,
    value: {
      name: meta.name, addresses, zone: zone === '' ? undefined : zone, labels: meta.labels,
      ...(deletionTimestamp === undefined ? {} : { deletionTimestamp }),
      ...(taintKeys.length === 0 ? {} : { taintKeys }),
    },
  };
}
