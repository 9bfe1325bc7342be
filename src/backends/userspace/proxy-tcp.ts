// The TCP half of the userspace proxy: one listener per service port. Each accepted
// connection is held (not read) while a backend is dialled with kube-proxy's escalating
// timeouts, moving to the next backend on failure; then tcp-relay.ts copies bytes both
// ways. No backend at all: the client gets a RST, as in the other modes. Plain callbacks
// rather than promises: this is the per-connection path, and each promise, closure and
// listener is paid thousands of times a second.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { RoundRobin, Backend } from './round-robin.js';
import { Relay, SharedReadBuffer } from './tcp-relay.js';

/** kube-proxy's EndpointDialTimeouts: one attempt each, on the next backend every time. */
export const DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

export interface ProxyEvents {
  /** A backend refused or timed out (the next one is tried). */
  dialFailed?(backend: Backend, err: Error): void;
  /** A socket error that ended a connection (never thrown). */
  socketError?(err: Error): void;
}

export interface TcpProxyOptions {
  readonly name: string;
  readonly host: string;
  /** 0: the kernel chooses. */
  readonly port: number;
  readonly balancer: RoundRobin;
  readonly dialTimeoutsMs?: readonly number[];
  readonly events?: ProxyEvents;
  /** The process's shared read buffer (one per listener set); default one of this proxy's own. */
  readonly readBuffer?: SharedReadBuffer;
}

export interface TcpStats {
  accepted: number;
  refused: number;
  dialFailures: number;
  active: number;
}

export class TcpProxy {
  readonly stats: TcpStats = { accepted: 0, refused: 0, dialFailures: 0, active: 0 };
  readonly #sockets = new Set<Socket>();
  readonly #readBuffer: SharedReadBuffer;
  readonly #timeouts: readonly number[];
  readonly #onSocketError: (err: Error) => void;

  private constructor(
    private readonly server: Server,
    private readonly opts: TcpProxyOptions,
  ) {
    this.#readBuffer = opts.readBuffer ?? new SharedReadBuffer();
    this.#timeouts = opts.dialTimeoutsMs ?? DIAL_TIMEOUTS_MS;
    this.#onSocketError = (err) => opts.events?.socketError?.(err);
  }

  static open(opts: TcpProxyOptions): Promise<TcpProxy> {
    // pauseOnConnect: nothing is read from the client until a backend takes the bytes.
    // noDelay on both sides, as Go (and so kube-proxy's userspace mode) sets it.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    const proxy = new TcpProxy(server, opts);
    server.on('connection', (s: Socket) => proxy.#accept(s));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port, backlog: 4096, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', proxy.#onSocketError);
        resolve(proxy);
      });
    });
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr !== null ? addr.port : 0;
  }

  /**
   * Stops accepting. Established connections finish on their own (as conntrack keeps them
   * in the kernel modes) unless `dropConnections`, used when the agent stops.
   */
  close(dropConnections = false): Promise<void> {
    if (dropConnections) for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.stats.accepted++;
    client.on('error', this.#onSocketError);
    if (this.opts.balancer.backends.length === 0) {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    this.#sockets.add(client);
    this.stats.active++;
    client.once('close', () => {
      this.#sockets.delete(client);
      this.stats.active--;
    });
    // The client's address is a syscall (getpeername): only affinity needs it.
    const clientIP = this.opts.balancer.affinitySeconds > 0 ? (client.remoteAddress ?? '') : '';
    this.#dial(client, clientIP, 0);
  }

  /** Attempt `attempt` (0-based): the next backend, within that attempt's timeout. */
  #dial(client: Socket, clientIP: string, attempt: number): void {
    if (client.destroyed) return;
    const backend = attempt < this.#timeouts.length ? this.opts.balancer.next(clientIP, attempt > 0) : undefined;
    if (backend === undefined) {
      client.resetAndDestroy();
      return;
    }
    const relay = new Relay(client, this.#readBuffer, this.opts.events ?? {});
    const s = connect({ host: backend.ip, port: backend.port, allowHalfOpen: true, noDelay: true, onread: relay.onread });
    const done = (): void => {
      clearTimeout(timer);
      client.off('close', gone);
      s.off('error', fail);
    };
    const fail = (err: Error): void => {
      done();
      s.destroy();
      this.stats.dialFailures++;
      this.opts.events?.dialFailed?.(backend, err);
      this.#dial(client, clientIP, attempt + 1);
    };
    // The client left while we dialled: no failure of the backend's, nothing more to try.
    const gone = (): void => {
      done();
      s.destroy();
    };
    const timer = setTimeout(() => fail(new Error(`connect timeout after ${this.#timeouts[attempt]} ms`)), this.#timeouts[attempt]);
    client.once('close', gone);
    s.once('error', fail);
    s.once('connect', () => {
      done();
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
      relay.start(s);
    });
  }
}
