// core/v1 Namespace -> Namespace: only its name (cluster DNS: a namespace exists once its
// Namespace object or any Service in it is known).
import { dns1123LabelError } from './names.js';
import type { Namespace } from './types.js';
import type { Validated } from './validate.js';
import { readMetadata } from './validate-fields.js';

export function validateNamespace(raw: unknown, source?: string): Validated<Namespace> {
  const meta = readMetadata(raw, { kind: 'Namespace', source, defaultNamespace: undefined, nameCheck: dns1123LabelError });
  if (!meta.obj || meta.errs.errors.length > 0) return { ok: false, errors: meta.errs.errors };
  return { ok: true, value: { name: meta.name } };
}
