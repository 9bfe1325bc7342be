// A SocketLibc stand-in for unit tests of the socket and clients: it plays the
// kernel, answering each sent datagram with the datagrams `reply` returns.
// recv hands them out one per call and fails with EAGAIN (as SO_RCVTIMEO
// does) when none is left.

import { parseMessages, type NetlinkMessage } from './codec.js';
import { AF_NETLINK, MSG_TRUNC } from './constants.js';
import type { SocketLibc } from '../libc.js';

const EAGAIN = 11;
const EINTR = 4;

export class FakeLibc implements SocketLibc {
  /** Every datagram sent, in order. */
  readonly sent: Uint8Array[] = [];
  /** Datagrams waiting for recv; tests may push stale ones or 'EINTR'. */
  readonly queue: (Uint8Array | 'EINTR')[] = [];
  closedFds: number[] = [];
  private lastErrno = 0;

  constructor(
    private readonly reply: (messages: NetlinkMessage[]) => Uint8Array[],
    readonly portId = 4242,
  ) {}

  socket(): number {
    return 7;
  }
  bind(): number {
    return 0;
  }
  getsockname(_fd: number, addr: Uint8Array): number {
    const view = new DataView(addr.buffer, addr.byteOffset, addr.byteLength);
    view.setUint16(0, AF_NETLINK, true);
    view.setUint32(4, this.portId, true);
    return 0;
  }
  setsockopt(): number {
    return 0;
  }
  sendto(_fd: number, buf: Uint8Array, length: number): number {
    const copy = buf.slice(0, length);
    this.sent.push(copy);
    this.queue.push(...this.reply(parseMessages(copy)));
    return length;
  }
  recv(_fd: number, buf: Uint8Array, length: number, flags: number): number {
    const next = this.queue.shift();
    if (next === undefined) return this.fail(EAGAIN);
    if (next === 'EINTR') return this.fail(EINTR);
    buf.set(next.subarray(0, Math.min(length, next.length)));
    return (flags & MSG_TRUNC) !== 0 ? next.length : Math.min(length, next.length);
  }
  close(fd: number): number {
    this.closedFds.push(fd);
    return 0;
  }
  setns(): number {
    return 0;
  }
  errno(): number {
    return this.lastErrno;
  }

  private fail(errno: number): number {
    this.lastErrno = errno;
    return -1;
  }
}
