// Failures of system calls, shared by the netlink and BPF layers. Callers
// branch on the class and on `errnoName` (ENOENT, EEXIST, EPERM...).

import { getSystemErrorName } from 'node:util';
import { SvcplaneError, type ErrorCode } from '../util/errors.js';

/** A libc call failed with an errno (setns, unshare, opening a namespace file...). */
export class SyscallError extends SvcplaneError {
  override readonly code: ErrorCode = 'SVCPLANE_SYSCALL';
  /** Positive errno, e.g. 2. */
  readonly errno: number;
  /** Its name, e.g. "ENOENT" (or "E<number>" when unknown). */
  readonly errnoName: string;
  /** What was being done, e.g. "setns /run/netns/a". */
  readonly operation: string;

  constructor(errno: number, operation: string, message?: string) {
    const name = errnoNameOf(errno);
    super(message ?? `${operation}: ${name}`);
    this.errno = errno;
    this.errnoName = name;
    this.operation = operation;
  }
}

/** Linux's EOPNOTSUPP and ENOTSUP are one number; the kernel speaks of EOPNOTSUPP. */
const EOPNOTSUPP = 95;

/** "ENOENT" for 2; "E<n>" for numbers Node does not know. */
export function errnoNameOf(errno: number): string {
  if (!Number.isInteger(errno) || errno <= 0) return `E${errno}`;
  if (errno === EOPNOTSUPP) return 'EOPNOTSUPP';
  try {
    const name = getSystemErrorName(-errno);
    return /^E[A-Z0-9]+$/.test(name) ? name : `E${errno}`;
  } catch {
    return `E${errno}`;
  }
}

/** The positive errno of a failed node:fs call (ENOENT when Node gave none). */
export function fsErrno(err: unknown): number {
  const errno = (err as NodeJS.ErrnoException).errno;
  return typeof errno === 'number' && errno !== 0 ? Math.abs(errno) : 2;
}
