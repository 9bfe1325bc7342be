// The TCP half of the userspace proxy: one listener per service port. Each accepted
// connection is held (not read) while a backend is dialled with kube-proxy's escalating
// timeouts, moving to the next backend on failure; then bytes are copied both ways
// with back-pressure (pipe), half-close passed through, and a reset on either side
// reset on the other. No backend at all: the client gets a RST, as in the other modes.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { RoundRobin, Backend } from './round-robin.js';

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

  private constructor(
    private readonly server: Server,
    private readonly opts: TcpProxyOptions,
  ) {}

  static open(opts: TcpProxyOptions): Promise<TcpProxy> {
    // pauseOnConnect: nothing is read from the client until a backend takes the bytes.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const proxy = new TcpProxy(server, opts);
    server.on('connection', (s) => proxy.#accept(s));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port, backlog: 4096, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => opts.events?.socketError?.(err));
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

  #track(s: Socket): void {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
  }

  #accept(client: Socket): void {
    this.stats.accepted++;
    client.on('error', (err) => this.opts.events?.socketError?.(err));
    if (this.opts.balancer.backends.length === 0) {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    this.#track(client);
    this.stats.active++;
    client.once('close', () => this.stats.active--);
    void this.#dial(client).then((server) => {
      if (server === undefined) {
        if (!client.destroyed) client.resetAndDestroy();
      } else if (client.destroyed) {
        server.destroy(); // the client left while we dialled
      } else {
        this.#track(server);
        splice(client, server);
      }
    });
  }

  async #dial(client: Socket): Promise<Socket | undefined> {
    const clientIP = client.remoteAddress ?? '';
    const timeouts = this.opts.dialTimeoutsMs ?? DIAL_TIMEOUTS_MS;
    for (let i = 0; i < timeouts.length && !client.destroyed; i++) {
      const backend = this.opts.balancer.next(clientIP, i > 0);
      if (backend === undefined) return undefined;
      try {
        return await connectWithin(backend, timeouts[i] as number, client);
      } catch (err) {
        this.stats.dialFailures++;
        this.opts.events?.dialFailed?.(backend, err as Error);
      }
    }
    return undefined;
  }
}

/** Connects to `backend`, failing after `timeoutMs` or when `client` goes away first. */
function connectWithin(backend: Backend, timeoutMs: number, client: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: backend.ip, port: backend.port, allowHalfOpen: true, noDelay: true });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      client.off('close', gone);
      s.destroy();
      reject(err);
    };
    const gone = (): void => fail(new Error('client closed while connecting'));
    const timer = setTimeout(() => fail(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
    client.once('close', gone);
    s.once('error', fail);
    s.once('connect', () => {
      clearTimeout(timer);
      client.off('close', gone);
      s.off('error', fail);
      resolve(s);
    });
  });
}

/**
 * Copies both ways. pipe() gives back-pressure and passes a FIN on as end() (both sockets
 * allow half-open); an error (a RST, mostly) on one side resets the other, so neither
 * side is left waiting on a peer that is gone.
 */
function splice(client: Socket, server: Socket): void {
  const resetOther = (other: Socket) => (): void => {
    if (!other.destroyed) other.resetAndDestroy();
  };
  server.on('error', resetOther(client));
  client.on('error', resetOther(server));
  client.on('close', (hadError) => hadError && resetOther(server)());
  server.on('close', (hadError) => hadError && resetOther(client)());
  client.pipe(server);
  server.pipe(client);
}
