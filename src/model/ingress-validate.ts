// networking.k8s.io/v1 Ingress -> Ingress, and the legacy shape the source
// document uses (networking.k8s.io/v1beta1 and extensions/v1beta1: serviceName,
// servicePort, spec.backend, pathType optional) converted to v1 on the way.
import {
  ANNOTATION_INGRESS_CLASS,
  NGINX_ANNOTATION_PREFIX,
  PATH_TYPES,
  type Ingress,
  type IngressAnnotations,
  type IngressBackend,
  type IngressPath,
  type IngressRule,
  type IngressTLS,
  type PathType,
} from './ingress-types.js';
import { appRootError, captureGroups, ingressHostError, literalPathError, regexPathError, rewriteTargetError } from './ingress-strings.js';
import { dns1123LabelError, dns1123SubdomainError, ianaSvcNameError } from './names.js';
import type { Validated } from './validate.js';
import { checkName, describeValue, enumValue, type FieldErrors, optList, optObject, optString, readMetadata, unsupportedReason } from './validate-fields.js';

export const INGRESS_API_VERSIONS = ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1', 'extensions/v1beta1'] as const;
const V1 = 'networking.k8s.io/v1';

function annotationPath(name: string): string {
  return `metadata.annotations[${name}]`;
}

function readBool(errs: FieldErrors, annotations: Readonly<Record<string, string>>, name: string): boolean | undefined {
  const value = annotations[NGINX_ANNOTATION_PREFIX + name];
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  errs.add(annotationPath(NGINX_ANNOTATION_PREFIX + name), unsupportedReason(value, ['true', 'false']));
  return undefined;
}

function readOptions(errs: FieldErrors, annotations: Readonly<Record<string, string>>): IngressAnnotations {
  const rewriteTarget = annotations[`${NGINX_ANNOTATION_PREFIX}rewrite-target`];
  const appRoot = annotations[`${NGINX_ANNOTATION_PREFIX}app-root`];
  const checked = (value: string | undefined, name: string, check: (v: string) => string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const reason = check(value);
    if (reason === undefined) return value;
    errs.add(annotationPath(NGINX_ANNOTATION_PREFIX + name), `invalid value ${JSON.stringify(value)}: ${reason}`);
    return undefined;
  };
  const target = checked(rewriteTarget, 'rewrite-target', rewriteTargetError);
  return {
    // As in ingress-nginx, a rewrite target makes the paths regular expressions.
    useRegex: (readBool(errs, annotations, 'use-regex') ?? false) || rewriteTarget !== undefined,
    rewriteTarget: target,
    appRoot: checked(appRoot, 'app-root', appRootError),
    sslRedirect: readBool(errs, annotations, 'ssl-redirect'),
    serviceUpstream: readBool(errs, annotations, 'service-upstream'),
  };
}

function readBackend(errs: FieldErrors, value: unknown, path: string, legacy: boolean): IngressBackend | undefined {
  const raw = optObject(errs, value, path);
  if (!raw) {
    if (value === undefined || value === null) errs.add(path, 'required value');
    return undefined;
  }
  if (raw['resource'] !== undefined) {
    errs.add(`${path}.resource`, 'resource backends are not supported; use a service backend');
    return undefined;
  }
  if (legacy && raw['service'] === undefined) {
    const service = optString(errs, raw['serviceName'], `${path}.serviceName`);
    const port = raw['servicePort'];
    return finishBackend(errs, path, service, 'serviceName', typeof port === 'string' ? port : undefined, typeof port === 'number' ? port : undefined, port, 'servicePort');
  }
  const service = optObject(errs, raw['service'], `${path}.service`);
  if (!service) {
    if (raw['service'] === undefined || raw['service'] === null) errs.add(`${path}.service`, 'required value');
    return undefined;
  }
  const port = optObject(errs, service['port'], `${path}.service.port`);
  const name = optString(errs, port?.['name'], `${path}.service.port.name`);
  const rawNumber = port?.['number'];
  if (rawNumber !== undefined && typeof rawNumber !== 'number') errs.add(`${path}.service.port.number`, `expected an integer, got ${describeValue(rawNumber)}`);
  const number = typeof rawNumber === 'number' ? rawNumber : undefined;
  if (name !== undefined && number !== undefined) {
    errs.add(`${path}.service.port`, 'may not specify both name and number');
    return undefined;
  }
  return finishBackend(errs, `${path}.service`, optString(errs, service['name'], `${path}.service.name`), 'name', name, number, port === undefined ? undefined : (name ?? number), 'port');
}

function finishBackend(
  errs: FieldErrors,
  path: string,
  service: string | undefined,
  serviceField: string,
  portName: string | undefined,
  portNumber: number | undefined,
  rawPort: unknown,
  portField: string,
): IngressBackend | undefined {
  let ok = true;
  if (service === undefined || service === '') {
    errs.add(`${path}.${serviceField}`, 'required value');
    ok = false;
  } else ok = checkName(errs, service, `${path}.${serviceField}`, dns1123LabelError) && ok;
  const portPath = `${path}.${portField}`;
  if (rawPort === undefined || rawPort === null || rawPort === '') {
    errs.add(portPath, 'required value');
    return undefined;
  }
  if (portNumber !== undefined) {
    if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
      errs.add(portPath, `invalid value ${portNumber}: must be between 1 and 65535, inclusive`);
      return undefined;
    }
    return ok && service !== undefined ? { service, port: portNumber } : undefined;
  }
  if (portName === undefined) {
    errs.add(portPath, `expected a port name or number, got ${describeValue(rawPort)}`);
    return undefined;
  }
  if (!checkName(errs, portName, portPath, ianaSvcNameError)) return undefined;
  return ok && service !== undefined ? { service, port: portName } : undefined;
}

function readPath(errs: FieldErrors, item: unknown, field: string, legacy: boolean, options: IngressAnnotations): IngressPath | undefined {
  const raw = optObject(errs, item, field);
  if (!raw) return undefined;
  const rawType = raw['pathType'];
  let pathType: PathType;
  if (rawType === undefined || rawType === null || rawType === '') {
    if (!legacy) {
      errs.add(`${field}.pathType`, `required value: supported values: ${PATH_TYPES.map((t) => JSON.stringify(t)).join(', ')}`);
      return undefined;
    }
    pathType = 'ImplementationSpecific';
  } else {
    const before = errs.errors.length;
    pathType = enumValue(errs, rawType, `${field}.pathType`, PATH_TYPES, 'ImplementationSpecific');
    if (errs.errors.length > before) return undefined;
  }
  let path = optString(errs, raw['path'], `${field}.path`) ?? '';
  if (path === '') {
    if (pathType !== 'ImplementationSpecific') {
      errs.add(`${field}.path`, `required value for pathType ${pathType}`);
      return undefined;
    }
    path = '/';
  }
  const regex = options.useRegex && pathType !== 'Exact';
  const reason = regex ? regexPathError(path) : literalPathError(path);
  if (reason !== undefined) {
    errs.add(`${field}.path`, `invalid value ${JSON.stringify(path)}: ${reason}`);
    return undefined;
  }
  const target = options.rewriteTarget;
  const highest = target === undefined ? 0 : Math.max(0, ...[...target.matchAll(/\$([1-9])/g)].map((m) => Number(m[1])));
  if (regex && highest > captureGroups(path)) {
    errs.add(`${field}.path`, `the rewrite target uses $${highest} but ${JSON.stringify(path)} has ${captureGroups(path)} capture groups`);
    return undefined;
  }
  const backend = readBackend(errs, raw['backend'], `${field}.backend`, legacy);
  return backend === undefined ? undefined : { path, pathType, backend, field };
}

function readHost(errs: FieldErrors, value: unknown, path: string): string | undefined {
  const before = errs.errors.length;
  const host = optString(errs, value, path);
  if (host === undefined || host === '') return errs.errors.length > before ? undefined : '';
  const reason = ingressHostError(host);
  if (reason === undefined) return host;
  errs.add(path, `invalid value ${JSON.stringify(host)}: ${reason}`);
  return undefined;
}

function readRules(errs: FieldErrors, spec: Readonly<Record<string, unknown>>, legacy: boolean, options: IngressAnnotations): IngressRule[] {
  const rules: IngressRule[] = [];
  optList(errs, spec['rules'], 'spec.rules').forEach((item, i) => {
    const field = `spec.rules[${i}]`;
    const raw = optObject(errs, item, field);
    if (!raw) return;
    const host = readHost(errs, raw['host'], `${field}.host`);
    const http = optObject(errs, raw['http'], `${field}.http`);
    const paths = optList(errs, http?.['paths'], `${field}.http.paths`)
      .map((p, j) => readPath(errs, p, `${field}.http.paths[${j}]`, legacy, options))
      .filter((p): p is IngressPath => p !== undefined);
    if (http !== undefined && paths.length === 0 && (http['paths'] === undefined || http['paths'] === null)) errs.add(`${field}.http.paths`, 'required value');
    if (host !== undefined) rules.push({ host, paths, field });
  });
  return rules;
}

function readTLS(errs: FieldErrors, spec: Readonly<Record<string, unknown>>): IngressTLS[] {
  const out: IngressTLS[] = [];
  optList(errs, spec['tls'], 'spec.tls').forEach((item, i) => {
    const field = `spec.tls[${i}]`;
    const raw = optObject(errs, item, field);
    if (!raw) return;
    const hosts = optList(errs, raw['hosts'], `${field}.hosts`)
      .map((h, j) => readHost(errs, h, `${field}.hosts[${j}]`))
      .filter((h): h is string => h !== undefined && h !== '');
    const secretName = optString(errs, raw['secretName'], `${field}.secretName`) ?? '';
    if (secretName !== '') checkName(errs, secretName, `${field}.secretName`, dns1123SubdomainError);
    out.push({ hosts, secretName, field });
  });
  return out;
}

function readCreatedAt(errs: FieldErrors, meta: unknown): number | undefined {
  const raw = optObject(errs, meta, 'metadata');
  const value = optString(errs, raw?.['creationTimestamp'], 'metadata.creationTimestamp');
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) errs.add('metadata.creationTimestamp', `invalid value ${JSON.stringify(value)}: must be an RFC 3339 time`);
  return Number.isNaN(ms) ? undefined : ms;
}

export function validateIngress(raw: unknown, source?: string, defaultNamespace = 'default'): Validated<Ingress> {
  const meta = readMetadata(raw, { kind: 'Ingress', source, defaultNamespace, nameCheck: dns1123SubdomainError });
  const { errs } = meta;
  if (!meta.obj) return { ok: false, errors: errs.errors };
  const legacy = meta.obj['apiVersion'] !== V1;
  const spec = optObject(errs, meta.obj['spec'], 'spec') ?? {};
  const options = readOptions(errs, meta.annotations);
  const backendField = legacy && spec['defaultBackend'] === undefined ? 'backend' : 'defaultBackend';
  const rawDefault = spec[backendField];
  const defaultBackend = rawDefault === undefined || rawDefault === null ? undefined : readBackend(errs, rawDefault, `spec.${backendField}`, legacy);
  let ingressClassName = optString(errs, spec['ingressClassName'], 'spec.ingressClassName');
  if (ingressClassName !== undefined && ingressClassName !== '') checkName(errs, ingressClassName, 'spec.ingressClassName', dns1123SubdomainError);
  if (ingressClassName === undefined || ingressClassName === '') ingressClassName = meta.annotations[ANNOTATION_INGRESS_CLASS];
  const rules = readRules(errs, spec, legacy, options);
  const tls = readTLS(errs, spec);
  const createdAt = readCreatedAt(errs, meta.obj['metadata']);
  if (rules.length === 0 && defaultBackend === undefined && errs.errors.length === 0) {
    errs.add('spec', 'either spec.defaultBackend or spec.rules must be specified');
  }
  if (errs.errors.length > 0) return { ok: false, errors: errs.errors };
  return {
    ok: true,
    value: { namespace: meta.namespace, name: meta.name, ingressClassName, defaultBackend, rules, tls, options, createdAt, annotations: meta.annotations },
  };
}
