// The UDP half of the userspace proxy: one socket per service port; each client
// (address and port) gets a session, a socket of its own towards the backend chosen for
// it. Replies go back through the service port's socket, so the client sees them come
// from the address it sent to (after the redirect, conntrack restores the service IP).
// A session idle for `idleTimeoutMs` (kube-proxy's --udp-timeout, 250 ms) is closed.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Backend, RoundRobin } from './round-robin.js';
import type { ProxyEvents } from './proxy-tcp.js';

export const DEFAULT_UDP_IDLE_MS = 250;

export interface UdpProxyOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly balancer: RoundRobin;
  readonly idleTimeoutMs?: number;
  readonly events?: ProxyEvents;
}

interface Session {
  readonly backend: Backend;
  readonly socket: Socket;
  readonly timer: NodeJS.Timeout;
}

export interface UdpStats {
  received: number;
  dropped: number;
  sessions: number;
}

export class UdpProxy {
  readonly stats: UdpStats = { received: 0, dropped: 0, sessions: 0 };
  readonly #sessions = new Map<string, Session>();

  private constructor(
    private readonly socket: Socket,
    private readonly opts: UdpProxyOptions,
  ) {}

  static open(opts: UdpProxyOptions): Promise<UdpProxy> {
    const socket = createSocket({ type: opts.host.includes(':') ? 'udp6' : 'udp4', ipv6Only: opts.host.includes(':') });
    const proxy = new UdpProxy(socket, opts);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: opts.host, port: opts.port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (err) => opts.events?.socketError?.(err));
        socket.on('message', (msg, rinfo) => proxy.#receive(msg, rinfo));
        resolve(proxy);
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  #receive(msg: Buffer, client: RemoteInfo): void {
    this.stats.received++;
    const key = `${client.address}|${client.port}`;
    let session = this.#sessions.get(key);
    if (session === undefined) {
      const backend = this.opts.balancer.next(client.address);
      if (backend === undefined) {
        this.stats.dropped++;
        return;
      }
      session = this.#open(key, client, backend);
    }
    session.timer.refresh();
    session.socket.send(msg, session.backend.port, session.backend.ip);
  }

  #open(key: string, client: RemoteInfo, backend: Backend): Session {
    const socket = createSocket(backend.ip.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => this.#end(key), this.opts.idleTimeoutMs ?? DEFAULT_UDP_IDLE_MS);
    const session: Session = { backend, socket, timer };
    socket.on('error', (err) => this.opts.events?.socketError?.(err));
    socket.on('message', (reply, from) => {
      if (from.address !== backend.ip || from.port !== backend.port) return; // not our backend's answer
      timer.refresh();
      this.socket.send(reply, client.port, client.address);
    });
    this.#sessions.set(key, session);
    this.stats.sessions++;
    return session;
  }

  #end(key: string): void {
    const s = this.#sessions.get(key);
    if (s === undefined) return;
    this.#sessions.delete(key);
    clearTimeout(s.timer);
    s.socket.close();
  }

  /**
   * Ends the sessions whose backend is no longer in `keep`: unlike TCP there is no
   * connection to finish, and the client's next datagram must reach a live endpoint
   * (what conntrack cleanup does for UDP in the kernel modes).
   */
  dropSessionsNotIn(keep: ReadonlySet<string>): void {
    for (const [key, s] of this.#sessions) if (!keep.has(s.backend.key)) this.#end(key);
  }

  close(): Promise<void> {
    for (const key of [...this.#sessions.keys()]) this.#end(key);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
