import { SvcplaneError } from '../../util/errors.js';

/** The eBPF planner was given inputs it cannot plan from (a caller bug or an exhausted id space). */
export class EbpfPlanError extends SvcplaneError {
  override readonly code: string;
  constructor(code: 'EBPF_MAGLEV_TABLE_SIZE' | 'EBPF_ID_SPACE_EXHAUSTED', message: string) {
    super(message);
    this.code = code;
  }
}
