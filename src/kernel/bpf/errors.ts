// Typed BPF failures. Callers branch on the class (and on `errnoName` for kernel
// refusals: ENOENT, EEXIST, EPERM...), people read `message`.

import { SvcplaneError, type ErrorCode } from '../../util/errors.js';
import { SyscallError, errnoNameOf } from '../errors.js';

/** A bpf() system call, a libbpf function or a libc call failed with an errno. */
export class BpfError extends SyscallError {
  override readonly code: ErrorCode = 'SVCPLANE_BPF_ERRNO';
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
