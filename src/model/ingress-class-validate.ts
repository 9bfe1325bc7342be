// networking.k8s.io/v1 IngressClass -> IngressClass: which controller serves a class.
import { ANNOTATION_DEFAULT_CLASS, type IngressClass } from './ingress-types.js';
import { dns1123SubdomainError } from './names.js';
import type { Validated } from './validate.js';
import { optObject, optString, readMetadata } from './validate-fields.js';

export const INGRESS_CLASS_API_VERSIONS = ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1'] as const;
/** A domain-prefixed path, as the API requires of spec.controller. */
const CONTROLLER = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9\-._/]+$/;

export function validateIngressClass(raw: unknown, source?: string): Validated<IngressClass> {
  const meta = readMetadata(raw, { kind: 'IngressClass', source, defaultNamespace: undefined, nameCheck: dns1123SubdomainError });
  const { errs } = meta;
  if (!meta.obj) return { ok: false, errors: errs.errors };
  const spec = optObject(errs, meta.obj['spec'], 'spec');
  const controller = optString(errs, spec?.['controller'], 'spec.controller');
  if (controller === undefined || controller === '') errs.add('spec.controller', 'required value');
  else if (!CONTROLLER.test(controller) || controller.length > 250) {
    errs.add('spec.controller', `invalid value ${JSON.stringify(controller)}: must be a domain-prefixed path (e.g. "svcplane.io/ingress")`);
  }
  if (errs.errors.length > 0 || controller === undefined) return { ok: false, errors: errs.errors };
  return { ok: true, value: { name: meta.name, controller, isDefault: meta.annotations[ANNOTATION_DEFAULT_CLASS] === 'true' } };
}
