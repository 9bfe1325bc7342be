// Backend choice of the userspace proxy (kube-proxy's roundrobin.go, in behaviour):
// round robin over the policy's endpoints, with ClientIP affinity that pins a client
// to its last backend until `affinitySeconds` of idleness pass or the backend goes.

/** `ip:port` of one endpoint, as the proxy dials it. */
export interface Backend {
  readonly ip: string;
  readonly port: number;
  /** `ip:port` (IPv6 in brackets): the identity of the endpoint. */
  readonly key: string;
}

export function backendKey(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

interface Affinity {
  readonly backend: Backend;
  lastUsed: number;
}

export class RoundRobin {
  #backends: readonly Backend[] = [];
  #next = 0;
  #affinitySeconds = 0;
  readonly #affinity = new Map<string, Affinity>();

  constructor(private readonly now: () => number = Date.now) {}

  get backends(): readonly Backend[] {
    return this.#backends;
  }

  /** 0: no ClientIP affinity (callers need not look up the client's address). */
  get affinitySeconds(): number {
    return this.#affinitySeconds;
  }

  /**
   * New endpoints: removed ones get no new connections from now on, and clients pinned to
   * them are unpinned. The rotation restarts only when the set really changed.
   */
  update(backends: readonly Backend[], affinitySeconds: number): void {
    const keys = new Set(backends.map((b) => b.key));
    const same = keys.size === this.#backends.length && this.#backends.every((b, i) => b.key === backends[i]?.key);
    if (!same) {
      this.#backends = [...backends];
      this.#next = 0;
    }
    if (affinitySeconds !== this.#affinitySeconds) this.#affinity.clear();
    this.#affinitySeconds = affinitySeconds;
    for (const [client, a] of this.#affinity) if (!keys.has(a.backend.key)) this.#affinity.delete(client);
  }

  /**
   * The backend for a new connection from `clientIP`. `retry`: the previous choice failed to
   * connect, so the client's pin is dropped and the rotation moves on (kube-proxy's sessionAffinityReset).
   */
  next(clientIP: string, retry = false): Backend | undefined {
    if (this.#backends.length === 0) return undefined;
    const now = this.now();
    if (this.#affinitySeconds > 0 && !retry) {
      const pinned = this.#affinity.get(clientIP);
      if (pinned !== undefined && now - pinned.lastUsed < this.#affinitySeconds * 1000) {
        pinned.lastUsed = now;
        return pinned.backend;
      }
    }
    const backend = this.#backends[this.#next % this.#backends.length] as Backend;
    this.#next = (this.#next + 1) % this.#backends.length;
    if (this.#affinitySeconds > 0) {
      this.#affinity.set(clientIP, { backend, lastUsed: now });
      this.#expire(now);
    }
    return backend;
  }

  /** Forgets pins older than the timeout, so the table stays as large as the active clients. */
  #expire(now: number): void {
    if (this.#affinity.size < 1024) return;
    const ttl = this.#affinitySeconds * 1000;
    for (const [client, a] of this.#affinity) if (now - a.lastUsed >= ttl) this.#affinity.delete(client);
  }

  /** Clients currently pinned (for tests and reports). */
  get pinned(): number {
    return this.#affinity.size;
  }
}
