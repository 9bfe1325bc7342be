// The Ingress controller's kinds (Ingress, IngressClass, kubernetes.io/tls
// Secret) for validateObject: each has several accepted apiVersions.
import { ValidationError } from './errors.js';
import { validateIngressClass, INGRESS_CLASS_API_VERSIONS } from './ingress-class-validate.js';
import { INGRESS_API_VERSIONS, validateIngress } from './ingress-validate.js';
import type { ObjectRef } from './types.js';
import type { ValidateResult } from './validate.js';
import { describeValue, type RawObject, unsupportedReason } from './validate-fields.js';
import { isTLSSecret, validateTLSSecret } from './secret-validate.js';

const VERSIONS: Readonly<Record<string, readonly string[]>> = {
  Ingress: INGRESS_API_VERSIONS,
  IngressClass: INGRESS_CLASS_API_VERSIONS,
  Secret: ['v1'],
};

/** undefined when `kind` is none of these (or a Secret of another type, which is not ours). */
export function validateIngressKinds(raw: RawObject, kind: string, ref: ObjectRef, source: string | undefined, defaultNamespace: string): ValidateResult | undefined {
  const versions = Object.hasOwn(VERSIONS, kind) ? VERSIONS[kind] : undefined;
  if (versions === undefined || (kind === 'Secret' && !isTLSSecret(raw))) return undefined;
  const apiVersion = raw['apiVersion'];
  if (typeof apiVersion !== 'string' || !versions.includes(apiVersion)) {
    const reason =
      apiVersion === undefined || apiVersion === null || apiVersion === ''
        ? 'required value'
        : typeof apiVersion === 'string'
          ? unsupportedReason(apiVersion, versions)
          : `expected a string, got ${describeValue(apiVersion)}`;
    return { objects: [], errors: [new ValidationError(ref, 'apiVersion', reason, source)], ignored: false };
  }
  const done = <T>(result: { ok: true; value: T } | { ok: false; errors: readonly ValidationError[] }, wrap: (value: T) => ValidateResult['objects'][number]): ValidateResult =>
    result.ok ? { objects: [wrap(result.value)], errors: [], ignored: false } : { objects: [], errors: result.errors, ignored: false };
  switch (kind) {
    case 'Ingress':
      return done(validateIngress(raw, source, defaultNamespace), (value) => ({ kind: 'Ingress', value }));
    case 'IngressClass':
      return done(validateIngressClass(raw, source), (value) => ({ kind: 'IngressClass', value }));
    default:
      return done(validateTLSSecret(raw, source, defaultNamespace), (value) => ({ kind: 'Secret', value }));
  }
}
