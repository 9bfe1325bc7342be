import { SvcplaneError, type ErrorCode } from '../../util/errors.js';

/** The planner was given inputs it cannot plan from (a caller bug, not a kernel problem). */
export class IptablesPlanError extends SvcplaneError {
  override readonly code: ErrorCode;
  constructor(code: 'SVCPLANE_IPTABLES_FAMILY_MISMATCH', message: string) {
    super(message);
    this.code = code;
  }
}
