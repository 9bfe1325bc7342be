// The userspace mode's errors, with stable codes.
import { SvcplaneError } from '../../util/errors.js';

/** A service port's listener could not be opened (that service only; the others keep working). */
export class ListenerError extends SvcplaneError {
  override readonly code = 'SVCPLANE_USERSPACE_LISTENER';
  constructor(
    readonly servicePort: string,
    readonly address: string,
    readonly port: number,
    cause: unknown,
  ) {
    super(`service port ${servicePort}: cannot listen on ${address}:${port}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** No backend of a service port accepted a connection within kube-proxy's timeouts. */
export class DialError extends SvcplaneError {
  override readonly code = 'SVCPLANE_USERSPACE_DIAL';
}
