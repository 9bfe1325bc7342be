// The DNS listeners: UDP and TCP on each configured address (explicit addresses only, so
// the server is never an open resolver by accident). Node sockets, no child processes.
import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
import { canonicalIP } from '../model/ip.js';
import { SvcplaneError } from '../util/errors.js';
import type { QueryHandler, Transport } from './query-handler.js';
import { headerReply, HEADER_LENGTH, RCODE } from './wire.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export class DnsListenError extends SvcplaneError {
  override readonly code = 'SVCPLANE_DNS_LISTEN';
}

/** `IP:PORT` or `[IPv6]:PORT`; the port is required (53 needs no default to be explicit). */
export function parseListen(text: string): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([0-9.]+):(\d+)$/.exec(text);
  const host = m?.[1] ? canonicalIP(m[1]) : undefined;
  const port = Number(m?.[2]);
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new DnsListenError(`listen address ${JSON.stringify(text)}: expected IP:PORT or [IPv6]:PORT`);
  return { host, port };
}

/** Idle TCP connections are closed after this (RFC 7766 suggests seconds, not minutes). */
const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNECTIONS = 256;

export interface DnsServerLogger {
  warn(obj: object, msg: string): void;
}

/**
 * dgram's `lookup` for a socket that only answers to `rinfo` addresses (always IP literals):
 * calls back at once. The default, dns.lookup, tests the literal and defers the send through
 * process.nextTick, allocating for each answer. Anything else is an error, never a DNS query.
 */
export function literalLookup(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  const f = isIP(address);
  if (f === 0) callback(new DnsListenError(`dns udp reply to ${JSON.stringify(address)}: not an IP address`), address, 0);
  else callback(null, address, f);
}

/**
 * SO_RCVBUF asked for each UDP socket (Linux doubles it and caps it at net.core.rmem_max). The
 * default 208 KiB held 10-20 ms of a worker's queries: when the machine's load kept a worker off
 * the CPU longer, dnsperf lost queries (RcvbufErrors) that Knot, draining with recvmmsg, did not.
 * A lost query costs a client its retry timeout (glibc: 5 s); a queued one, the stall.
 */
export const UDP_RECV_BUFFER_BYTES = 1 << 20;

/** A UDP socket bound to `host:port`; with `reusePort` several sockets (the UDP workers') share it. */
export async function bindUdp(host: string, port: number, reusePort: boolean): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reusePort, lookup: literalLookup, recvBufferSize: UDP_RECV_BUFFER_BYTES });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(new DnsListenError(`listening on UDP ${host}:${port}: ${err.message}`, { cause: err })));
    socket.bind({ address: host, port }, () => resolve());
  });
  return socket;
}

/** Answers every datagram on `socket` with `handler`; a failing query gets SERVFAIL, never a crash. */
export function serveUdp(socket: dgram.Socket, handler: QueryHandler, logger?: DnsServerLogger): void {
  socket.on('error', (err) => logger?.warn({ err }, 'dns udp socket error'));
  socket.on('message', (msg, rinfo) => {
    // A repeated question is answered at once from the cache: no decode, no promise.
    const hit = handler.cached(msg, 'udp');
    if (hit !== undefined) return sendUdp(socket, hit, rinfo, logger);
    void safeReply(handler, msg, 'udp', logger).then((out) => {
      if (out) sendUdp(socket, out, rinfo, logger);
    });
  });
}

function sendUdp(socket: dgram.Socket, out: Buffer, to: dgram.RemoteInfo, logger?: DnsServerLogger): void {
  try {
    // No callback: nothing to do after a send, and a lost UDP answer is retried by the client.
    socket.send(out, to.port, to.address);
  } catch (err) {
    // A closed socket (stopping) or a bad peer address must not take the server down.
    logger?.warn({ err }, 'dns udp reply failed');
  }
}

/** Never throws: a query that breaks the handler gets SERVFAIL, and the server keeps serving. */
async function safeReply(handler: QueryHandler, msg: Buffer, transport: Transport, logger?: DnsServerLogger): Promise<Buffer | undefined> {
  try {
    return await handler.handle(msg, transport);
  } catch (err) {
    logger?.warn({ err }, 'dns query failed');
    return msg.length >= HEADER_LENGTH ? headerReply(msg, RCODE.SERVFAIL) : undefined;
  }
}

export interface DnsServerOptions {
  /** false: this process serves TCP only, and UDP workers bind the UDP side (port 0 resolved by TCP). */
  readonly udp?: boolean;
}

export class DnsServer {
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  private bound: ListenAddress[] = [];

  constructor(
    private readonly handler: QueryHandler,
    private readonly listens: readonly ListenAddress[],
    private readonly logger?: DnsServerLogger,
    private readonly options: DnsServerOptions = {},
  ) {}

  /** The addresses actually bound (port 0 resolved), in --listen order. */
  get addresses(): readonly ListenAddress[] {
    return this.bound;
  }

  async start(): Promise<void> {
    for (const listen of this.listens) {
      // TCP first so that port 0 picks one port for both transports.
      const server = net.createServer((socket) => this.onConnection(socket));
      server.maxConnections = MAX_TCP_CONNECTIONS;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new DnsListenError(`listening on TCP ${listen.host}:${listen.port}: ${err.message}`, { cause: err })));
        server.listen({ host: listen.host, port: listen.port }, () => resolve());
      });
      this.tcp.push(server);
      const port = (server.address() as net.AddressInfo).port;
      if (this.options.udp !== false) {
        const socket = await bindUdp(listen.host, port, false);
        serveUdp(socket, this.handler, this.logger);
        this.udp.push(socket);
      }
      this.bound.push({ host: listen.host, port });
    }
  }

  async stop(): Promise<void> {
    for (const s of this.udp) s.close();
    for (const c of this.connections) c.destroy();
    await Promise.all(this.tcp.map((s) => new Promise((r) => s.close(r))));
    this.udp.length = 0;
    this.tcp.length = 0;
    this.bound = [];
  }

  /** RFC 1035 framing: a 2-byte length before each message; queries answered in order. */
  private onConnection(socket: net.Socket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        chain = chain.then(async () => {
          const out = await safeReply(this.handler, msg, 'tcp', this.logger);
          if (!out || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length, 0);
          socket.write(Buffer.concat([prefix, out]));
        });
      }
    });
  }
}
