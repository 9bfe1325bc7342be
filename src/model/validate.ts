// Dispatch of raw Kubernetes objects (parsed YAML/JSON documents) to the
// validator of their kind. Kinds svcplane does not consume are ignored.
import { ValidationError } from './errors.js';
import { validateIngressKinds } from './ingress-dispatch.js';
import type { Ingress, IngressClass, TLSSecret } from './ingress-types.js';
import type { EndpointSlice, Namespace, Node, Service } from './types.js';
import { validateEndpoints, validateEndpointSlice } from './validate-endpoints.js';
import { describeValue, isRawObject, ROOT_FIELD, UNNAMED } from './validate-fields.js';
import { validateNamespace } from './validate-namespace.js';
import { validateNode } from './validate-node.js';
import { validateService } from './validate-service.js';

export type Validated<T> =
  /** `skipped`: parts dropped from a leniently read object (reported, the rest is programmed). */
  | { readonly ok: true; readonly value: T; readonly skipped?: readonly ValidationError[] }
  | { readonly ok: false; readonly errors: readonly ValidationError[] };

export type ModelObject =
  | { readonly kind: 'Service'; readonly value: Service }
  | { readonly kind: 'EndpointSlice'; readonly value: EndpointSlice }
  | { readonly kind: 'Node'; readonly value: Node }
  | { readonly kind: 'Namespace'; readonly value: Namespace }
  | { readonly kind: 'Ingress'; readonly value: Ingress }
  | { readonly kind: 'IngressClass'; readonly value: IngressClass }
  | { readonly kind: 'Secret'; readonly value: TLSSecret };

export interface ValidateResult {
  readonly objects: readonly ModelObject[];
  readonly errors: readonly ValidationError[];
  /** kind not for us (Pod, Ingress, Deployment...): ignored, not an error */
  readonly ignored: boolean;
}

const API_VERSIONS: Readonly<Record<string, string>> = {
  Service: 'v1',
  Endpoints: 'v1',
  Node: 'v1',
  Namespace: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
};

const IGNORED: ValidateResult = { objects: [], errors: [], ignored: true };

function failed(errors: readonly ValidationError[]): ValidateResult {
  return { objects: [], errors, ignored: false };
}

function identify(raw: Readonly<Record<string, unknown>>, defaultNamespace: string): { kind: string; namespace: string; name: string } {
  const meta = isRawObject(raw['metadata']) ? raw['metadata'] : {};
  const kind = typeof raw['kind'] === 'string' && raw['kind'] !== '' ? raw['kind'] : '<unknown kind>';
  const name = typeof meta['name'] === 'string' && meta['name'] !== '' ? meta['name'] : UNNAMED;
  const namespace =
    kind === 'Node' || kind === 'Namespace' ? '' : typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : defaultNamespace;
  return { kind, namespace, name };
}

function fromValidated<T>(result: Validated<T>, wrap: (value: T) => ModelObject[]): ValidateResult {
  return result.ok ? { objects: wrap(result.value), errors: [], ignored: false } : failed(result.errors);
}

/**
 * A `List` (or `ServiceList`, ... as the API returns them) expands to its
 * items; items of a typed list may omit kind and apiVersion.
 */
function validateList(
  raw: Readonly<Record<string, unknown>>,
  kind: string,
  source: string | undefined,
  defaultNamespace: string,
): ValidateResult {
  const items = raw['items'];
  if (items !== undefined && items !== null && !Array.isArray(items)) {
    const ref = identify(raw, defaultNamespace);
    return failed([new ValidationError(ref, 'items', `expected a list, got ${describeValue(items)}`, source)]);
  }
  const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
  const objects: ModelObject[] = [];
  const errors: ValidationError[] = [];
  let ignored = true;
  for (const item of items ?? []) {
    const typed =
      itemKind !== undefined && isRawObject(item) && item['kind'] === undefined
        ? { apiVersion: raw['apiVersion'], kind: itemKind, ...item }
        : item;
    const result = validateObject(typed, source, defaultNamespace);
    objects.push(...result.objects);
    errors.push(...result.errors);
    ignored &&= result.ignored;
  }
  return { objects, errors, ignored };
}

/** `source` names where the object came from (e.g. "examples/web.yaml:12"); it is put into the errors. */
export function validateObject(raw: unknown, source?: string, defaultNamespace = 'default'): ValidateResult {
  if (raw === null || raw === undefined) return IGNORED;
  if (!isRawObject(raw)) {
    const ref = { kind: '<unknown kind>', namespace: '', name: UNNAMED };
    return failed([new ValidationError(ref, ROOT_FIELD, `expected an object, got ${describeValue(raw)}`, source)]);
  }
  const ref = identify(raw, defaultNamespace);
  const kind = raw['kind'];
  if (typeof kind !== 'string' || kind === '') {
    return failed([new ValidationError(ref, 'kind', kind === undefined || kind === null || kind === '' ? 'required value' : `expected a string, got ${describeValue(kind)}`, source)]);
  }
  if (kind === 'List' || (kind.endsWith('List') && Object.hasOwn(API_VERSIONS, kind.slice(0, -'List'.length)))) {
    return validateList(raw, kind, source, defaultNamespace);
  }
  const ingressKind = validateIngressKinds(raw, kind, ref, source, defaultNamespace);
  if (ingressKind !== undefined) return ingressKind;
  const expected = Object.hasOwn(API_VERSIONS, kind) ? API_VERSIONS[kind] : undefined;
  if (expected === undefined) return IGNORED;
  const apiVersion = raw['apiVersion'];
  if (apiVersion !== expected) {
    const reason =
      apiVersion === undefined || apiVersion === null || apiVersion === ''
        ? 'required value'
        : typeof apiVersion === 'string'
          ? `unsupported value ${JSON.stringify(apiVersion)}: supported values: ${JSON.stringify(expected)}`
          : `expected a string, got ${describeValue(apiVersion)}`;
    return failed([new ValidationError(ref, 'apiVersion', reason, source)]);
  }
  switch (kind) {
    case 'Service':
      return fromValidated(validateService(raw, source, defaultNamespace), (value) => [{ kind: 'Service', value }]);
    case 'EndpointSlice':
      return fromValidated(validateEndpointSlice(raw, source, defaultNamespace), (value) => [{ kind: 'EndpointSlice', value }]);
    case 'Endpoints':
      return fromValidated(validateEndpoints(raw, source, defaultNamespace), (slices) =>
        slices.map((value) => ({ kind: 'EndpointSlice', value }) as const),
      );
    case 'Namespace':
      return fromValidated(validateNamespace(raw, source), (value) => [{ kind: 'Namespace', value }]);
    default:
      return fromValidated(validateNode(raw, source), (value) => [{ kind: 'Node', value }]);
  }
}
