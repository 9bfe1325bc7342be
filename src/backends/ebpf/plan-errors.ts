import { SvcplaneError, type ErrorCode } from '../../util/errors.js';

/** The eBPF planner was given inputs it cannot plan from (a caller bug or an exhausted id space). */
export class EbpfPlanError extends SvcplaneError {
  override readonly code: ErrorCode;
  constructor(code: 'SVCPLANE_EBPF_MAGLEV_TABLE_SIZE' | 'SVCPLANE_EBPF_ID_SPACE_EXHAUSTED', message: string) {
    super(message);
    this.code = code;
  }
}
