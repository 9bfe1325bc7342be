// A netlink socket over libc (through koffi), with a synchronous API:
//
//   const sock = NetlinkSocket.open({ protocol: NETLINK_GENERIC });
//   const replies = sock.request(bytes);        // one request, its replies
//   const errors = sock.requestBatch(batch);    // many acked requests, one send
//   sock.close();
//
// Why synchronous: the kernel handles generic and route netlink requests
// inside the send call, so the replies are already queued when recv runs;
// a blocking recv returns at once, and SO_RCVTIMEO bounds it should the
// kernel ever stay silent. Each call blocks the calling thread that long.
//
// Replies are matched to requests by sequence number: anything else (stale
// replies of a request that timed out) is skipped. NLM_F_ACK requests return
// at their ack, NLM_F_DUMP requests at NLMSG_DONE. Kernel refusals, failed
// system calls and timeouts throw NetlinkError (errno name, extended ack).

import { parseAck, parseDone, parseMessages, readHeader, type NetlinkMessage } from './codec.js';
import {
  AF_NETLINK,
  MSG_TRUNC,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
} from './constants.js';
import { NetlinkError, NetlinkUsageError } from './errors.js';
import { systemLibc, type SocketLibc } from '../libc.js';
import { inNetns } from '../netns.js';

const EINTR = 4;
const EAGAIN = 11;
const EPERM = 1;
const EMSGSIZE = 90;
const ENOBUFS = 105;
const ETIMEDOUT = 110;
const SOCKADDR_NL_LEN = 12;

export interface NetlinkSocketOptions {
  /** NETLINK_ROUTE, NETLINK_GENERIC... */
  readonly protocol: number;
  /** Open the socket in this network namespace (a path like /var/run/netns/NAME). */
  readonly netns?: string;
  /** How long one recv may wait for the kernel (SO_RCVTIMEO). Default 10 s. */
  readonly timeoutMs?: number;
  /** SO_RCVBUF(FORCE): room for a batch's acks. Default 4 MiB. */
  readonly receiveBufferBytes?: number;
  /** SO_SNDBUF(FORCE): a send may not exceed it. Default 1 MiB. */
  readonly sendBufferBytes?: number;
  /** A batch is sent in chunks of at most this many messages... Default 256. */
  readonly maxBatchMessages?: number;
  /** ...and at most this many bytes. Default 64 KiB. */
  readonly maxBatchBytes?: number;
  /** libc bindings (tests may pass fakes). */
  readonly libc?: SocketLibc;
}

export class NetlinkSocket {
  readonly protocol: number;
  /** The port id the kernel gave this socket (nlmsg_pid of its replies). */
  readonly portId: number;
  private fd: number;
  private seq: number;
  private rbuf = new Uint8Array(64 * 1024);
  private readonly peer = new Uint8Array(SOCKADDR_NL_LEN);
  private readonly maxBatchMessages: number;
  private readonly maxBatchBytes: number;

  private constructor(
    private readonly libc: SocketLibc,
    fd: number,
    protocol: number,
    portId: number,
    options: NetlinkSocketOptions,
  ) {
    this.fd = fd;
    this.protocol = protocol;
    this.portId = portId;
    // Any start works; a time-based one keeps two sockets' logs apart (as libnl does).
    this.seq = Math.floor(Date.now() / 1000) >>> 0;
    new DataView(this.peer.buffer).setUint16(0, AF_NETLINK, true); // the kernel: pid 0
    this.maxBatchMessages = options.maxBatchMessages ?? 256;
    this.maxBatchBytes = options.maxBatchBytes ?? 64 * 1024;
  }

  static open(options: NetlinkSocketOptions): NetlinkSocket {
    const libc = options.libc ?? systemLibc();
    const create = (): number => libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, options.protocol);
    const fd = options.netns === undefined ? create() : inNetns(libc, options.netns, create);
    if (fd < 0) throw new NetlinkError(libc.errno(), { operation: 'socket' });
    try {
      setBuffer(libc, fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sendBufferBytes ?? 1024 * 1024);
      setBuffer(libc, fd, SO_RCVBUFFORCE, SO_RCVBUF, options.receiveBufferBytes ?? 4 * 1024 * 1024);
      // Extended acks carry the kernel's reason; capped acks keep a batch's errors small.
      // Kernels without them refuse (ENOPROTOOPT): that only costs detail.
      libc.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, int32(1), 4);
      libc.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, int32(1), 4);
      const timeout = options.timeoutMs ?? 10_000;
      const timeval = new Uint8Array(16); // struct timeval { long tv_sec; long tv_usec; }
      const tv = new DataView(timeval.buffer);
      tv.setBigInt64(0, BigInt(Math.floor(timeout / 1000)), true);
      tv.setBigInt64(8, BigInt((timeout % 1000) * 1000), true);
      check(libc, libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16), 'setsockopt SO_RCVTIMEO');
      const addr = new Uint8Array(SOCKADDR_NL_LEN); // struct sockaddr_nl, nl_pid 0: the kernel picks
      new DataView(addr.buffer).setUint16(0, AF_NETLINK, true);
      check(libc, libc.bind(fd, addr, SOCKADDR_NL_LEN), 'bind');
      const length = [SOCKADDR_NL_LEN];
      check(libc, libc.getsockname(fd, addr, length), 'getsockname');
      const portId = new DataView(addr.buffer).getUint32(4, true);
      return new NetlinkSocket(libc, fd, options.protocol, portId, options);
    } catch (err) {
      libc.close(fd);
      throw err;
    }
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** The next sequence number (never 0). */
  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  /**
   * Sends one request and returns its reply messages (their `data` stays valid).
   * Returns at the ack (NLM_F_ACK), at NLMSG_DONE (NLM_F_DUMP), or else at the
   * first reply: a request with neither flag that gets no reply times out.
   */
  request(message: Uint8Array, operation = 'request'): NetlinkMessage[] {
    const header = readHeader(message);
    if (header.length !== message.length) {
      throw new NetlinkUsageError(`request() takes one message (${header.length} of ${message.length} bytes); use requestBatch()`);
    }
    const dump = (header.flags & NLM_F_DUMP) === NLM_F_DUMP;
    const wantAck = (header.flags & NLM_F_ACK) !== 0;
    this.send(message, operation);
    const replies: NetlinkMessage[] = [];
    let interrupted = false;
    let multi = false;
    for (;;) {
      for (const msg of this.receive(operation)) {
        if (!this.isReplyTo(msg, header.seq) || msg.type === NLMSG_NOOP) continue;
        if (msg.type === NLMSG_OVERRUN) throw new NetlinkError(ENOBUFS, { operation }, `netlink ${operation}: data lost (NLMSG_OVERRUN)`);
        if (msg.type === NLMSG_ERROR) {
          const ack = parseAck(msg);
          if (ack.errno !== 0) throw errorFromAck(ack, operation);
          return replies;
        }
        if (msg.type === NLMSG_DONE) {
          const done = parseDone(msg);
          if (done.errno !== 0) throw errorFromAck(done, operation);
          if (interrupted) {
            throw new NetlinkError(EINTR, { operation }, `netlink ${operation}: dump interrupted by a concurrent change (NLM_F_DUMP_INTR); retry`);
          }
          if (!wantAck || dump) return replies;
          continue;
        }
        if ((msg.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
        if ((msg.flags & NLM_F_MULTI) !== 0) multi = true;
        replies.push(msg);
        if (!dump && !wantAck && !multi) return replies;
      }
    }
  }

  /**
   * Sends many requests, each with NLM_F_ACK and none a dump, written back to
   * back (one NetlinkEncoder), in as few sends as the limits allow. The kernel
   * goes on after a failed message, so the result has one entry per message:
   * undefined for success, or its NetlinkError.
   *
   * `atomic`: one send, whatever its size (an nfnetlink transaction must reach
   * the kernel whole), and messages without NLM_F_ACK (the batch's begin and
   * end) are not waited for; an error naming one (a failed commit names the
   * begin) lands in its entry.
   */
  requestBatch(messages: Uint8Array, describe: (index: number) => string = (i) => `batch[${i}]`, opts: { readonly atomic?: boolean } = {}): (NetlinkError | undefined)[] {
    const atomic = opts.atomic === true;
    const parsed = parseMessages(messages);
    const results: (NetlinkError | undefined)[] = new Array<NetlinkError | undefined>(parsed.length).fill(undefined);
    const indexOfSeq = new Map<number, number>();
    parsed.forEach((msg, i) => {
      if (((msg.flags & NLM_F_ACK) === 0 && !atomic) || (msg.flags & NLM_F_DUMP) === NLM_F_DUMP) {
        throw new NetlinkUsageError(`batch message ${i} must have NLM_F_ACK and must not be a dump`);
      }
      if (indexOfSeq.has(msg.seq)) throw new NetlinkUsageError(`batch messages ${indexOfSeq.get(msg.seq)} and ${i} share seq ${msg.seq}`);
      indexOfSeq.set(msg.seq, i);
    });
    const acked = new Uint8Array(parsed.length);
    let first = 0;
    while (first < parsed.length) {
      let last = atomic ? parsed.length : first; // exclusive end of this chunk
      const start = parsed[first]?.offset ?? 0;
      while (last < parsed.length && last - first < this.maxBatchMessages) {
        const end = parsed[last + 1]?.offset ?? messages.length;
        if (last > first && end - start > this.maxBatchBytes) break;
        last++;
      }
      const end = parsed[last]?.offset ?? messages.length;
      this.send(messages.subarray(start, end), describe(first));
      let pending = 0;
      for (let i = first; i < last; i++) if (((parsed[i]?.flags ?? 0) & NLM_F_ACK) !== 0) pending++;
      while (pending > 0) {
        for (const msg of this.receive(describe(first))) {
          const index = indexOfSeq.get(msg.seq);
          if (index === undefined || index < first || index >= last || msg.type !== NLMSG_ERROR) continue;
          if ((msg.pid !== 0 && msg.pid !== this.portId) || acked[index] === 1) continue;
          const ack = parseAck(msg);
          if (ack.errno !== 0) results[index] = errorFromAck(ack, describe(index));
          if (((parsed[index]?.flags ?? 0) & NLM_F_ACK) === 0) continue;
          acked[index] = 1;
          pending--;
        }
      }
      first = last;
    }
    return results;
  }

  close(): void {
    if (this.fd < 0) return;
    this.libc.close(this.fd);
    this.fd = -1;
  }

  private isReplyTo(msg: NetlinkMessage, seq: number): boolean {
    return msg.seq === seq && (msg.pid === 0 || msg.pid === this.portId);
  }

  private send(bytes: Uint8Array, operation: string): void {
    const fd = this.liveFd();
    for (;;) {
      const n = this.libc.sendto(fd, bytes, bytes.length, 0, this.peer, SOCKADDR_NL_LEN);
      if (n === bytes.length) return;
      if (n >= 0) throw new NetlinkError(EMSGSIZE, { operation }, `netlink ${operation}: short send (${n} of ${bytes.length} bytes)`);
      const errno = this.libc.errno();
      if (errno !== EINTR) throw new NetlinkError(errno, { operation: `${operation}: sendto` });
    }
  }

  /** One datagram's messages, copied out of the receive buffer. */
  private receive(operation: string): NetlinkMessage[] {
    const fd = this.liveFd();
    for (;;) {
      const n = this.libc.recv(fd, this.rbuf, this.rbuf.length, MSG_TRUNC);
      if (n > this.rbuf.length) {
        // The datagram is lost; a bigger buffer serves the next request. (Dump
        // datagrams are at most 32 KiB, so this is a single huge reply, never
        // a dump left half-read in the kernel.)
        this.rbuf = new Uint8Array(n);
        throw new NetlinkError(EMSGSIZE, { operation }, `netlink ${operation}: reply of ${n} bytes was truncated`);
      }
      if (n >= 0) return parseMessages(this.rbuf.slice(0, n));
      const errno = this.libc.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) throw new NetlinkError(ETIMEDOUT, { operation }, `netlink ${operation}: no reply from the kernel in time`);
      throw new NetlinkError(errno, { operation: `${operation}: recv` });
    }
  }

  private liveFd(): number {
    if (this.fd < 0) throw new NetlinkUsageError('netlink socket is closed');
    return this.fd;
  }
}

function errorFromAck(ack: { errno: number; extackMessage?: string; extackOffset?: number }, operation: string): NetlinkError {
  return new NetlinkError(ack.errno, {
    operation,
    ...(ack.extackMessage !== undefined ? { extackMessage: ack.extackMessage } : {}),
    ...(ack.extackOffset !== undefined ? { extackOffset: ack.extackOffset } : {}),
  });
}

/** The FORCE variant passes rmem_max/wmem_max but needs CAP_NET_ADMIN; else the plain one. */
function setBuffer(libc: SocketLibc, fd: number, force: number, plain: number, bytes: number): void {
  if (libc.setsockopt(fd, SOL_SOCKET, force, int32(bytes), 4) === 0) return;
  if (libc.errno() !== EPERM) throw new NetlinkError(libc.errno(), { operation: 'setsockopt buffer size' });
  check(libc, libc.setsockopt(fd, SOL_SOCKET, plain, int32(bytes), 4), 'setsockopt buffer size');
}

function check(libc: SocketLibc, result: number, operation: string): void {
  if (result < 0) throw new NetlinkError(libc.errno(), { operation });
}

function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}
