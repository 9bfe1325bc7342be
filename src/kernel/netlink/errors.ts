// Typed netlink failures. Callers branch on the class (and on `errnoName` for
// kernel refusals: ENOENT, EEXIST, ESRCH...), people read `message`.

import { SvcplaneError } from '../../util/errors.js';
import { SyscallError, errnoNameOf } from '../errors.js';

export { errnoNameOf };

/** Bytes from the kernel (or a test) that do not parse as netlink. */
export class NetlinkDecodeError extends SvcplaneError {
  override readonly code = 'SVCPLANE_NETLINK_DECODE';
  constructor(
    message: string,
    /** Byte offset of the problem inside the buffer being decoded. */
    readonly offset: number,
  ) {
    super(`netlink decode: ${message} (at byte ${offset})`);
  }
}

/** A value that cannot be put into a netlink message (bad address, name too long...). */
export class NetlinkEncodeError extends SvcplaneError {
  override readonly code = 'SVCPLANE_NETLINK_ENCODE';
}

/** The socket API used the wrong way (closed socket, a batch with a dump in it...). */
export class NetlinkUsageError extends SvcplaneError {
  override readonly code = 'SVCPLANE_NETLINK_USAGE';
}

export interface NetlinkErrorDetails {
  /** What was being done, e.g. "IPVS_CMD_NEW_SERVICE" or "recv". */
  readonly operation: string;
  /** Extended ack message (NLMSGERR_ATTR_MSG), when the kernel gave one. */
  readonly extackMessage?: string;
  /** Extended ack offset of the offending attribute (NLMSGERR_ATTR_OFFS). */
  readonly extackOffset?: number;
}

/** A system call or a kernel NLMSG_ERROR failed with an errno. */
export class NetlinkError extends SyscallError {
  override readonly code = 'SVCPLANE_NETLINK_ERRNO';
  readonly extackMessage: string | undefined;
  readonly extackOffset: number | undefined;

  constructor(errno: number, details: NetlinkErrorDetails, message?: string) {
    const extack = details.extackMessage ? `: ${details.extackMessage}` : '';
    super(errno, details.operation, message ?? `netlink ${details.operation}: ${errnoNameOf(errno)}${extack}`);
    this.extackMessage = details.extackMessage;
    this.extackOffset = details.extackOffset;
  }
}
