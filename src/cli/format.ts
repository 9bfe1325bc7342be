import type { ValidationError } from '../model/errors.js';

/** One line per problem: `examples/bad.yaml:3: Service default/web: spec.ports[0].port: must be ... (skipped)`. */
export function formatErrors(errors: readonly ValidationError[], suffix?: string): string {
  return errors.map((e) => `${e.message}${suffix ? ` (${suffix})` : ''}\n`).join('');
}
