// The open listeners of the userspace mode, reconciled against what the planner wants:
// new ones opened, changed ones given their new backends (or reopened when their address
// changed), removed ones closed. A listener that cannot be opened is an error of that
// service port alone; the others are opened and served as usual.
import { ListenerError } from './errors.js';
import type { ListenerWant } from './planner.js';
import { TcpProxy, type ProxyEvents } from './proxy-tcp.js';
import { UdpProxy } from './proxy-udp.js';
import { RoundRobin } from './round-robin.js';
import { SharedReadBuffer } from './tcp-relay.js';

interface Open {
  readonly want: ListenerWant;
  readonly balancer: RoundRobin;
  readonly proxy: TcpProxy | UdpProxy;
}

export interface ListenerSetOptions {
  readonly udpIdleTimeoutMs?: number;
  readonly dialTimeoutsMs?: readonly number[];
  readonly events?: ProxyEvents;
}

export interface ReconcileResult {
  /** Listener id -> the port it is bound to (only those open). */
  readonly ports: ReadonlyMap<string, number>;
  readonly errors: readonly ListenerError[];
  readonly opened: number;
  readonly closed: number;
}

export class ListenerSet {
  readonly #open = new Map<string, Open>();
  /** One read buffer for every TCP listener of the set (see tcp-relay.ts). */
  readonly readBuffer = new SharedReadBuffer();

  constructor(private readonly opts: ListenerSetOptions = {}) {}

  get size(): number {
    return this.#open.size;
  }

  /** Makes the open listeners match `wants`. */
  async reconcile(wants: readonly ListenerWant[]): Promise<ReconcileResult> {
    const wanted = new Map(wants.map((w) => [w.id, w]));
    let opened = 0;
    let closed = 0;
    const errors: ListenerError[] = [];
    for (const [id, o] of this.#open) {
      const w = wanted.get(id);
      if (w === undefined || w.host !== o.want.host || w.port !== o.want.port || w.protocol !== o.want.protocol) {
        this.#open.delete(id);
        await o.proxy.close();
        closed++;
      }
    }
    for (const w of wants) {
      const o = this.#open.get(w.id);
      if (o !== undefined) {
        this.#update(o, w);
        continue;
      }
      try {
        this.#open.set(w.id, await this.#openListener(w));
        opened++;
      } catch (err) {
        errors.push(new ListenerError(w.servicePort, w.host, w.port, err));
      }
    }
    const ports = new Map<string, number>();
    for (const [id, o] of this.#open) ports.set(id, o.proxy.port);
    return { ports, errors, opened, closed };
  }

  #update(o: Open, w: ListenerWant): void {
    o.balancer.update(w.backends, w.affinitySeconds);
    if (o.proxy instanceof UdpProxy) o.proxy.dropSessionsNotIn(new Set(w.backends.map((b) => b.key)));
    this.#open.set(w.id, { ...o, want: w });
  }

  async #openListener(w: ListenerWant): Promise<Open> {
    // Node sockets speak TCP and UDP only (kube-proxy's userspace mode had no SCTP either).
    if (w.protocol === 'SCTP') throw new Error('SCTP is not proxied in userspace mode');
    const balancer = new RoundRobin();
    balancer.update(w.backends, w.affinitySeconds);
    const common = { name: w.servicePort, host: w.host, port: w.port, balancer, ...(this.opts.events ? { events: this.opts.events } : {}) };
    const proxy =
      w.protocol === 'UDP'
        ? await UdpProxy.open({ ...common, ...(this.opts.udpIdleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.udpIdleTimeoutMs } : {}) })
        : await TcpProxy.open({ ...common, readBuffer: this.readBuffer, ...(this.opts.dialTimeoutsMs ? { dialTimeoutsMs: this.opts.dialTimeoutsMs } : {}) });
    return { want: w, balancer, proxy };
  }

  /** Every open listener's want and port (for `svcplane plan` and tests). */
  *entries(): IterableIterator<[ListenerWant, number]> {
    for (const o of this.#open.values()) yield [o.want, o.proxy.port];
  }

  async closeAll(dropConnections = false): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const o of all) await (o.proxy instanceof TcpProxy ? o.proxy.close(dropConnections) : o.proxy.close());
  }
}
