import { SvcplaneError } from '../util/errors.js';
import type { ObjectRef } from './types.js';

/**
 * One problem with one object: names the object, the field path and the reason.
 * `source` is where it came from (a file and line, or 'kubernetes').
 */
export class ValidationError extends SvcplaneError {
  override readonly code = 'SVCPLANE_INVALID_OBJECT';
  constructor(
    readonly ref: ObjectRef,
    readonly field: string,
    readonly reason: string,
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}: ${field}: ${reason}`);
  }
}
