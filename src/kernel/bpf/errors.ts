// Typed BPF failures. Callers branch on the class (and on `errnoName` for kernel
// refusals: ENOENT, EEXIST, EPERM...), people read `message`.

import { SvcplaneError, type ErrorCode } from '../../util/errors.js';
import { errnoNameOf } from '../netlink/errors.js';

/** A bpf() system call, a libbpf function or a libc call failed with an errno. */
export class BpfError extends SvcplaneError {
  override readonly code: ErrorCode = 'SVCPLANE_BPF_ERRNO';
  /** Positive errno, e.g. 2. */
  readonly errno: number;
  /** Its name, e.g. "ENOENT" (or "E<number>" when unknown). */
  readonly errnoName: string;
  /** What was being done, e.g. "bpf_map_update_elem svcp_lb4_svc". */
  readonly operation: string;

  constructor(errno: number, operation: string, message?: string) {
    const name = errnoNameOf(errno);
    super(message ?? `${operation}: ${name}`);
    this.errno = errno;
    this.errnoName = name;
    this.operation = operation;
  }
}

/** bpf_object__load failed: usually the verifier refused a program; `log` holds the end of its log. */
export class BpfLoadError extends BpfError {
  override readonly code: ErrorCode = 'SVCPLANE_BPF_LOAD';
  /** The last lines libbpf printed while loading (the verifier's log tail), newest last. */
  readonly log: string;

  constructor(errno: number, file: string, log: string) {
    const tail = log.trim() === '' ? '' : `\n${log.trimEnd()}`;
    super(errno, `bpf_object__load ${file}`, `loading BPF object ${file} failed: ${errnoNameOf(errno)}${tail}`);
    this.log = log;
  }
}

/** The loader used the wrong way: unknown program or map, wrong key size, closed object... */
export class BpfUsageError extends SvcplaneError {
  override readonly code = 'SVCPLANE_BPF_USAGE';
}
